import {
  type MappedSessionVariable,
  SESSION_VARIABLES_EVENT_TYPES,
  type SessionVariablesCommand,
  type SessionVariablesEvent,
  type SessionVariablesState,
  type VariableChange,
  decide,
  evolve,
  initialState,
} from './session-variables.js';

const now = '2026-11-21T10:00:00.000Z';
const base = { orgId: 'org1', sessionId: 's1' };
const set = (values: { name: string; value: string | number | boolean | null }[], source: 'widget' | 'api' = 'api'): SessionVariablesCommand => ({
  type: 'SetSessionVariables',
  data: { ...base, values, source, setBy: 'key1', now },
});
const given = (...events: SessionVariablesEvent[]): SessionVariablesState => events.reduce(evolve, initialState());
const setEvent = (changes: { name: string; value: string | number | boolean | null; version: number }[]): SessionVariablesEvent => ({
  type: 'SessionVariablesSet',
  data: { ...base, changes: changes.map((c) => ({ ...c, source: 'api', verified: false })), setBy: 'key1', at: now },
});

const later = '2026-11-21T10:05:00.000Z';
const identity = (
  overrides: Partial<{ kid: string; externalId: string | null; name: string | null; email: string | null; mapped: MappedSessionVariable[]; now: string }> = {},
): SessionVariablesCommand => ({
  type: 'ApplyVerifiedIdentity',
  data: { ...base, kid: 'k1', externalId: 'cust-7', name: 'Ann', email: 'ann@example.com', mapped: [], now, ...overrides },
});
const claim = (name: string, value: string | number | boolean | null, version: number): VariableChange => ({ name, value, source: 'claim', verified: true, version });
/** `kid` null: verified by a key not named. */
const metadataEvent = (changes: VariableChange[], at = now, kid: string | null = 'k1'): SessionVariablesEvent => ({
  type: 'MetadataVariablesSet',
  data: { ...base, changes, ...(kid ? { kid } : {}), at },
});
const firstMetadata = [
  claim('providedName', 'Ann', 1),
  claim('providedEmail', 'ann@example.com', 1),
  claim('authenticatedExternalId', 'cust-7', 1),
  claim('authenticatedStatus', true, 1),
];

