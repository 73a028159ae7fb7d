import type { VariableValue } from '@svp/contracts';
import { DEFAULT_LIMITS, type VariableLimits } from './limits.js';
import {
  type RoomRef,
  VISITOR_VARIABLES_EVENT_TYPES,
  type VisitorVariableChange,
  type VisitorVariablesCommand,
  type VisitorVariablesEvent,
  type VisitorVariablesState,
  decideVisitorVariables as decide,
  displayNameOf,
  evolveVisitorVariables as evolve,
  initialVisitorVariablesState,
  visibleInRooms,
  visitorKey,
  visitorVariablesStream,
} from './visitor-variables.js';

// Given/when/then on the visitor-variables decider, one `describe` per state, asserting events.

const now = '2026-11-21T10:00:00.000Z';
const later = '2026-11-21T10:05:00.000Z';
const base = { orgId: 'org1', visitorId: 'v1' };
const limits = (overrides: Partial<VariableLimits>): VariableLimits => ({ ...DEFAULT_LIMITS, ...overrides });

type SubmitOptions = Partial<Omit<Extract<VisitorVariablesCommand, { type: 'SubmitVisitorVariables' }>['data'], 'data'>>;
const plain = (data: Record<string, VariableValue>, options: SubmitOptions = {}): VisitorVariablesCommand => ({
  type: 'SubmitVisitorVariables',
  data: { ...base, data, source: 'api', verified: false, replaceExisting: false, setBy: 'key1', now, ...options },
});
const signed = (data: Record<string, VariableValue>, options: SubmitOptions = {}): VisitorVariablesCommand =>
  plain(data, { source: 'signed', verified: true, kid: 'k1', ...options });
const claims = (values: { name: string; value: VariableValue; claim: string }[], kid = 'k1', at = now): VisitorVariablesCommand => ({
  type: 'ApplyClaimVariables',
  data: { ...base, sessionId: 's1', kid, values, now: at },
});

const unverify = (kid: string, at = later): VisitorVariablesCommand => ({ type: 'UnverifyKey', data: { ...base, kid, now: at } });
const erase = (at = later): VisitorVariablesCommand => ({ type: 'EraseVisitorVariables', data: { ...base, erasureId: 'er1', now: at } });

const given = (...events: VisitorVariablesEvent[]): VisitorVariablesState => events.reduce(evolve, initialVisitorVariablesState());
const change = (name: string, value: VariableValue, version: number, rooms?: RoomRef[]): VisitorVariableChange => ({
  name,
  value,
  source: 'api',
  verified: false,
  version,
  ...(rooms ? { rooms } : {}),
});
const submitted = (
  changes: VisitorVariableChange[],
  extra: Partial<Extract<VisitorVariablesEvent, { type: 'VisitorVariablesSubmitted' }>['data']> = {},
): VisitorVariablesEvent => ({
  type: 'VisitorVariablesSubmitted',
  data: { ...base, replaceExisting: false, changes, removed: [], setBy: 'key1', at: now, ...extra },
});
const eventsOf = (decision: ReturnType<typeof decide>) => (decision.ok ? decision.events : []);
const after = (state: VisitorVariablesState, command: VisitorVariablesCommand) => eventsOf(decide(command, state)).reduce(evolve, state);
const valuesOf = (state: VisitorVariablesState) =>
  state.status === 'known' ? Object.fromEntries(Object.entries(state.variables).map(([name, v]) => [name, v.value])) : {};

