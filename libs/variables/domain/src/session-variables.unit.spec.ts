import type { NameValue, VariableValue } from '@svp/contracts';
import { type MappedSessionVariable, METADATA_NAMES, type VariableChange } from './common.js';
import { DEFAULT_LIMITS, type VariableLimits } from './limits.js';
import {
  SESSION_VARIABLES_EVENT_TYPES,
  type SessionVariablesCommand,
  type SessionVariablesEvent,
  type SessionVariablesState,
  decide,
  evolve,
  initialState,
  sessionKey,
  sessionVariablesStream,
} from './session-variables.js';

// Given/when/then on the session-variables decider, one `describe` per state, asserting events.

const now = '2026-11-21T10:00:00.000Z';
const later = '2026-11-21T10:05:00.000Z';
const base = { orgId: 'org1', sessionId: 's1' };
const link = { visitorId: 'v1', channelId: 'c1' };
const limits = (overrides: Partial<VariableLimits>): VariableLimits => ({ ...DEFAULT_LIMITS, ...overrides });

const set = (values: NameValue[], source: 'widget' | 'api' = 'api', at = now): SessionVariablesCommand => ({
  type: 'SetSessionVariables',
  data: { ...base, values, source, setBy: 'key1', now: at },
});
const start = (values: NameValue[] = [], extra: Partial<{ brandId: string; now: string }> = {}): SessionVariablesCommand => ({
  type: 'StartSessionVariables',
  data: { ...base, ...link, values, now, ...extra },
});
const discard = (extra: Partial<{ retainUntil: string; now: string }> = {}): SessionVariablesCommand => ({
  type: 'DiscardSessionVariables',
  data: { ...base, now, ...extra },
});
const unverify = (kid: string, at = later): SessionVariablesCommand => ({ type: 'UnverifyKey', data: { ...base, kid, now: at } });
const erase = (at = later): SessionVariablesCommand => ({ type: 'EraseSessionVariables', data: { ...base, erasureId: 'er1', now: at } });
const identity = (
  overrides: Partial<{ kid: string; externalId: string | null; name: string | null; email: string | null; mapped: MappedSessionVariable[]; now: string }> = {},
): SessionVariablesCommand => ({
  type: 'ApplyVerifiedIdentity',
  data: { ...base, kid: 'k1', externalId: 'cust-7', name: 'Ann', email: 'ann@example.com', mapped: [], now, ...overrides },
});

const given = (...events: SessionVariablesEvent[]): SessionVariablesState => events.reduce(evolve, initialState());
const eventsOf = (decision: ReturnType<typeof decide>) => (decision.ok ? decision.events : []);
const after = (state: SessionVariablesState, ...commands: SessionVariablesCommand[]) =>
  commands.reduce((s, command) => eventsOf(decide(command, s)).reduce(evolve, s), state);
const valuesOf = (state: SessionVariablesState) =>
  state.status === 'active' ? Object.fromEntries(Object.entries(state.variables).map(([name, v]) => [name, v.value])) : {};

const setEvent = (changes: { name: string; value: VariableValue; version: number }[], at = now): SessionVariablesEvent => ({
  type: 'SessionVariablesSet',
  data: { ...base, changes: changes.map((c) => ({ ...c, source: 'api', verified: false })), setBy: 'key1', at },
});
const claim = (name: string, value: VariableValue, version: number): VariableChange => ({ name, value, source: 'claim', verified: true, version });
/** `kid` null: verified by a key not named. */
const metadataEvent = (changes: VariableChange[], at = now, kid: string | null = 'k1'): SessionVariablesEvent => ({
  type: 'MetadataVariablesSet',
  data: { ...base, changes, ...(kid ? { kid } : {}), at },
});
/** Session variables from mapped claims, as they are recorded now: set by the key, which the event names. */
const claimSetEvent = (changes: VariableChange[], at = now, kid = 'k1'): SessionVariablesEvent => ({
  type: 'SessionVariablesSet',
  data: { ...base, changes, setBy: `claim:${kid}`, kid, at },
});
const startedEvent = (at = now, brandId?: string): SessionVariablesEvent => ({
  type: 'SessionVariablesStarted',
  data: { ...base, ...link, ...(brandId ? { brandId } : {}), at },
});
const initialValuesEvent = (changes: { name: string; value: VariableValue; version: number }[], at = now): SessionVariablesEvent => ({
  type: 'SessionVariablesSet',
  data: { ...base, changes: changes.map((c) => ({ ...c, source: 'widget', verified: false })), setBy: 'session-start', at },
});
const firstMetadata = [
  claim('providedName', 'Ann', 1),
  claim('providedEmail', 'ann@example.com', 1),
  claim('authenticatedExternalId', 'cust-7', 1),
  claim('authenticatedStatus', true, 1),
];

