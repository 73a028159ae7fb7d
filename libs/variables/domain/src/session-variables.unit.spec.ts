import {
  type SessionVariablesCommand,
  type SessionVariablesEvent,
  type SessionVariablesState,
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

describe('session variables decider', () => {
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
  });
});
