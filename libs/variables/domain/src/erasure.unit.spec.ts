import {
  ERASURE_EVENT_TYPES,
  type ErasureCommand,
  type ErasureEvent,
  type ErasureState,
  decideErasure as decide,
  erasedStreams,
  erasureStream,
  evolveErasure as evolve,
  initialErasureState,
} from './erasure.js';
import { sessionVariablesStream } from './session-variables.js';
import { visitorVariablesStream } from './visitor-variables.js';

// Given/when/then on the erasure record, one `describe` per state, asserting events: recorded once,
// then executed, then completed, each step once and in order; it holds no variable name or value.

const t0 = '2026-11-21T10:00:00.000Z';
const t1 = '2026-11-21T10:05:00.000Z';
const t2 = '2026-11-21T10:10:00.000Z';
const ids = { orgId: 'org1', erasureId: 'er1' };
const base = { ...ids, visitorId: 'v1' };

const record = (sessionIds: readonly string[], extra: Partial<{ requestedBy: string; now: string }> = {}): ErasureCommand => ({
  type: 'RecordVisitorErasure',
  data: { ...base, sessionIds, now: t0, ...extra },
});
const markExecuted = (now = t1): ErasureCommand => ({ type: 'MarkErasureExecuted', data: { ...ids, now } });
const markCompleted = (now = t2): ErasureCommand => ({ type: 'MarkErasureCompleted', data: { ...ids, now } });

/** `requestedBy` null: nobody named as asking. */
const recorded = (sessionIds: string[] = ['s1', 's2'], requestedBy: string | null = 'key1'): ErasureEvent => ({
  type: 'VisitorErasureRecorded',
  data: { ...base, sessionIds, ...(requestedBy ? { requestedBy } : {}), at: t0 },
});
const executed: ErasureEvent = { type: 'VisitorErasureExecuted', data: { ...ids, at: t1 } };
const completed: ErasureEvent = { type: 'VisitorErasureCompleted', data: { ...ids, at: t2 } };
const given = (...events: ErasureEvent[]): ErasureState => events.reduce(evolve, initialErasureState());

