import type { ProjectedEvent } from '@svp/projections';
import type { SessionVariablesEvent } from '@svp/variables-domain';
import { type SessionVariablesDoc, sessionVariablesProjection } from './session-variables.projection.js';

const at = '2026-11-21T10:00:00.000Z';
const base = { orgId: 'org1', sessionId: 's1' };
let position = 0n;
const recorded = (event: SessionVariablesEvent) =>
  ({
    eventId: '0b5d6c1e-4a7f-4f7e-9d59-0d3c3c0b9a11',
    type: event.type,
    data: event.data,
    metadata: { orgId: 'org1' },
    streamName: 'sessionvars-org1.s1',
    streamRevision: position,
    globalPosition: ++position,
    recordedAt: new Date(at),
  }) as ProjectedEvent<SessionVariablesEvent['type'], SessionVariablesEvent['data']>;
const fold = (...events: SessionVariablesEvent[]) =>
  events.reduce<SessionVariablesDoc | null>((doc, e) => sessionVariablesProjection.evolve(doc, recorded(e)), null);

const metadataSet: SessionVariablesEvent = {
  type: 'MetadataVariablesSet',
  data: {
    ...base,
    changes: [
      { name: 'providedName', value: 'Ann', source: 'claim', verified: true, version: 1 },
      { name: 'authenticatedStatus', value: true, source: 'claim', verified: true, version: 1 },
    ],
    kid: 'k1',
    at,
  },
};
const apiSet: SessionVariablesEvent = {
  type: 'SessionVariablesSet',
  data: { ...base, changes: [{ name: 'cart', value: 42, source: 'api', verified: false, version: 1 }], setBy: 'key1', at },
};

describe('session variables projection', () => {
  it('is version 3, in its own table, and reads every variables event type', () => {
    expect(sessionVariablesProjection.version).toBe(3);
    expect(sessionVariablesProjection.canHandle).toEqual([
      'SessionVariablesSet',
      'MetadataVariablesSet',
      'SessionVariablesDiscarded',
      'SessionVariablesStarted',
      'SessionVariablesUnverified',
      'SessionVariablesErased',
      'SessionVariablesDeleted',
    ]);
    expect(sessionVariablesProjection.documentId(recorded(metadataSet))).toBe('org1.s1');
  });

  it('keeps the metadata beside the session variables, each with who set it and the key that vouches for it', () => {
    expect(fold(apiSet, metadataSet)).toEqual({
      ...base,
      variables: { cart: { value: 42, source: 'api', verified: false, version: 1, updatedAt: at, setBy: 'key1' } },
      metadata: {
        providedName: { value: 'Ann', source: 'claim', verified: true, version: 1, updatedAt: at, setBy: 'claim:k1', kid: 'k1' },
        authenticatedStatus: { value: true, source: 'claim', verified: true, version: 1, updatedAt: at, setBy: 'claim:k1', kid: 'k1' },
      },
    });
  });

  it('knows the session\'s visitor from its start, whether the start comes before or after the first write', () => {
    const started: SessionVariablesEvent = { type: 'SessionVariablesStarted', data: { ...base, visitorId: 'v1', channelId: 'web', brandId: 'brd_1', at } };
    expect(fold(started, apiSet)).toMatchObject({ visitorId: 'v1', channelId: 'web', brandId: 'brd_1', variables: { cart: { value: 42 } } });
    expect(fold(apiSet, started)).toMatchObject({ visitorId: 'v1', channelId: 'web', brandId: 'brd_1', variables: { cart: { value: 42 } } });
  });

  it('marks what a revoked key vouched for as unverified, authenticatedStatus false', () => {
    const unverified: SessionVariablesEvent = {
      type: 'SessionVariablesUnverified',
      data: {
        ...base,
        kid: 'k1',
        changes: [],
        metadataChanges: [
          { name: 'providedName', value: 'Ann', source: 'claim', verified: false, version: 2 },
          { name: 'authenticatedStatus', value: false, source: 'claim', verified: false, version: 2 },
        ],
        at,
      },
    };
    expect(fold(metadataSet, unverified)?.metadata).toEqual({
      providedName: { value: 'Ann', source: 'claim', verified: false, version: 2, updatedAt: at, setBy: 'key-revoked:k1' },
      authenticatedStatus: { value: false, source: 'claim', verified: false, version: 2, updatedAt: at, setBy: 'key-revoked:k1' },
    });
  });

  it('drops the document of an erased session, and has none for a deleted one (its tombstone)', () => {
    expect(fold(apiSet, { type: 'SessionVariablesErased', data: { ...base, erasureId: 'era_1', at } })).toBeNull();
    expect(fold({ type: 'SessionVariablesDeleted', data: { ...base, reason: 'ended', at } })).toBeNull();
  });

  it('keeps the metadata when session variables change afterwards', () => {
    expect(fold(metadataSet, apiSet)?.metadata.providedName?.value).toBe('Ann');
  });

  it('drops the whole document, metadata included, when the variables are discarded', () => {
    expect(fold(metadataSet, apiSet, { type: 'SessionVariablesDiscarded', data: { ...base, count: 1, at } })).toBeNull();
  });
});