describe('visitor variables decider', () => {
  it('registers every event type once, by an explicit name; streams and keys carry the org', () => {
    expect(VISITOR_VARIABLES_EVENT_TYPES).toEqual(['VisitorVariablesSubmitted', 'VisitorClaimVariablesApplied', 'VisitorVariablesUnverified', 'VisitorVariablesErased', 'VisitorSessionLinked']);
    expect(new Set(VISITOR_VARIABLES_EVENT_TYPES).size).toBe(5);
    expect(visitorVariablesStream('org1', 'v1')).toBe('visitorvars-org1.v1');
    expect(visitorKey('org1', 'v1')).toBe('org1.v1');
  });

  describe('given an unknown visitor', () => {
    const state = given();

    it('then the display name is not set and there are no variables', () => {
      expect(state).toEqual({ status: 'unknown' });
    });

    it('when plain data is submitted, then one event records each variable unverified, version 1, types kept', () => {
      expect(decide(plain({ id: '6320834868293', cart: 42, vip: true, note: null }), state)).toEqual({
        ok: true,
        events: [submitted([change('id', '6320834868293', 1), change('cart', 42, 1), change('vip', true, 1), change('note', null, 1)])],
      });
    });

    it('when signed data is submitted, then it is verified and names the key that signed it', () => {
      const decision = decide(signed({ plan: 'gold' }), state);
      expect(decision).toEqual({
        ok: true,
        events: [submitted([{ name: 'plan', value: 'gold', source: 'signed', verified: true, version: 1 }], { kid: 'k1' })],
      });
      expect(after(state, signed({ plan: 'gold' }))).toMatchObject({
        status: 'known',
        variables: { plan: { value: 'gold', source: 'signed', verified: true, version: 1, updatedAt: now, setBy: 'key1', kid: 'k1' } },
      });
    });

    it('when a widget claims verification without a signature, then its data is still unverified', () => {
      const decision = decide(plain({ plan: 'gold' }, { source: 'widget', verified: true, kid: 'k1' }), state);
      expect(eventsOf(decision)).toEqual([submitted([{ name: 'plan', value: 'gold', source: 'widget', verified: false, version: 1 }])]);
    });

    it('when `username` is submitted, then it becomes the display name ("Visitor" before)', () => {
      const decision = decide(plain({ username: 'Ann' }), state);
      expect(eventsOf(decision)).toEqual([submitted([change('username', 'Ann', 1)], { displayName: 'Ann' })]);
      expect(after(state, plain({ username: 'Ann' }))).toMatchObject({ status: 'known', displayName: 'Ann' });
      expect(after(state, plain({ cart: 1 }))).toMatchObject({ status: 'known', displayName: 'Visitor' });
    });

    it('when data is limited to rooms, then each variable keeps them (each room once, in the order given)', () => {
      const rooms = [{ id: 'r1' }, { name: 'Sales' }, { id: 'r1' }];
      expect(eventsOf(decide(plain({ cart: 42 }, { rooms }), state))).toEqual([submitted([change('cart', 42, 1, [{ id: 'r1' }, { name: 'Sales' }])])]);
    });

    it('when the room list is empty, then the data is not limited', () => {
      expect(eventsOf(decide(plain({ cart: 42 }, { rooms: [] }), state))).toEqual([submitted([change('cart', 42, 1)])]);
    });

    it('when a metadata name is submitted, then the whole submit is refused as read-only', () => {
      expect(decide(plain({ cart: 1, providedName: 'Mallory', authenticatedStatus: true }), state)).toEqual({
        ok: false,
        error: { code: 'FORBIDDEN', message: 'Metadata variables are read-only: providedName, authenticatedStatus', details: { names: ['providedName', 'authenticatedStatus'] } },
      });
    });

    it('when a value is longer than the limit (in UTF-8 bytes), then LIMIT_EXCEEDED names the limit and the variable, and nothing is stored', () => {
      const decision = decide(plain({ ok: 'x', big: 'é'.repeat(6) }), state, limits({ maxValueBytes: 10 }));
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxValueBytes', max: 10, name: 'big', bytes: 12 } } });
    });

    it('when a name is longer than the limit, then LIMIT_EXCEEDED names the limit, and nothing is stored', () => {
      const long = 'n'.repeat(9);
      const decision = decide(plain({ ok: 1, [long]: 1 }), state, limits({ maxNameLength: 8 }));
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxNameLength', max: 8, name: long, length: 9 } } });
    });

    it('when more variables than the limit are submitted, then LIMIT_EXCEEDED names the limit', () => {
      const decision = decide(plain({ a: 1, b: 2, c: 3 }), state, limits({ maxVisitorVariables: 2 }));
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxVisitorVariables', max: 2, wouldHold: 3 } } });
    });

    it('when names, values and count are exactly at the limits, then they are submitted', () => {
      const decision = decide(plain({ [`${'n'.repeat(8)}`]: 'x'.repeat(10), b: 'é'.repeat(5) }), state, limits({ maxNameLength: 8, maxValueBytes: 10, maxVisitorVariables: 2 }));
      expect(eventsOf(decision)).toHaveLength(1);
    });

    it('when a key is unverified, then nothing is decided', () => {
      expect(decide(unverify('k1'), state)).toEqual({ ok: true, events: [] });
    });

    it('when the visitor is erased, then nothing is decided (there is nothing to erase)', () => {
      expect(decide(erase(), state)).toEqual({ ok: true, events: [] });
    });

    it('when nothing is submitted, then nothing is decided', () => {
      expect(decide(plain({}), state)).toEqual({ ok: true, events: [] });
      expect(decide(plain({}, { replaceExisting: true }), state)).toEqual({ ok: true, events: [] });
    });

    it('when mapped claims are applied, then they are verified, from claims, set by the kid, visible in every room', () => {
      const decision = decide(claims([{ name: 'tier', value: 'vip', claim: 'tier' }, { name: 'username', value: 'Ann', claim: 'name' }]), state);
      const fromClaim = (name: string, value: VariableValue) => ({ name, value, source: 'claim', verified: true, version: 1 });
      expect(decision).toEqual({
        ok: true,
        events: [
          {
            type: 'VisitorClaimVariablesApplied',
            data: { ...base, sessionId: 's1', changes: [fromClaim('tier', 'vip'), fromClaim('username', 'Ann')], displayName: 'Ann', kid: 'k1', at: now },
          },
        ],
      });
      expect(after(state, claims([{ name: 'tier', value: 'vip', claim: 'tier' }]))).toEqual({
        status: 'known',
        ...base,
        displayName: 'Visitor',
        variables: { tier: { value: 'vip', source: 'claim', verified: true, version: 1, updatedAt: now, setBy: 'claim:k1', kid: 'k1' } },
        retired: {},
        sessions: [],
      });
    });

    it('when mapped claims hold a metadata name, a too long name or value or one too many, then those are skipped and named, the rest applied', () => {
      const long = 'n'.repeat(9);
      const decision = decide(
        claims([
          { name: 'providedName', value: 'Mallory', claim: 'nick' },
          { name: long, value: 'x', claim: 'long_claim' },
          { name: 'token', value: 'x'.repeat(11), claim: 'access_token' },
          { name: 'a', value: 1, claim: 'a' },
          { name: 'b', value: 2, claim: 'b' },
        ]),
        state,
        limits({ maxNameLength: 8, maxVisitorVariables: 1, maxValueBytes: 10 }),
      );
      expect(decision).toMatchObject({
        ok: true,
        events: [{ type: 'VisitorClaimVariablesApplied', data: { changes: [{ name: 'a', value: 1 }] } }],
        skipped: [
          { name: 'providedName', claim: 'nick', reason: 'METADATA_NAME' },
          { name: long, claim: 'long_claim', reason: 'NAME_TOO_LONG' },
          { name: 'token', claim: 'access_token', reason: 'VALUE_TOO_LONG' },
          { name: 'b', claim: 'b', reason: 'TOO_MANY_VARIABLES' },
        ],
      });
    });
  });

  describe('given a known visitor with variables', () => {
    const state = given(submitted([change('username', 'Ann', 1), change('cart', 42, 1), change('plan', 'free', 1)], { displayName: 'Ann' }));

    it('then the state holds them with their provenance and the display name', () => {
      expect(state).toMatchObject({
        status: 'known',
        ...base,
        displayName: 'Ann',
        variables: { cart: { value: 42, source: 'api', verified: false, version: 1, updatedAt: now, setBy: 'key1' } },
      });
    });

    it('when data is merged (replaceExisting false), then only the same keys are overwritten, their versions growing', () => {
      const command = plain({ cart: 43, coupon: 'X1' }, { now: later });
      expect(eventsOf(decide(command, state))).toEqual([submitted([change('cart', 43, 2), change('coupon', 'X1', 1)], { at: later })]);
      expect(valuesOf(after(state, command))).toEqual({ username: 'Ann', cart: 43, plan: 'free', coupon: 'X1' });
    });

    it('when data replaces everything (replaceExisting true), then every earlier name not given is removed', () => {
      const command = plain({ cart: 42, coupon: 'X1' }, { replaceExisting: true, now: later });
      expect(eventsOf(decide(command, state))).toEqual([
        submitted([change('coupon', 'X1', 1)], { replaceExisting: true, removed: ['username', 'plan'], displayName: 'Visitor', at: later }),
      ]);
      const replaced = after(state, command);
      expect(valuesOf(replaced)).toEqual({ cart: 42, coupon: 'X1' });
      expect(replaced).toMatchObject({ displayName: 'Visitor', retired: { username: 1, plan: 1 } });
    });

    it('when a removed name comes back, then its version goes on from the last one', () => {
      const replaced = after(state, plain({ cart: 42 }, { replaceExisting: true }));
      expect(eventsOf(decide(plain({ plan: 'gold' }), replaced))).toEqual([submitted([change('plan', 'gold', 2)])]);
      expect(after(replaced, plain({ plan: 'gold' }))).toMatchObject({ retired: { username: 1 }, variables: { plan: { version: 2 } } });
    });

    it('when the same data is submitted again, merged or replacing, then nothing is decided (a resent submit has no second effect)', () => {
      expect(decide(plain({ cart: 42, plan: 'free' }), state)).toEqual({ ok: true, events: [] });
      expect(decide(plain({ username: 'Ann', cart: 42, plan: 'free' }, { replaceExisting: true }), state)).toEqual({ ok: true, events: [] });
    });

    it('when the same value comes signed, then it changes: now verified, with the key', () => {
      expect(eventsOf(decide(signed({ plan: 'free' }), state))).toEqual([
        submitted([{ name: 'plan', value: 'free', source: 'signed', verified: true, version: 2 }], { kid: 'k1' }),
      ]);
    });

    it('when a signed value is overwritten by plain data, then it is no longer verified', () => {
      const signedState = after(state, signed({ plan: 'gold' }));
      expect(after(signedState, plain({ plan: 'gold' }))).toMatchObject({ variables: { plan: { source: 'api', verified: false, version: 3 } } });
      expect((after(signedState, plain({ plan: 'gold' })) as { variables: Record<string, object> }).variables.plan).not.toHaveProperty('kid');
    });

    it('when `username` changes, then the display name follows; set to null or "", it is "Visitor" again', () => {
      expect(eventsOf(decide(plain({ username: 'Ann B.' }), state))).toEqual([submitted([change('username', 'Ann B.', 2)], { displayName: 'Ann B.' })]);
      expect(after(state, plain({ username: null }))).toMatchObject({ displayName: 'Visitor' });
      expect(after(state, plain({ username: '' }))).toMatchObject({ displayName: 'Visitor' });
      expect(after(state, plain({ username: 7 }))).toMatchObject({ displayName: '7' });
    });

    it('when the same values are limited to rooms, then they change (the rooms are part of the variable)', () => {
      expect(eventsOf(decide(plain({ cart: 42 }, { rooms: [{ name: 'Sales' }] }), state))).toEqual([submitted([change('cart', 42, 2, [{ name: 'Sales' }])])]);
    });

    it('when a metadata name is merged in, then FORBIDDEN and nothing changes', () => {
      expect(decide(plain({ cart: 1, providedEmail: 'x@example.com' }), state)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', details: { names: ['providedEmail'] } } });
    });

    it('when a merge would pass the variable limit, then LIMIT_EXCEEDED; a replace to fewer is fine', () => {
      const atThree = limits({ maxVisitorVariables: 3 });
      expect(decide(plain({ coupon: 'X1' }), state, atThree)).toMatchObject({
        ok: false,
        error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxVisitorVariables', max: 3, wouldHold: 4 } },
      });
      expect(decide(plain({ coupon: 'X1' }, { replaceExisting: true }), state, atThree)).toMatchObject({ ok: true });
    });

    it('when mapped claims are applied, then they overwrite by key (verified) and the rest stays', () => {
      const applied = after(state, claims([{ name: 'plan', value: 'gold', claim: 'plan' }]));
      expect(valuesOf(applied)).toEqual({ username: 'Ann', cart: 42, plan: 'gold' });
      expect(applied).toMatchObject({ variables: { plan: { source: 'claim', verified: true, version: 2, setBy: 'claim:k1', kid: 'k1' } } });
    });

    it('when the same claims are applied again (a redelivered event), then nothing is decided', () => {
      const applied = after(state, claims([{ name: 'plan', value: 'gold', claim: 'plan' }]));
      expect(decide(claims([{ name: 'plan', value: 'gold', claim: 'plan' }], 'k1', later), applied)).toEqual({ ok: true, events: [] });
    });
  });

  describe('given a known visitor with variables limited to rooms', () => {
    const state = given(submitted([change('cart', 42, 1, [{ id: 'r1' }, { name: 'Sales' }]), change('plan', 'free', 1)]));

    it('then a variable with rooms is visible only to a read naming one of them (by id or by name); one without, everywhere', () => {
      const variables = state.status === 'known' ? state.variables : {};
      expect(visibleInRooms(variables.cart?.rooms, [])).toBe(false);
      expect(visibleInRooms(variables.cart?.rooms, ['r1'])).toBe(true);
      expect(visibleInRooms(variables.cart?.rooms, ['Sales'])).toBe(true);
      expect(visibleInRooms(variables.cart?.rooms, ['r2', 'Support'])).toBe(false);
      expect(visibleInRooms(variables.plan?.rooms, [])).toBe(true);
      expect(visibleInRooms(variables.plan?.rooms, ['r2'])).toBe(true);
    });

    it('when the same rooms are given in another order, then nothing is decided', () => {
      expect(decide(plain({ cart: 42 }, { rooms: [{ name: 'Sales' }, { id: 'r1' }] }), state)).toEqual({ ok: true, events: [] });
    });

    it('when the value is submitted without rooms, then it is visible everywhere again', () => {
      const opened = after(state, plain({ cart: 42 }));
      expect(opened.status === 'known' && opened.variables.cart).not.toHaveProperty('rooms');
    });
  });

  describe('given values vouched for by two keys, and plain values', () => {
    // k1 signed `plan` (limited to a room) and verified the claims that gave `score`; k2 signed `tier`;
    // `cart` came from the API.
    const state = [
      signed({ plan: 'gold' }, { rooms: [{ id: 'r1' }] }),
      signed({ tier: 'vip' }, { kid: 'k2' }),
      claims([{ name: 'score', value: 7, claim: 'score' }]),
      plain({ cart: 42 }),
    ].reduce(after, given());

    it('then each verified value names its key', () => {
      expect(state).toMatchObject({
        variables: { plan: { verified: true, kid: 'k1', rooms: [{ id: 'r1' }] }, tier: { verified: true, kid: 'k2' }, score: { verified: true, kid: 'k1' } },
      });
      expect(state.status === 'known' && state.variables.cart).not.toHaveProperty('kid');
    });

    it('when a key is unverified, then only what it vouched for is no longer verified: values and rooms kept, versions growing', () => {
      expect(decide(unverify('k1'), state)).toEqual({
        ok: true,
        events: [
          {
            type: 'VisitorVariablesUnverified',
            data: {
              ...base,
              kid: 'k1',
              changes: [
                { name: 'plan', value: 'gold', source: 'signed', verified: false, version: 2, rooms: [{ id: 'r1' }] },
                { name: 'score', value: 7, source: 'claim', verified: false, version: 2 },
              ],
              at: later,
            },
          },
        ],
      });
    });

    it('when a key is unverified, then the state names the revocation, no longer the key, and keeps the rooms and the other values', () => {
      const next = after(state, unverify('k1'));
      expect(next).toMatchObject({
        status: 'known',
        variables: {
          plan: { value: 'gold', source: 'signed', verified: false, version: 2, updatedAt: later, setBy: 'key-revoked:k1', rooms: [{ id: 'r1' }] },
          score: { value: 7, source: 'claim', verified: false, version: 2, setBy: 'key-revoked:k1' },
          tier: { verified: true, kid: 'k2', version: 1 },
          cart: { value: 42, verified: false, version: 1, setBy: 'key1' },
        },
      });
      expect(next.status === 'known' && next.variables.plan).not.toHaveProperty('kid');
      expect(next.status === 'known' && next.variables.score).not.toHaveProperty('kid');
    });

    it('when the same key is unverified again (a redelivered revocation), then nothing is decided', () => {
      expect(decide(unverify('k1'), after(state, unverify('k1')))).toEqual({ ok: true, events: [] });
    });

    it('when a key that vouched for nothing is unverified, then nothing is decided', () => {
      expect(decide(unverify('k9'), state)).toEqual({ ok: true, events: [] });
    });

    it('when the unverified value is signed again, then it is verified again, its version growing', () => {
      const unverified = after(state, unverify('k1'));
      expect(eventsOf(decide(signed({ plan: 'gold' }, { rooms: [{ id: 'r1' }], kid: 'k3' }), unverified))).toEqual([
        submitted([{ name: 'plan', value: 'gold', source: 'signed', verified: true, version: 3, rooms: [{ id: 'r1' }] }], { kid: 'k3' }),
      ]);
    });

    it('when the visitor is erased, then VisitorVariablesErased, and the state is erased', () => {
      expect(decide(erase(), state)).toEqual({ ok: true, events: [{ type: 'VisitorVariablesErased', data: { ...base, erasureId: 'er1', at: later } }] });
      expect(after(state, erase())).toEqual({ status: 'erased', ...base });
    });
  });

  describe('given the visitor was erased', () => {
    const state = given(submitted([change('username', 'Ann', 1)], { displayName: 'Ann' }), {
      type: 'VisitorVariablesErased',
      data: { ...base, erasureId: 'er1', at: now },
    });

    it('then the state holds no variable and no display name', () => {
      expect(state).toEqual({ status: 'erased', ...base });
    });

    it('when data is submitted, then CONFLICT (retry once the stream is gone)', () => {
      expect(decide(plain({ cart: 1 }), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { visitorId: 'v1', status: 'erased' } } });
      expect(decide(signed({ cart: 1 }, { replaceExisting: true }), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    });

    it('when mapped claims are applied, then nothing is decided', () => {
      expect(decide(claims([{ name: 'tier', value: 'vip', claim: 'tier' }]), state)).toEqual({ ok: true, events: [] });
    });

    it('when a key is unverified, then nothing is decided', () => {
      expect(decide(unverify('k1'), state)).toEqual({ ok: true, events: [] });
    });

    it('when the erasure is delivered again, then nothing is decided', () => {
      expect(decide(erase(), state)).toEqual({ ok: true, events: [] });
    });

    it('when a late unverify event is folded, then the state stays erased', () => {
      expect(evolve(state, { type: 'VisitorVariablesUnverified', data: { ...base, kid: 'k1', changes: [change('username', 'Ann', 2)], at: later } })).toEqual(state);
    });
  });

  it('takes a display name from the text of the username value, "Visitor" for none', () => {
    expect([displayNameOf(undefined), displayNameOf(null), displayNameOf(''), displayNameOf('Ann'), displayNameOf(false)]).toEqual(['Visitor', 'Visitor', 'Visitor', 'Ann', 'false']);
  });

  it('builds its records so that no name can reach an object prototype', () => {
    // VariableName refuses these at the edge; the decider must still not be steered by them.
    const hostile = JSON.parse('{"__proto__": "x", "constructor": 1}') as Record<string, VariableValue>;
    const state = after(given(), plain(hostile));
    expect(state.status === 'known' && Object.getPrototypeOf(state.variables)).toBe(Object.prototype);
    expect(state.status === 'known' && Object.keys(state.variables)).toEqual(['__proto__', 'constructor']);
    expect(decide(plain({ toString: 'a' }), given())).toMatchObject({ ok: true, events: [{ data: { changes: [{ name: 'toString', version: 1 }] } }] });
  });

  describe('sessions of the visitor', () => {
    const link = (sessionId: string): VisitorVariablesCommand => ({ type: 'LinkSession', data: { ...base, sessionId, now } });
    const linked = (sessionId: string): VisitorVariablesEvent => ({ type: 'VisitorSessionLinked', data: { ...base, sessionId, at: now } });

    it('given an unknown visitor, when a session starts, then it is linked, and the visitor is known with no variables', () => {
      expect(decide(link('s1'), given())).toEqual({ ok: true, events: [linked('s1')] });
      expect(given(linked('s1'))).toEqual({ status: 'known', ...base, displayName: 'Visitor', variables: {}, retired: {}, sessions: ['s1'] });
    });

    it('given linked sessions, when the same session is linked again (a redelivery), then nothing is decided; another is added in order', () => {
      const state = given(linked('s1'), linked('s2'));
      expect(decide(link('s1'), state)).toEqual({ ok: true, events: [] });
      expect(after(state, link('s3')).status === 'known' && (after(state, link('s3')) as { sessions: string[] }).sessions).toEqual(['s1', 's2', 's3']);
    });

    it('given a visitor with variables, then linking keeps them, and a submit keeps the sessions', () => {
      const withVariables = given(linked('s1'));
      const submitted = after(withVariables, { type: 'SubmitVisitorVariables', data: { ...base, data: { plan: 'pro' }, source: 'api', verified: false, replaceExisting: true, now } });
      expect(submitted).toMatchObject({ status: 'known', sessions: ['s1'], variables: { plan: { value: 'pro' } } });
    });

    it('given a visitor being erased, when a session is linked, then CONFLICT (the caller links it once the erasure is done)', () => {
      expect(decide(link('s9'), given(linked('s1'), { type: 'VisitorVariablesErased', data: { ...base, erasureId: 'era_1', at: now } }))).toMatchObject({
        ok: false,
        error: { code: 'CONFLICT', details: { status: 'erased' } },
      });
    });
  });
});