describe('visitor erasure record', () => {
  it('registers its event types once, by explicit names, and names the stream by org and erasure', () => {
    expect(ERASURE_EVENT_TYPES).toEqual(['VisitorErasureRecorded', 'VisitorErasureExecuted', 'VisitorErasureCompleted']);
    expect(erasureStream('org1', 'er1')).toBe('erasure-org1.er1');
  });

  describe('given no record of the erasure', () => {
    const state = given();

    it('then there is none', () => {
      expect(state).toEqual({ status: 'none' });
    });

    it('when it is recorded, then one event names the visitor, their sessions and who asked', () => {
      expect(decide(record(['s1', 's2'], { requestedBy: 'key1' }), state)).toEqual([recorded()]);
      expect(given(recorded())).toEqual({
        status: 'recorded',
        record: { ...base, sessionIds: ['s1', 's2'], requestedBy: 'key1', requestedAt: t0 },
      });
    });

    it('when nobody is named as asking, then the record names nobody', () => {
      const [event] = decide(record(['s1']), state);
      expect(event).toEqual(recorded(['s1'], null));
      expect(event?.data).not.toHaveProperty('requestedBy');
      expect(given(recorded(['s1'], null))).toEqual({ status: 'recorded', record: { ...base, sessionIds: ['s1'], requestedAt: t0 } });
    });

    it('when the visitor had no session, then the record names none', () => {
      expect(decide(record([]), state)).toEqual([{ type: 'VisitorErasureRecorded', data: { ...base, sessionIds: [], at: t0 } }]);
    });

    it('when sessions were found more than once or in any order, then each is named once, sorted: the record is the same however they were found', () => {
      const first = decide(record(['s3', 's1', 's2', 's1', 's3']), state);
      expect(first[0]?.type === 'VisitorErasureRecorded' && first[0].data.sessionIds).toEqual(['s1', 's2', 's3']);
      expect(decide(record(['s2', 's3', 's1']), state)).toEqual(first);
    });

    it('when it is recorded, then the command\'s list of sessions is left as it was', () => {
      const sessionIds = ['s2', 's1', 's2'];
      decide(record(sessionIds), state);
      expect(sessionIds).toEqual(['s2', 's1', 's2']);
    });

    it('then the record holds no variable name or value, only ids, who asked and when', () => {
      const [event] = decide(record(['s1'], { requestedBy: 'key1' }), state);
      expect(Object.keys(event?.data ?? {}).sort()).toEqual(['at', 'erasureId', 'orgId', 'requestedBy', 'sessionIds', 'visitorId']);
    });

    it('when it is marked executed or completed before it was recorded, then nothing is decided', () => {
      expect(decide(markExecuted(), state)).toEqual([]);
      expect(decide(markCompleted(), state)).toEqual([]);
    });
  });

  describe('given the erasure was recorded', () => {
    const state = given(recorded());

    it('when it is recorded again (a resent request), then nothing is decided', () => {
      expect(decide(record(['s1', 's2'], { requestedBy: 'key1', now: t1 }), state)).toEqual([]);
      expect(decide(record(['s9']), state)).toEqual([]);
    });

    it('when every erased stream got its erased event, then VisitorErasureExecuted', () => {
      expect(decide(markExecuted(), state)).toEqual([executed]);
      expect(given(recorded(), executed)).toEqual({ status: 'executed', record: { ...base, sessionIds: ['s1', 's2'], requestedBy: 'key1', requestedAt: t0 }, executedAt: t1 });
    });

    it('when it is marked completed before it was executed, then nothing is decided', () => {
      expect(decide(markCompleted(), state)).toEqual([]);
    });

    it('when a completion is folded before the execution, then the state stays recorded', () => {
      expect(evolve(state, completed)).toEqual(state);
    });
  });

  describe('given the erasure was executed', () => {
    const state = given(recorded(), executed);

    it('when it is marked executed again (a timer firing again), then nothing is decided', () => {
      expect(decide(markExecuted(t2), state)).toEqual([]);
    });

    it('when it is recorded again, then nothing is decided', () => {
      expect(decide(record(['s1', 's2']), state)).toEqual([]);
    });

    it('when every erased stream is deleted, then VisitorErasureCompleted', () => {
      expect(decide(markCompleted(), state)).toEqual([completed]);
      expect(given(recorded(), executed, completed)).toEqual({
        status: 'completed',
        record: { ...base, sessionIds: ['s1', 's2'], requestedBy: 'key1', requestedAt: t0 },
        executedAt: t1,
        completedAt: t2,
      });
    });
  });

  describe('given the erasure was completed', () => {
    const state = given(recorded(), executed, completed);

    it.each<[string, ErasureCommand]>([
      ['recorded', record(['s1', 's2'])],
      ['marked executed', markExecuted()],
      ['marked completed', markCompleted()],
    ])('when it is %s again, then nothing is decided', (_case, command) => {
      expect(decide(command, state)).toEqual([]);
    });

    it('then the record is kept (it proves the erasure)', () => {
      expect(state.status === 'completed' && state.record).toEqual({ ...base, sessionIds: ['s1', 's2'], requestedBy: 'key1', requestedAt: t0 });
    });
  });

  describe('erasedStreams', () => {
    it('names the visitor\'s stream and each of their sessions\' streams, in the org', () => {
      expect(erasedStreams({ orgId: 'org1', visitorId: 'v1', sessionIds: ['s1', 's2'] })).toEqual(['visitorvars-org1.v1', 'sessionvars-org1.s1', 'sessionvars-org1.s2']);
      expect(erasedStreams({ orgId: 'org1', visitorId: 'v1', sessionIds: ['s1'] })).toEqual([visitorVariablesStream('org1', 'v1'), sessionVariablesStream('org1', 's1')]);
    });

    it('names only the visitor\'s stream when they had no session', () => {
      expect(erasedStreams({ orgId: 'org1', visitorId: 'v1', sessionIds: [] })).toEqual(['visitorvars-org1.v1']);
    });

    it('names the streams of the sessions the record names, each once', () => {
      const state = decide(record(['s2', 's1', 's2']), given()).reduce(evolve, given());
      expect(state.status === 'recorded' && erasedStreams(state.record)).toEqual(['visitorvars-org1.v1', 'sessionvars-org1.s1', 'sessionvars-org1.s2']);
    });
  });
});
