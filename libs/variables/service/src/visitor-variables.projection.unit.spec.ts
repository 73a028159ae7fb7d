import type { ProjectedEvent } from '@svp/projections';
import type { VisitorVariableChange, VisitorVariablesEvent } from '@svp/variables-domain';
import { toVisitorResponse } from './get-visitor/get-visitor.handler.js';
import { type VisitorVariablesDoc, visitorVariablesProjection } from './visitor-variables.projection.js';

const at = '2026-11-21T10:00:00.000Z';
const later = '2026-11-21T10:05:00.000Z';
const base = { orgId: 'org1', visitorId: 'v1' };
let position = 0n;
const recorded = (event: VisitorVariablesEvent) =>
  ({
    eventId: '0b5d6c1e-4a7f-4f7e-9d59-0d3c3c0b9a11',
    type: event.type,
    data: event.data,
    metadata: { orgId: 'org1' },
    streamName: 'visitorvars-org1.v1',
    streamRevision: position,
    globalPosition: ++position,
    recordedAt: new Date(at),
  }) as ProjectedEvent<VisitorVariablesEvent['type'], VisitorVariablesEvent['data']>;
const fold = (...events: VisitorVariablesEvent[]) =>
  events.reduce<VisitorVariablesDoc | null>((doc, e) => visitorVariablesProjection.evolve(doc, recorded(e)), null);

const api = (name: string, value: string | number, version: number, rooms?: VisitorVariableChange['rooms']): VisitorVariableChange => ({
  name,
  value,
  source: 'api',
  verified: false,
  version,
  ...(rooms ? { rooms } : {}),
});
const submitted = (changes: VisitorVariableChange[], extra: Partial<Extract<VisitorVariablesEvent, { type: 'VisitorVariablesSubmitted' }>['data']> = {}): VisitorVariablesEvent => ({
  type: 'VisitorVariablesSubmitted',
  data: { ...base, replaceExisting: false, changes, removed: [], setBy: 'key1', at, ...extra },
});
const claimed: VisitorVariablesEvent = {
  type: 'VisitorClaimVariablesApplied',
  data: { ...base, sessionId: 's1', changes: [{ name: 'tier', value: 'vip', source: 'claim', verified: true, version: 1 }], kid: 'k1', at: later },
};

describe('visitor variables projection', () => {
  it('is version 2 in its own table, reads every visitor event type, one document per org and visitor', () => {
    expect(visitorVariablesProjection.name).toBe('visitor_variables');
    expect(visitorVariablesProjection.version).toBe(2);
    expect(visitorVariablesProjection.canHandle).toEqual(['VisitorVariablesSubmitted', 'VisitorClaimVariablesApplied', 'VisitorVariablesUnverified', 'VisitorVariablesErased', 'VisitorSessionLinked']);
    expect(visitorVariablesProjection.documentId(recorded(claimed))).toBe('org1.v1');
  });

  it('keeps each variable with its provenance and rooms, and the display name', () => {
    expect(fold(submitted([api('username', 'Ann', 1), api('offer', '10%', 1, [{ name: 'Sales' }])], { displayName: 'Ann' }), claimed)).toEqual({
      ...base,
      displayName: 'Ann',
      variables: {
        username: { value: 'Ann', source: 'api', verified: false, version: 1, updatedAt: at, setBy: 'key1' },
        offer: { value: '10%', source: 'api', verified: false, version: 1, updatedAt: at, setBy: 'key1', rooms: [{ name: 'Sales' }] },
        tier: { value: 'vip', source: 'claim', verified: true, version: 1, updatedAt: later, setBy: 'claim:k1', kid: 'k1' },
      },
      retired: {},
    });
  });

  it('marks what a revoked key vouched for as unverified (rooms kept), and drops the document of an erased visitor', () => {
    const signed: VisitorVariablesEvent = {
      type: 'VisitorVariablesSubmitted',
      data: { ...base, replaceExisting: false, changes: [{ name: 'plan', value: 'gold', source: 'signed', verified: true, version: 1, rooms: [{ id: 'r1' }] }], removed: [], kid: 'k9', setBy: 'key1', at },
    };
    const unverified: VisitorVariablesEvent = {
      type: 'VisitorVariablesUnverified',
      data: { ...base, kid: 'k9', changes: [{ name: 'plan', value: 'gold', source: 'signed', verified: false, version: 2, rooms: [{ id: 'r1' }] }], at: later },
    };
    expect(fold(signed, unverified)?.variables.plan).toEqual({ value: 'gold', source: 'signed', verified: false, version: 2, updatedAt: later, setBy: 'key-revoked:k9', rooms: [{ id: 'r1' }] });
    expect(fold(signed, { type: 'VisitorVariablesErased', data: { ...base, erasureId: 'era_1', at: later } })).toBeNull();
  });

  it('removes what a replacing submit removed, and takes the display name it names', () => {
    const doc = fold(
      submitted([api('username', 'Ann', 1), api('cart', 1, 1)], { displayName: 'Ann' }),
      submitted([api('coupon', 'X1', 1)], { replaceExisting: true, removed: ['username', 'cart'], displayName: 'Visitor' }),
    );
    expect(doc).toMatchObject({ displayName: 'Visitor', variables: { coupon: { value: 'X1' } } });
    expect(Object.keys(doc!.variables)).toEqual(['coupon']);
  });

  it('reads as a room sees it: variables limited to other rooms and a username limited to them are left out', () => {
    const doc = fold(submitted([api('username', 'Ann', 1, [{ id: 'r1' }]), api('plan', 'free', 1)], { displayName: 'Ann' }));
    expect(toVisitorResponse('v1', doc!, [])).toEqual({
      visitorId: 'v1',
      displayName: 'Visitor',
      variables: [{ name: 'plan', value: 'free', scope: 'visitor', source: 'api', verified: false, updatedAt: at, version: 1 }],
    });
    expect(toVisitorResponse('v1', doc!, ['r1'])).toMatchObject({ displayName: 'Ann', variables: [{ name: 'plan' }, { name: 'username', scope: 'visitor' }] });
    expect(toVisitorResponse('v9', undefined, ['r1'])).toEqual({ visitorId: 'v9', displayName: 'Visitor', variables: [] });
  });
});