describe('session variables decider', () => {
  it('registers every event type once, by an explicit name', () => {
    expect(SESSION_VARIABLES_EVENT_TYPES).toEqual(['SessionVariablesSet', 'MetadataVariablesSet', 'SessionVariablesDiscarded']);
  });

  describe('given no variables', () => {
    it('when variables are set, then one event records each with version 1, types kept', () => {
      const decision = decide(set([{ name: 'UserName', value: 'John' }, { name: 'id', value: '6320834868293' }, { name: 'cart', value: 42 }]), given());
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
      const decision = decide(set([{ name: 'a', value: 1 }, { name: 'a', value: 2 }]), given());
      expect(decision.ok && decision.events[0]?.type === 'SessionVariablesSet' && decision.events[0].data.changes).toEqual([
        { name: 'a', value: 2, source: 'api', verified: false, version: 1 },
      ]);
    });

    it('when a metadata name is written, then it is refused as read-only', () => {
      const decision = decide(set([{ name: 'authenticatedStatus', value: true }]), given());
      expect(decision).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', details: { names: ['authenticatedStatus'] } } });
    });

    it('when a value is longer than the limit, then LIMIT_EXCEEDED names it', () => {
      const decision = decide(set([{ name: 'big', value: 'x'.repeat(11) }]), given(), { maxVariables: 10, maxValueBytes: 10 });
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { name: 'big' } } });
    });

    it('when discarded, then one discard event with count 0', () => {
      expect(decide({ type: 'DiscardSessionVariables', data: { ...base, now } }, given())).toEqual({
        ok: true,
        events: [{ type: 'SessionVariablesDiscarded', data: { ...base, count: 0, at: now } }],
      });
    });

    it('when an identity is verified, then the four metadata variables are set from claims, verified, version 1, with the kid', () => {
      expect(decide(identity(), given())).toEqual({ ok: true, events: [metadataEvent(firstMetadata)] });
    });

    it('when an identity without name or email is verified, then those are null and the status is still true', () => {
      const decision = decide(identity({ name: null, email: null, kid: undefined }), given());
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

    it('when an identity with mapped session variables is verified, then they are set too, from claims, verified, set by the kid', () => {
      const decision = decide(identity({ mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }, { name: 'cartValue', value: 42, claim: 'cart_value' }] }), given());
      expect(decision).toEqual({
        ok: true,
        events: [
          metadataEvent(firstMetadata),
          { type: 'SessionVariablesSet', data: { ...base, changes: [claim('plan', 'gold', 1), claim('cartValue', 42, 1)], setBy: 'claim:k1', at: now } },
        ],
      });
    });

    it('when a mapped variable has a metadata name, a too long value, or is one too many, then it is skipped and named, the rest still set', () => {
      const decision = decide(
        identity({
          mapped: [
            { name: 'providedName', value: 'Mallory', claim: 'nick' },
            { name: 'token', value: 'x'.repeat(11), claim: 'access_token' },
            { name: 'a', value: 1, claim: 'a' },
            { name: 'b', value: 2, claim: 'b' },
          ],
        }),
        given(),
        { maxVariables: 1, maxValueBytes: 10 },
      );
      expect(decision).toEqual({
        ok: true,
        events: [metadataEvent(firstMetadata), { type: 'SessionVariablesSet', data: { ...base, changes: [claim('a', 1, 1)], setBy: 'claim:k1', at: now } }],
        skipped: [
          { name: 'providedName', claim: 'nick', reason: 'METADATA_NAME' },
          { name: 'token', claim: 'access_token', reason: 'VALUE_TOO_LONG' },
          { name: 'b', claim: 'b', reason: 'TOO_MANY_VARIABLES' },
        ],
      });
    });
  });

  describe('given an identity was verified', () => {
    const state = given(
      metadataEvent(firstMetadata),
      { type: 'SessionVariablesSet', data: { ...base, changes: [claim('plan', 'gold', 1)], setBy: 'claim:k1', at: now } },
    );

    it('then the metadata lives beside the session variables, set by the kid', () => {
      expect(state).toMatchObject({
        status: 'active',
        variables: { plan: { value: 'gold', source: 'claim', verified: true, version: 1, setBy: 'claim:k1' } },
        metadata: {
          providedName: { value: 'Ann', source: 'claim', verified: true, version: 1, updatedAt: now, setBy: 'claim:k1' },
          authenticatedStatus: { value: true, version: 1 },
        },
      });
    });

    it('when the same identity is applied again (a redelivered event), then nothing is decided', () => {
      expect(decide(identity({ mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }], now: later }), state)).toEqual({ ok: true, events: [] });
    });

    it('when another identity is verified, then only the values that differ change, each version growing', () => {
      const decision = decide(identity({ kid: 'k2', externalId: 'cust-8', name: 'Bob', now: later }), state);
      expect(decision).toEqual({
        ok: true,
        events: [metadataEvent([claim('providedName', 'Bob', 2), claim('authenticatedExternalId', 'cust-8', 2)], later, 'k2')],
      });
      const after = decision.ok ? decision.events.reduce(evolve, state) : state;
      expect(after.status === 'active' && after.metadata.providedName).toEqual({
        value: 'Bob', source: 'claim', verified: true, version: 2, updatedAt: later, setBy: 'claim:k2',
      });
      expect(after.status === 'active' && after.metadata.providedEmail!.version).toBe(1);
    });

    it('when a mapped variable changes, then only the session variable changes', () => {
      expect(decide(identity({ mapped: [{ name: 'plan', value: 'platinum', claim: 'plan' }], now: later }), state)).toEqual({
        ok: true,
        events: [{ type: 'SessionVariablesSet', data: { ...base, changes: [claim('plan', 'platinum', 2)], setBy: 'claim:k1', at: later } }],
      });
    });

    it('when the API writes a metadata name, then it is still refused as read-only', () => {
      expect(decide(set([{ name: 'providedName', value: 'Mallory' }]), state)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', details: { names: ['providedName'] } } });
    });

    it('when the API overwrites a mapped variable with its own value, then it is no longer verified; the claim sets it back', () => {
      const overwritten = given(
        metadataEvent(firstMetadata),
        { type: 'SessionVariablesSet', data: { ...base, changes: [claim('plan', 'gold', 1)], setBy: 'claim:k1', at: now } },
        setEvent([{ name: 'plan', value: 'gold', version: 2 }]),
      );
      expect(decide(identity({ mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }] }), overwritten)).toEqual({
        ok: true,
        events: [{ type: 'SessionVariablesSet', data: { ...base, changes: [claim('plan', 'gold', 3)], setBy: 'claim:k1', at: now } }],
      });
    });

    it('when API variables are set, then the metadata is kept and does not count against the session variable limit', () => {
      const decision = decide(set([{ name: 'x', value: 1 }]), state, { maxVariables: 2, maxValueBytes: 100 });
      expect(decision.ok).toBe(true);
      const after = decision.ok ? decision.events.reduce(evolve, state) : state;
      expect(after.status === 'active' && Object.keys(after.metadata)).toEqual(['providedName', 'providedEmail', 'authenticatedExternalId', 'authenticatedStatus']);
    });

    it('when discarded, then the metadata goes with the session variables (count names the session variables)', () => {
      const decision = decide({ type: 'DiscardSessionVariables', data: { ...base, now: later } }, state);
      expect(decision).toEqual({ ok: true, events: [{ type: 'SessionVariablesDiscarded', data: { ...base, count: 1, at: later } }] });
      expect(decision.ok && decision.events.reduce(evolve, state)).toEqual({ status: 'discarded', ...base });
    });
  });

  describe('given variables are set', () => {
    const state = given(setEvent([{ name: 'a', value: 'x', version: 1 }, { name: 'b', value: 1, version: 1 }]));

    it('when a variable is set again with a new value, then it merges and its version grows', () => {
      const decision = decide(set([{ name: 'a', value: 'y' }]), state);
      expect(decision).toEqual({ ok: true, events: [setEvent([{ name: 'a', value: 'y', version: 2 }])] });
      const after = decision.ok ? decision.events.reduce(evolve, state) : state;
      expect(after.status === 'active' && Object.fromEntries(Object.entries(after.variables).map(([k, v]) => [k, v.value]))).toEqual({ a: 'y', b: 1 });
    });

    it('when the same values are sent again, then nothing is decided (a resent command has no second effect)', () => {
      expect(decide(set([{ name: 'a', value: 'x' }, { name: 'b', value: 1 }]), state)).toEqual({ ok: true, events: [] });
    });

    it('when the count would pass the limit, then LIMIT_EXCEEDED', () => {
      const decision = decide(set([{ name: 'c', value: 1 }]), state, { maxVariables: 2, maxValueBytes: 100 });
      expect(decision).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', details: { maxVariables: 2, wouldHold: 3 } } });
    });
  });

  describe('given the variables were discarded', () => {
    const state = given(setEvent([{ name: 'a', value: 'x', version: 1 }]), {
      type: 'SessionVariablesDiscarded',
      data: { ...base, count: 1, at: now },
    });

    it('when variables are set, then CONFLICT', () => {
      expect(decide(set([{ name: 'a', value: 'y' }]), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    });

    it('when discarded again, then nothing is decided', () => {
      expect(decide({ type: 'DiscardSessionVariables', data: { ...base, now } }, state)).toEqual({ ok: true, events: [] });
    });

    it('when an identity is verified, then nothing is decided (not an error: the session ended)', () => {
      expect(decide(identity({ mapped: [{ name: 'plan', value: 'gold', claim: 'plan' }] }), state)).toEqual({ ok: true, events: [] });
    });

    it('when a late metadata event is folded, then the state stays discarded', () => {
      expect(evolve(state, metadataEvent(firstMetadata))).toEqual(state);
    });
  });
});
