import type { VariableValue } from '@svp/contracts';
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

const now = '2026-11-21T10:00:00.000Z';
const later = '2026-11-21T10:05:00.000Z';
const base = { orgId: 'org1', visitorId: 'v1' };

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
    expect(VISITOR_VARIABLES_EVENT_TYPES).toEqual(['VisitorVariablesSubmitted', 'VisitorClaimVariablesApplied']);
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

    it('when a value is longer than the limit (in UTF-8 bytes), then LIMIT_EXCEEDED names it', () => {
      const decision = decide(plain({ ok: 'x', big: 'é'.repeat(6) }), state, { maxVariables: 10, maxValueBytes: 10 });
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { name: 'big', maxValueBytes: 10 } } });
    });

    it('when more variables than the limit are submitted, then LIMIT_EXCEEDED', () => {
      const decision = decide(plain({ a: 1, b: 2, c: 3 }), state, { maxVariables: 2, maxValueBytes: 100 });
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { maxVariables: 2, wouldHold: 3 } } });
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
      });
    });

    it('when mapped claims hold a metadata name, a too long value or one too many, then those are skipped and named, the rest applied', () => {
      const decision = decide(
        claims([
          { name: 'providedName', value: 'Mallory', claim: 'nick' },
          { name: 'token', value: 'x'.repeat(11), claim: 'access_token' },
          { name: 'a', value: 1, claim: 'a' },
          { name: 'b', value: 2, claim: 'b' },
        ]),
        state,
        { maxVariables: 1, maxValueBytes: 10 },
      );
      expect(decision).toMatchObject({
        ok: true,
        events: [{ type: 'VisitorClaimVariablesApplied', data: { changes: [{ name: 'a', value: 1 }] } }],
        skipped: [
          { name: 'providedName', claim: 'nick', reason: 'METADATA_NAME' },
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
      const limits = { maxVariables: 3, maxValueBytes: 100 };
      expect(decide(plain({ coupon: 'X1' }), state, limits)).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { maxVariables: 3, wouldHold: 4 } } });
      expect(decide(plain({ coupon: 'X1' }, { replaceExisting: true }), state, limits)).toMatchObject({ ok: true });
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
});