describe('session variables decider', () => {

  it('given events naming __proto__ and constructor, then they are the session\'s own records and no prototype changes', () => {
    const state = given(setEvent([{ name: 'plan', value: 'gold', version: 1 }]), setEvent([{ name: '__proto__', value: 'x', version: 1 }, { name: 'constructor', value: 1, version: 1 }]));
    expect(state.status === 'active' && Object.getPrototypeOf(state.variables)).toBe(Object.prototype);
    expect(state.status === 'active' && Object.keys(state.variables)).toEqual(['plan', '__proto__', 'constructor']);
    expect(valuesOf(state)).toEqual(JSON.parse('{"plan": "gold", "__proto__": "x", "constructor": 1}'));
    expect(({} as Record<string, unknown>).plan).toBeUndefined();
    // A later set copies the records, the own __proto__ among them, and can change it again.
    const later = given(
      setEvent([{ name: '__proto__', value: 'x', version: 1 }]),
      setEvent([{ name: 'lang', value: 'sv', version: 1 }]),
      setEvent([{ name: '__proto__', value: 'y', version: 2 }]),
    );
    expect(state.status === 'active' && later.status === 'active' && Object.getPrototypeOf(later.variables)).toBe(Object.prototype);
    expect(valuesOf(later)).toEqual(JSON.parse('{"__proto__": "y", "lang": "sv"}'));
  });
  it('registers every event type once, by an explicit name; streams and keys carry the org', () => {
    expect(SESSION_VARIABLES_EVENT_TYPES).toEqual([
      'SessionVariablesSet',
      'MetadataVariablesSet',
      'SessionVariablesDiscarded',
      'SessionVariablesStarted',
      'SessionVariablesUnverified',
      'SessionVariablesErased',
      'SessionVariablesDeleted',
    ]);
    expect(new Set(SESSION_VARIABLES_EVENT_TYPES).size).toBe(7);
    expect(sessionVariablesStream('org1', 's1')).toBe('sessionvars-org1.s1');
    expect(sessionKey('org1', 's1')).toBe('org1.s1');
  });

  it('defaults to names of 128 characters, values of 4096 bytes and 250 variables a session or visitor', () => {
    expect(DEFAULT_LIMITS).toEqual({ maxNameLength: 128, maxValueBytes: 4096, maxSessionVariables: 250, maxVisitorVariables: 250 });
    expect(METADATA_NAMES).toEqual(['providedName', 'providedEmail', 'authenticatedExternalId', 'authenticatedStatus']);
  });

  describe('given no variables', () => {
    const state = given();

    it('when variables are set, then one event records each with version 1, types kept', () => {
      const decision = decide(set([{ name: 'UserName', value: 'John' }, { name: 'id', value: '6320834868293' }, { name: 'cart', value: 42 }]), state);
      expect(decision).toEqual({
        ok: true,
        events: [
          setEvent([
            { name: 'UserName', value: 'John', version: 1 },
            { name: 'id', value: '6320834868293', version: 1 },
            { name: 'cart', value: 42, version: 1 },
          ]),
        ],
      });
    });

    it('when the same name is given twice, then the last value wins', () => {
      const decision = decide(set([{ name: 'a', value: 1 }, { name: 'a', value: 2 }]), state);
      expect(decision.ok && decision.events[0]?.type === 'SessionVariablesSet' && decision.events[0].data.changes).toEqual([
        { name: 'a', value: 2, source: 'api', verified: false, version: 1 },
      ]);
    });

    it('when a metadata name is written, then it is refused as read-only', () => {
      const decision = decide(set([{ name: 'authenticatedStatus', value: true }]), state);
      expect(decision).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', details: { names: ['authenticatedStatus'] } } });
    });

    it('when a value is longer than the limit, then LIMIT_EXCEEDED names the limit and the variable, and nothing is stored', () => {
      const decision = decide(set([{ name: 'ok', value: 'x' }, { name: 'big', value: 'x'.repeat(11) }]), state, limits({ maxValueBytes: 10 }));
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxValueBytes', max: 10, name: 'big', bytes: 11 } } });
    });

    it('when a value is longer than the limit in UTF-8 bytes though not in characters, then LIMIT_EXCEEDED', () => {
      const decision = decide(set([{ name: 'big', value: 'é'.repeat(6) }]), state, limits({ maxValueBytes: 10 }));
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxValueBytes', max: 10, bytes: 12 } } });
    });

    it('when a name is longer than the limit, then LIMIT_EXCEEDED names the limit, and nothing is stored', () => {
      const long = 'n'.repeat(9);
      const decision = decide(set([{ name: 'ok', value: 1 }, { name: long, value: 1 }]), state, limits({ maxNameLength: 8 }));
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxNameLength', max: 8, name: long, length: 9 } } });
    });

    it('when more variables than the limit are set, then LIMIT_EXCEEDED names the limit, and nothing is stored', () => {
      const decision = decide(set([{ name: 'a', value: 1 }, { name: 'b', value: 2 }, { name: 'c', value: 3 }]), state, limits({ maxSessionVariables: 2 }));
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxSessionVariables', max: 2, wouldHold: 3 } } });
    });

    it('when names, values and count are exactly at the limits, then they are set', () => {
      const decision = decide(
        set([{ name: 'n'.repeat(8), value: 'x'.repeat(10) }, { name: 'b', value: 'é'.repeat(5) }]),
        state,
        limits({ maxNameLength: 8, maxValueBytes: 10, maxSessionVariables: 2 }),
      );
      expect(eventsOf(decision)).toHaveLength(1);
    });

    it('when the same name is given twice, then it counts once against the limit', () => {
      const decision = decide(set([{ name: 'a', value: 1 }, { name: 'a', value: 2 }]), state, limits({ maxSessionVariables: 1 }));
      expect(decision.ok).toBe(true);
    });

    it('when discarded, then one discard event with count 0', () => {
      expect(decide(discard(), state)).toEqual({
        ok: true,
        events: [{ type: 'SessionVariablesDiscarded', data: { ...base, count: 0, at: now } }],
      });
    });

    it('when discarded with a retention, then the event says until when the stream is kept', () => {
      expect(decide(discard({ retainUntil: '2026-12-21T10:00:00.000Z' }), state)).toEqual({
        ok: true,
        events: [{ type: 'SessionVariablesDiscarded', data: { ...base, count: 0, retainUntil: '2026-12-21T10:00:00.000Z', at: now } }],
      });
    });

    it('when an identity is verified, then the four metadata variables are set from claims, verified, version 1, with the kid', () => {
      expect(decide(identity(), state)).toEqual({ ok: true, events: [metadataEvent(firstMetadata)] });
    });

    it('when an identity without name or email is verified, then those are null and the status is still true', () => {
      const decision = decide(identity({ name: null, email: null, kid: undefined }), state);
      expect(decision).toEqual({
        ok: true,
        events: [
          metadataEvent(
            [claim('providedName', null, 1), claim('providedEmail', null, 1), claim('authenticatedExternalId', 'cust-7', 1), claim('authenticatedStatus', true, 1)],
            now,
            null,
          ),
        ],
      });
    });

    it('when an identity with mapped session variables is verified, then they are set too, from claims, verified, set by and naming the kid', () => {
      const decision = decide(identity({ mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }, { name: 'cartValue', value: 42, claim: 'cart_value' }] }), state);
      expect(decision).toEqual({
        ok: true,
        events: [metadataEvent(firstMetadata), claimSetEvent([claim('plan', 'gold', 1), claim('cartValue', 42, 1)])],
      });
    });

    it('when an identity verified by a key not named maps variables, then they are set by "claim" and name no kid', () => {
      const decision = decide(identity({ kid: undefined, mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }] }), state);
      expect(eventsOf(decision)[1]).toEqual({ type: 'SessionVariablesSet', data: { ...base, changes: [claim('plan', 'gold', 1)], setBy: 'claim', at: now } });
    });

    it('when a mapped variable has a metadata name, a too long name or value, or is one too many, then it is skipped and named, the rest still set', () => {
      const long = 'n'.repeat(9);
      const decision = decide(
        identity({
          mapped: [
            { name: 'providedName', value: 'Mallory', claim: 'nick' },
            { name: long, value: 'x', claim: 'long_claim' },
            { name: 'token', value: 'x'.repeat(11), claim: 'access_token' },
            { name: 'a', value: 1, claim: 'a' },
            { name: 'b', value: 2, claim: 'b' },
          ],
        }),
        state,
        limits({ maxNameLength: 8, maxSessionVariables: 1, maxValueBytes: 10 }),
      );
      expect(decision).toEqual({
        ok: true,
        events: [metadataEvent(firstMetadata), claimSetEvent([claim('a', 1, 1)])],
        skipped: [
          { name: 'providedName', claim: 'nick', reason: 'METADATA_NAME' },
          { name: long, claim: 'long_claim', reason: 'NAME_TOO_LONG' },
          { name: 'token', claim: 'access_token', reason: 'VALUE_TOO_LONG' },
          { name: 'b', claim: 'b', reason: 'TOO_MANY_VARIABLES' },
        ],
      });
    });

    it('when the session starts, then it is linked to its visitor and its initial values are set (from the widget, set by session-start)', () => {
      const decision = decide(start([{ name: 'lang', value: 'fi' }, { name: 'cart', value: 3 }]), state);
      expect(decision).toEqual({
        ok: true,
        events: [
          startedEvent(),
          initialValuesEvent([
            { name: 'lang', value: 'fi', version: 1 },
            { name: 'cart', value: 3, version: 1 },
          ]),
        ],
      });
      expect(after(state, start([{ name: 'lang', value: 'fi' }]))).toEqual({
        status: 'active',
        ...base,
        link,
        variables: { lang: { value: 'fi', source: 'widget', verified: false, version: 1, updatedAt: now, setBy: 'session-start' } },
        metadata: {},
      });
    });

    it('when the session starts without initial values, then only the start is recorded', () => {
      expect(decide(start(), state)).toEqual({ ok: true, events: [startedEvent()] });
      expect(after(state, start())).toEqual({ status: 'active', ...base, link, variables: {}, metadata: {} });
    });

    it('when the session starts in a brand, then the link names the brand', () => {
      expect(decide(start([], { brandId: 'b1' }), state)).toEqual({ ok: true, events: [startedEvent(now, 'b1')] });
      expect(after(state, start([], { brandId: 'b1' }))).toMatchObject({ link: { ...link, brandId: 'b1' } });
    });

    it.each<[string, Partial<VariableLimits>, NameValue[], Record<string, unknown>]>([
      ['a name too long', { maxNameLength: 8 }, [{ name: 'ok', value: 1 }, { name: 'n'.repeat(9), value: 1 }], { limit: 'maxNameLength', max: 8 }],
      ['a value too long', { maxValueBytes: 10 }, [{ name: 'ok', value: 1 }, { name: 'big', value: 'x'.repeat(11) }], { limit: 'maxValueBytes', max: 10, name: 'big' }],
      ['too many', { maxSessionVariables: 1 }, [{ name: 'a', value: 1 }, { name: 'b', value: 2 }], { limit: 'maxSessionVariables', max: 1, wouldHold: 2 }],
    ])('when the session starts with initial values breaking a limit (%s), then they are refused whole but the start is kept', (_case, overrides, values, details) => {
      const decision = decide(start(values), state, limits(overrides));
      expect(decision).toMatchObject({ ok: true, events: [startedEvent()], refused: { code: 'LIMIT_EXCEEDED', details } });
      expect(eventsOf(decision).reduce(evolve, state)).toEqual({ status: 'active', ...base, link, variables: {}, metadata: {} });
    });

    it('when the session starts with a metadata name among its initial values, then they are refused whole as read-only, the start kept', () => {
      const decision = decide(start([{ name: 'lang', value: 'fi' }, { name: 'providedName', value: 'Mallory' }]), state);
      expect(decision).toMatchObject({ ok: true, events: [startedEvent()], refused: { code: 'FORBIDDEN', details: { names: ['providedName'] } } });
    });

    it('when a key is unverified, then nothing is decided (nothing is vouched for)', () => {
      expect(decide(unverify('k1'), state)).toEqual({ ok: true, events: [] });
    });

    it('when the variables are erased, then nothing is decided (there is nothing to erase)', () => {
      expect(decide(erase(), state)).toEqual({ ok: true, events: [] });
    });
  });

  describe('given variables were set before the session start arrived', () => {
    const state = given(setEvent([{ name: 'lang', value: 'en', version: 1 }]));

    it('then the session is active without a link', () => {
      expect(state).toMatchObject({ status: 'active', ...base, variables: { lang: { value: 'en' } } });
      expect(state).not.toHaveProperty('link');
    });

    it('when the session starts, then it is linked, and its initial values fill only the names not written yet (the PUT is newer)', () => {
      const command = start([{ name: 'lang', value: 'fi' }, { name: 'cart', value: 3 }]);
      expect(decide(command, state)).toEqual({ ok: true, events: [startedEvent(), initialValuesEvent([{ name: 'cart', value: 3, version: 1 }])] });
      const started = after(state, command);
      expect(started).toMatchObject({ link, variables: { lang: { value: 'en', source: 'api', version: 1, setBy: 'key1' } } });
      expect(valuesOf(started)).toEqual({ lang: 'en', cart: 3 });
    });

    it('when the session starts with only names already written, then only the start is recorded', () => {
      expect(decide(start([{ name: 'lang', value: 'fi' }]), state)).toEqual({ ok: true, events: [startedEvent()] });
    });

    it('when the initial values with those already held would pass the limit, then they are refused, the start kept', () => {
      const decision = decide(start([{ name: 'lang', value: 'fi' }, { name: 'cart', value: 3 }]), state, limits({ maxSessionVariables: 1 }));
      expect(decision).toMatchObject({ ok: true, events: [startedEvent()], refused: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxSessionVariables', max: 1, wouldHold: 2 } } });
    });
  });

  describe('given the session started with initial values', () => {
    const state = given(startedEvent(), initialValuesEvent([{ name: 'lang', value: 'fi', version: 1 }]));

    it('when the same start is delivered again, then nothing is decided', () => {
      expect(decide(start([{ name: 'lang', value: 'fi' }], { now: later }), state)).toEqual({ ok: true, events: [] });
    });

    it('when a start whose initial values were refused is delivered again, then no event is decided', () => {
      const refused = given(startedEvent());
      expect(decide(start([{ name: 'big', value: 'x'.repeat(11) }]), refused, limits({ maxValueBytes: 10 }))).toMatchObject({ ok: true, events: [] });
    });

    it('when an initial value is overwritten, then its version grows and the link is kept', () => {
      const command = set([{ name: 'lang', value: 'sv' }], 'widget', later);
      expect(decide(command, state)).toEqual({
        ok: true,
        events: [{ type: 'SessionVariablesSet', data: { ...base, changes: [{ name: 'lang', value: 'sv', source: 'widget', verified: false, version: 2 }], setBy: 'key1', at: later } }],
      });
      expect(after(state, command)).toMatchObject({ link, variables: { lang: { value: 'sv', version: 2, updatedAt: later } } });
    });

    it('when an identity is verified, then the link is kept', () => {
      expect(after(state, identity())).toMatchObject({ status: 'active', link });
    });

    it('when discarded, then the discarded session still knows its visitor', () => {
      expect(decide(discard({ now: later }), state)).toEqual({ ok: true, events: [{ type: 'SessionVariablesDiscarded', data: { ...base, count: 1, at: later } }] });
      expect(after(state, discard())).toEqual({ status: 'discarded', ...base, link });
    });

    it('when erased, then SessionVariablesErased, and the state is erased (the link goes too)', () => {
      expect(decide(erase(), state)).toEqual({ ok: true, events: [{ type: 'SessionVariablesErased', data: { ...base, erasureId: 'er1', at: later } }] });
      expect(after(state, erase())).toEqual({ status: 'erased', ...base });
    });
  });

  describe('given an identity was verified', () => {
    const state = given(metadataEvent(firstMetadata), claimSetEvent([claim('plan', 'gold', 1)]));

    it('then the metadata lives beside the session variables, set by and naming the kid', () => {
      expect(state).toMatchObject({
        status: 'active',
        variables: { plan: { value: 'gold', source: 'claim', verified: true, version: 1, setBy: 'claim:k1', kid: 'k1' } },
        metadata: {
          providedName: { value: 'Ann', source: 'claim', verified: true, version: 1, updatedAt: now, setBy: 'claim:k1', kid: 'k1' },
          authenticatedStatus: { value: true, version: 1, kid: 'k1' },
        },
      });
    });

    it('when the same identity is applied again (a redelivered event), then nothing is decided', () => {
      expect(decide(identity({ mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }], now: later }), state)).toEqual({ ok: true, events: [] });
    });

    it('when the same key verifies other claims, then only the values that differ change, each version growing', () => {
      const decision = decide(identity({ externalId: 'cust-8', name: 'Bob', now: later }), state);
      expect(decision).toEqual({
        ok: true,
        events: [metadataEvent([claim('providedName', 'Bob', 2), claim('authenticatedExternalId', 'cust-8', 2)], later)],
      });
      const next = eventsOf(decision).reduce(evolve, state);
      expect(next.status === 'active' && next.metadata.providedName).toEqual({
        value: 'Bob',
        source: 'claim',
        verified: true,
        version: 2,
        updatedAt: later,
        setBy: 'claim:k1',
        kid: 'k1',
      });
      expect(next.status === 'active' && next.metadata.providedEmail?.version).toBe(1);
    });

    it('when another key verifies an identity, then every metadata value is vouched for by the new key: each changes, its version growing', () => {
      const decision = decide(identity({ kid: 'k2', externalId: 'cust-8', name: 'Bob', now: later }), state);
      expect(decision).toEqual({
        ok: true,
        events: [
          metadataEvent(
            [claim('providedName', 'Bob', 2), claim('providedEmail', 'ann@example.com', 2), claim('authenticatedExternalId', 'cust-8', 2), claim('authenticatedStatus', true, 2)],
            later,
            'k2',
          ),
        ],
      });
      const next = eventsOf(decision).reduce(evolve, state);
      expect(next.status === 'active' && next.metadata.providedEmail).toEqual({
        value: 'ann@example.com',
        source: 'claim',
        verified: true,
        version: 2,
        updatedAt: later,
        setBy: 'claim:k2',
        kid: 'k2',
      });
      // The mapped variable it did not map again is still vouched for by the first key.
      expect(next.status === 'active' && next.variables.plan).toMatchObject({ kid: 'k1', version: 1 });
    });

    it('when a mapped variable changes, then only the session variable changes', () => {
      expect(decide(identity({ mapped: [{ name: 'plan', value: 'platinum', claim: 'plan' }], now: later }), state)).toEqual({
        ok: true,
        events: [claimSetEvent([claim('plan', 'platinum', 2)], later)],
      });
    });

    it('when the API writes a metadata name, then it is still refused as read-only', () => {
      expect(decide(set([{ name: 'providedName', value: 'Mallory' }]), state)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', details: { names: ['providedName'] } } });
    });

    it('when the API overwrites a mapped variable with its own value, then it is no longer verified; the claim sets it back', () => {
      const overwritten = given(metadataEvent(firstMetadata), claimSetEvent([claim('plan', 'gold', 1)]), setEvent([{ name: 'plan', value: 'gold', version: 2 }]));
      expect(overwritten.status === 'active' && overwritten.variables.plan).not.toHaveProperty('kid');
      expect(decide(identity({ mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }] }), overwritten)).toEqual({
        ok: true,
        events: [claimSetEvent([claim('plan', 'gold', 3)])],
      });
    });

    it('when API variables are set, then the metadata is kept and does not count against the session variable limit', () => {
      const decision = decide(set([{ name: 'x', value: 1 }]), state, limits({ maxSessionVariables: 2 }));
      expect(decision.ok).toBe(true);
      const next = eventsOf(decision).reduce(evolve, state);
      expect(next.status === 'active' && Object.keys(next.metadata)).toEqual(['providedName', 'providedEmail', 'authenticatedExternalId', 'authenticatedStatus']);
    });

    it('when discarded, then the metadata goes with the session variables (count names the session variables)', () => {
      const decision = decide(discard({ now: later }), state);
      expect(decision).toEqual({ ok: true, events: [{ type: 'SessionVariablesDiscarded', data: { ...base, count: 1, at: later } }] });
      expect(eventsOf(decision).reduce(evolve, state)).toEqual({ status: 'discarded', ...base });
    });

    it('when its key is unverified, then what it vouched for is no longer verified: values kept (the status turns false), versions growing', () => {
      expect(decide(unverify('k1'), state)).toEqual({
        ok: true,
        events: [
          {
            type: 'SessionVariablesUnverified',
            data: {
              ...base,
              kid: 'k1',
              changes: [{ name: 'plan', value: 'gold', source: 'claim', verified: false, version: 2 }],
              metadataChanges: [
                { name: 'providedName', value: 'Ann', source: 'claim', verified: false, version: 2 },
                { name: 'providedEmail', value: 'ann@example.com', source: 'claim', verified: false, version: 2 },
                { name: 'authenticatedExternalId', value: 'cust-7', source: 'claim', verified: false, version: 2 },
                { name: 'authenticatedStatus', value: false, source: 'claim', verified: false, version: 2 },
              ],
              at: later,
            },
          },
        ],
      });
    });

    it('when its key is unverified, then the state names the revocation and no longer the key', () => {
      const next = after(state, unverify('k1'));
      expect(next).toMatchObject({
        status: 'active',
        variables: { plan: { value: 'gold', source: 'claim', verified: false, version: 2, updatedAt: later, setBy: 'key-revoked:k1' } },
        metadata: {
          providedName: { value: 'Ann', verified: false, version: 2, setBy: 'key-revoked:k1' },
          authenticatedStatus: { value: false, verified: false, version: 2, setBy: 'key-revoked:k1' },
        },
      });
      expect(next.status === 'active' && next.variables.plan).not.toHaveProperty('kid');
      expect(next.status === 'active' && next.metadata.authenticatedStatus).not.toHaveProperty('kid');
    });

    it('when its key is unverified again (a redelivered revocation), then nothing is decided', () => {
      expect(decide(unverify('k1', later), after(state, unverify('k1')))).toEqual({ ok: true, events: [] });
    });

    it('when another key is unverified, then nothing is decided', () => {
      expect(decide(unverify('k9'), state)).toEqual({ ok: true, events: [] });
    });

    it('when the unverified identity is verified again, then it is verified again, versions growing', () => {
      const unverified = after(state, unverify('k1'));
      expect(eventsOf(decide(identity({ kid: 'k2', now: later }), unverified))).toEqual([
        metadataEvent(
          [claim('providedName', 'Ann', 3), claim('providedEmail', 'ann@example.com', 3), claim('authenticatedExternalId', 'cust-7', 3), claim('authenticatedStatus', true, 3)],
          later,
          'k2',
        ),
      ]);
    });

    it('when erased, then SessionVariablesErased', () => {
      expect(decide(erase(), state)).toEqual({ ok: true, events: [{ type: 'SessionVariablesErased', data: { ...base, erasureId: 'er1', at: later } }] });
    });
  });

  describe('given values vouched for by two keys, and plain values', () => {
    // k1 verified the first identity and mapped `plan`; k2 verified the second and mapped `tier`,
    // so the metadata is k2's while `plan` is still k1's; `cart` came from the API.
    const state = given(
      metadataEvent(firstMetadata),
      claimSetEvent([claim('plan', 'gold', 1)]),
      setEvent([{ name: 'cart', value: 42, version: 1 }]),
      metadataEvent(
        [claim('providedName', 'Ann', 2), claim('providedEmail', 'ann@example.com', 2), claim('authenticatedExternalId', 'cust-7', 2), claim('authenticatedStatus', true, 2)],
        later,
        'k2',
      ),
      claimSetEvent([claim('tier', 'vip', 1)], later, 'k2'),
    );

    it('when the first key is unverified, then only what it still vouches for changes', () => {
      expect(decide(unverify('k1'), state)).toEqual({
        ok: true,
        events: [
          {
            type: 'SessionVariablesUnverified',
            data: { ...base, kid: 'k1', changes: [{ name: 'plan', value: 'gold', source: 'claim', verified: false, version: 2 }], metadataChanges: [], at: later },
          },
        ],
      });
      const next = after(state, unverify('k1'));
      expect(next).toMatchObject({ variables: { tier: { verified: true, kid: 'k2' }, cart: { verified: false, source: 'api' } }, metadata: { authenticatedStatus: { value: true, kid: 'k2' } } });
    });

    it('when the second key is unverified, then its variable and the metadata change, not the first key\'s nor the plain values', () => {
      const events = eventsOf(decide(unverify('k2'), state));
      expect(events).toMatchObject([
        {
          type: 'SessionVariablesUnverified',
          data: {
            kid: 'k2',
            changes: [{ name: 'tier', value: 'vip', verified: false, version: 2 }],
            metadataChanges: [{ name: 'providedName' }, { name: 'providedEmail' }, { name: 'authenticatedExternalId' }, { name: 'authenticatedStatus', value: false, version: 3 }],
          },
        },
      ]);
      expect(after(state, unverify('k2'))).toMatchObject({ variables: { plan: { verified: true, kid: 'k1' }, cart: { value: 42, version: 1 } } });
    });
  });

  describe('given claims recorded before their events named the kid', () => {
    const state = given(metadataEvent(firstMetadata), { type: 'SessionVariablesSet', data: { ...base, changes: [claim('plan', 'gold', 1)], setBy: 'claim:k1', at: now } });

    it('then the key is read from who set them', () => {
      expect(state).toMatchObject({ variables: { plan: { verified: true, kid: 'k1' } } });
    });

    it('when the same claims come again, then nothing is decided', () => {
      expect(decide(identity({ mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }] }), state)).toEqual({ ok: true, events: [] });
    });

    it('when their key is unverified, then they are no longer verified', () => {
      expect(eventsOf(decide(unverify('k1'), state))).toMatchObject([{ data: { changes: [{ name: 'plan', verified: false, version: 2 }] } }]);
    });
  });

  describe('given variables are set', () => {
    const state = given(setEvent([{ name: 'a', value: 'x', version: 1 }, { name: 'b', value: 1, version: 1 }]));

    it('when a variable is set again with a new value, then it merges and its version grows', () => {
      const decision = decide(set([{ name: 'a', value: 'y' }]), state);
      expect(decision).toEqual({ ok: true, events: [setEvent([{ name: 'a', value: 'y', version: 2 }])] });
      expect(valuesOf(eventsOf(decision).reduce(evolve, state))).toEqual({ a: 'y', b: 1 });
    });

    it('when the same values are sent again, then nothing is decided (a resent command has no second effect)', () => {
      expect(decide(set([{ name: 'a', value: 'x' }, { name: 'b', value: 1 }]), state)).toEqual({ ok: true, events: [] });
    });

    it('when the same value comes from another source, then it changes', () => {
      expect(eventsOf(decide(set([{ name: 'a', value: 'x' }], 'widget'), state))).toMatchObject([{ data: { changes: [{ name: 'a', source: 'widget', version: 2 }] } }]);
    });

    it('when the count would pass the limit, then LIMIT_EXCEEDED names the limit', () => {
      const decision = decide(set([{ name: 'c', value: 1 }]), state, limits({ maxSessionVariables: 2 }));
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { limit: 'maxSessionVariables', max: 2, wouldHold: 3 } } });
    });

    it('when held names are overwritten at the limit, then they do not count twice', () => {
      expect(decide(set([{ name: 'a', value: 'y' }, { name: 'b', value: 2 }]), state, limits({ maxSessionVariables: 2 })).ok).toBe(true);
    });

    it('when a key is unverified, then nothing is decided (plain values are vouched for by no key)', () => {
      expect(decide(unverify('k1'), state)).toEqual({ ok: true, events: [] });
    });

    it('when discarded with a retention, then count and retention are recorded', () => {
      expect(decide(discard({ retainUntil: '2026-12-21T10:00:00.000Z', now: later }), state)).toEqual({
        ok: true,
        events: [{ type: 'SessionVariablesDiscarded', data: { ...base, count: 2, retainUntil: '2026-12-21T10:00:00.000Z', at: later } }],
      });
    });
  });

  describe('given the variables were discarded', () => {
    const state = given(startedEvent(), setEvent([{ name: 'a', value: 'x', version: 1 }]), {
      type: 'SessionVariablesDiscarded',
      data: { ...base, count: 1, at: now },
    });

    it('then the state keeps only who the session belonged to', () => {
      expect(state).toEqual({ status: 'discarded', ...base, link });
    });

    it('when variables are set, then CONFLICT', () => {
      expect(decide(set([{ name: 'a', value: 'y' }]), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { sessionId: 's1', status: 'discarded' } } });
    });

    it('when discarded again, then nothing is decided', () => {
      expect(decide(discard(), state)).toEqual({ ok: true, events: [] });
    });

    it('when a late start arrives, then nothing is decided', () => {
      expect(decide(start([{ name: 'lang', value: 'fi' }]), state)).toEqual({ ok: true, events: [] });
    });

    it('when an identity is verified, then nothing is decided (not an error: the session ended)', () => {
      expect(decide(identity({ mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }] }), state)).toEqual({ ok: true, events: [] });
    });

    it('when a key is unverified, then nothing is decided', () => {
      expect(decide(unverify('k1'), state)).toEqual({ ok: true, events: [] });
    });

    it('when a late metadata event is folded, then the state stays discarded', () => {
      expect(evolve(state, metadataEvent(firstMetadata))).toEqual(state);
    });

    it('when erased (the stream kept for audit goes with its visitor), then SessionVariablesErased', () => {
      expect(decide(erase(), state)).toEqual({ ok: true, events: [{ type: 'SessionVariablesErased', data: { ...base, erasureId: 'er1', at: later } }] });
      expect(after(state, erase())).toEqual({ status: 'erased', ...base });
    });
  });

  describe('given the variables were erased', () => {
    const state = given(setEvent([{ name: 'a', value: 'x', version: 1 }]), { type: 'SessionVariablesErased', data: { ...base, erasureId: 'er1', at: now } });

    it('then the state holds no variable', () => {
      expect(state).toEqual({ status: 'erased', ...base });
    });

    it('when variables are set, then CONFLICT (retry once the stream is gone)', () => {
      expect(decide(set([{ name: 'a', value: 'y' }]), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { sessionId: 's1', status: 'erased' } } });
    });

    it('when the erasure is delivered again, then nothing is decided', () => {
      expect(decide(erase(), state)).toEqual({ ok: true, events: [] });
    });

    it.each<[string, SessionVariablesCommand]>([
      ['a start', start([{ name: 'lang', value: 'fi' }])],
      ['a discard', discard()],
      ['an identity', identity({ mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }] })],
      ['a key revocation', unverify('k1')],
    ])('when %s arrives, then nothing is decided', (_case, command) => {
      expect(decide(command, state)).toEqual({ ok: true, events: [] });
    });

    it('when late events are folded, then the state stays erased', () => {
      expect([setEvent([{ name: 'b', value: 1, version: 1 }]), metadataEvent(firstMetadata), startedEvent()].reduce(evolve, state)).toEqual(state);
    });
  });

  describe('given a session whose events were deleted (only its tombstone left)', () => {
    const tombstone = (reason: 'ended' | 'erased'): SessionVariablesEvent => ({ type: 'SessionVariablesDeleted', data: { ...base, reason, at: later } });
    const closed = given(tombstone('ended'));

    it('then it is closed, with nothing in it', () => {
      expect(closed).toEqual({ status: 'closed', ...base });
      expect(given(tombstone('erased'))).toEqual({ status: 'closed', ...base });
    });

    it('when a PUT comes late, then CONFLICT naming the closed state; nothing is stored', () => {
      expect(decide(set([{ name: 'late', value: 1 }]), closed)).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { status: 'closed' } } });
    });

    it('when an identity verified before the end arrives late, or a start, a discard, an erasure, an un-verify, then nothing is decided', () => {
      expect(decide(identity(), closed)).toEqual({ ok: true, events: [] });
      expect(decide({ type: 'StartSessionVariables', data: { ...base, visitorId: 'v1', channelId: 'web', values: [{ name: 'a', value: 1 }], now } }, closed)).toEqual({ ok: true, events: [] });
      expect(decide({ type: 'DiscardSessionVariables', data: { ...base, reason: 'logout', now } }, closed)).toEqual({ ok: true, events: [] });
      expect(decide({ type: 'EraseSessionVariables', data: { ...base, erasureId: 'era_1', now } }, closed)).toEqual({ ok: true, events: [] });
      expect(decide({ type: 'UnverifyKey', data: { ...base, kid: 'k1', now } }, closed)).toEqual({ ok: true, events: [] });
    });

    it('when events of the deleted stream were folded after it (they cannot be), then it stays closed', () => {
      expect(evolve(closed, setEvent([{ name: 'a', value: 1, version: 1 }]))).toEqual(closed);
      expect(evolve(closed, { type: 'SessionVariablesDiscarded', data: { ...base, count: 0, at: later } })).toEqual(closed);
    });
  });
});
