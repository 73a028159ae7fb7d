import type { NameValue, VariableValue } from '@svp/contracts';
import { type HistoryEntry, type StoredEvent, eventsAsOf, sessionStateAsOf, sessionVariableHistory, visitorStateAsOf, visitorVariableHistory } from './history.js';
import { type SessionVariablesCommand, type SessionVariablesState, decide, evolve, initialState } from './session-variables.js';
import {
  type RoomRef,
  type VisitorVariablesCommand,
  type VisitorVariablesState,
  decideVisitorVariables,
  evolveVisitorVariables,
  initialVisitorVariablesState,
} from './visitor-variables.js';

// Given a stream (built by deciding commands, as the service appends them), when its history or its
// state as of a time is read, then it is exactly what the events say.

const t0 = '2026-11-21T10:00:00.000Z';
const t1 = '2026-11-21T10:05:00.000Z';
const t2 = '2026-11-21T10:10:00.000Z';
const t3 = '2026-11-21T10:15:00.000Z';
const session = { orgId: 'org1', sessionId: 's1' };
const visitor = { orgId: 'org1', visitorId: 'v1' };

/** The events the commands decide, one after another, stored with ids e1, e2, … */
function sessionStream(...commands: SessionVariablesCommand[]): StoredEvent[] {
  const stored: StoredEvent[] = [];
  let state: SessionVariablesState = initialState();
  for (const command of commands) {
    const decision = decide(command, state);
    if (!decision.ok) throw new Error(decision.error.message);
    for (const event of decision.events) {
      stored.push({ eventId: `e${stored.length + 1}`, type: event.type, data: event.data });
      state = evolve(state, event);
    }
  }
  return stored;
}
function visitorStream(...commands: VisitorVariablesCommand[]): StoredEvent[] {
  const stored: StoredEvent[] = [];
  let state: VisitorVariablesState = initialVisitorVariablesState();
  for (const command of commands) {
    const decision = decideVisitorVariables(command, state);
    if (!decision.ok) throw new Error(decision.error.message);
    for (const event of decision.events) {
      stored.push({ eventId: `e${stored.length + 1}`, type: event.type, data: event.data });
      state = evolveVisitorVariables(state, event);
    }
  }
  return stored;
}

const put = (values: NameValue[], now: string): SessionVariablesCommand => ({ type: 'SetSessionVariables', data: { ...session, values, source: 'api', setBy: 'key1', now } });
const start = (values: NameValue[], now: string): SessionVariablesCommand => ({
  type: 'StartSessionVariables',
  data: { ...session, visitorId: 'v1', channelId: 'c1', values, now },
});
const identity = (now: string, kid = 'k1', mapped: { name: string; value: VariableValue; claim: string }[] = []): SessionVariablesCommand => ({
  type: 'ApplyVerifiedIdentity',
  data: { ...session, kid, externalId: 'cust-7', name: 'Ann', email: 'ann@example.com', mapped, now },
});
const unverifySession = (kid: string, now: string): SessionVariablesCommand => ({ type: 'UnverifyKey', data: { ...session, kid, now } });
const discard = (now: string): SessionVariablesCommand => ({ type: 'DiscardSessionVariables', data: { ...session, reason: 'closed', now } });
const eraseSession = (now: string): SessionVariablesCommand => ({ type: 'EraseSessionVariables', data: { ...session, erasureId: 'er1', now } });

const submit = (data: Record<string, VariableValue>, now: string, extra: Partial<{ replaceExisting: boolean; rooms: RoomRef[] }> = {}): VisitorVariablesCommand => ({
  type: 'SubmitVisitorVariables',
  data: { ...visitor, data, source: 'api', verified: false, replaceExisting: false, setBy: 'key1', now, ...extra },
});
const signed = (data: Record<string, VariableValue>, now: string, kid = 'k1'): VisitorVariablesCommand => ({
  type: 'SubmitVisitorVariables',
  data: { ...visitor, data, source: 'signed', verified: true, kid, replaceExisting: false, setBy: 'key1', now },
});
const claims = (values: { name: string; value: VariableValue; claim: string }[], now: string, kid = 'k1'): VisitorVariablesCommand => ({
  type: 'ApplyClaimVariables',
  data: { ...visitor, sessionId: 's1', kid, values, now },
});
const unverifyVisitor = (kid: string, now: string): VisitorVariablesCommand => ({ type: 'UnverifyKey', data: { ...visitor, kid, now } });
const eraseVisitor = (now: string): VisitorVariablesCommand => ({ type: 'EraseVisitorVariables', data: { ...visitor, erasureId: 'er1', now } });

const valuesOf = (state: SessionVariablesState | VisitorVariablesState) =>
  state.status === 'active' || state.status === 'known' ? Object.fromEntries(Object.entries(state.variables).map(([name, v]) => [name, v.value])) : {};
const changesOf = (entries: HistoryEntry[]) => entries.map((e) => [e.change, e.value, e.version, e.eventId]);

describe('session variable history', () => {
  describe('given a variable set twice by the API', () => {
    const events = sessionStream(put([{ name: 'cart', value: 1 }, { name: 'lang', value: 'fi' }], t0), put([{ name: 'cart', value: 2 }], t1));

    it('then its history is each value, oldest first, with its provenance and the event', () => {
      expect(sessionVariableHistory(events, 'cart')).toEqual([
        { name: 'cart', value: 1, scope: 'session', source: 'api', verified: false, version: 1, updatedAt: t0, setBy: 'key1', eventId: 'e1', change: 'set' },
        { name: 'cart', value: 2, scope: 'session', source: 'api', verified: false, version: 2, updatedAt: t1, setBy: 'key1', eventId: 'e2', change: 'set' },
      ]);
    });

    it('then a variable set once has one entry, and an unknown name none', () => {
      expect(changesOf(sessionVariableHistory(events, 'lang'))).toEqual([['set', 'fi', 1, 'e1']]);
      expect(sessionVariableHistory(events, 'nope')).toEqual([]);
    });

    it('then a stream with no event has no history', () => {
      expect(sessionVariableHistory([], 'cart')).toEqual([]);
    });
  });

  describe('given a session that started with initial values', () => {
    const events = sessionStream(put([{ name: 'lang', value: 'en' }], t0), start([{ name: 'lang', value: 'fi' }, { name: 'cart', value: 3 }], t1));

    it('then an initial value is set by session-start, from the widget; a name the PUT wrote first keeps the PUT\'s history only', () => {
      expect(sessionVariableHistory(events, 'cart')).toEqual([
        { name: 'cart', value: 3, scope: 'session', source: 'widget', verified: false, version: 1, updatedAt: t1, setBy: 'session-start', eventId: 'e3', change: 'set' },
      ]);
      expect(changesOf(sessionVariableHistory(events, 'lang'))).toEqual([['set', 'en', 1, 'e1']]);
    });
  });

  describe('given an identity verified and its key revoked', () => {
    const events = sessionStream(identity(t0, 'k1', [{ name: 'plan', value: 'gold', claim: 'plan' }]), unverifySession('k1', t1));

    it('then a metadata variable\'s history is in the metadata scope: set by the claim, then unverified by the revocation', () => {
      expect(sessionVariableHistory(events, 'authenticatedStatus')).toEqual([
        { name: 'authenticatedStatus', value: true, scope: 'metadata', source: 'claim', verified: true, version: 1, updatedAt: t0, setBy: 'claim:k1', eventId: 'e1', change: 'set' },
        {
          name: 'authenticatedStatus',
          value: false,
          scope: 'metadata',
          source: 'claim',
          verified: false,
          version: 2,
          updatedAt: t1,
          setBy: 'key-revoked:k1',
          eventId: 'e3',
          change: 'unverified',
        },
      ]);
    });

    it('then a mapped variable\'s history keeps its value when it is unverified', () => {
      expect(sessionVariableHistory(events, 'plan')).toEqual([
        { name: 'plan', value: 'gold', scope: 'session', source: 'claim', verified: true, version: 1, updatedAt: t0, setBy: 'claim:k1', eventId: 'e2', change: 'set' },
        { name: 'plan', value: 'gold', scope: 'session', source: 'claim', verified: false, version: 2, updatedAt: t1, setBy: 'key-revoked:k1', eventId: 'e3', change: 'unverified' },
      ]);
    });
  });

  describe('given a session that ended', () => {
    const events = sessionStream(put([{ name: 'cart', value: 1 }], t0), identity(t0), put([{ name: 'cart', value: 2 }], t1), discard(t2));

    it('then the last entry is its discard: no value from then on, with the last version and source', () => {
      expect(sessionVariableHistory(events, 'cart').at(-1)).toEqual({
        name: 'cart',
        value: null,
        scope: 'session',
        source: 'api',
        verified: false,
        version: 2,
        updatedAt: t2,
        eventId: 'e4',
        change: 'discarded',
      });
      expect(changesOf(sessionVariableHistory(events, 'cart'))).toEqual([
        ['set', 1, 1, 'e1'],
        ['set', 2, 2, 'e3'],
        ['discarded', null, 2, 'e4'],
      ]);
    });

    it('then the metadata is discarded with it', () => {
      expect(changesOf(sessionVariableHistory(events, 'providedName'))).toEqual([
        ['set', 'Ann', 1, 'e2'],
        ['discarded', null, 1, 'e4'],
      ]);
      expect(sessionVariableHistory(events, 'providedName').at(-1)).toMatchObject({ scope: 'metadata', source: 'claim', verified: false });
    });

    it('when it is erased afterwards, then the erasure adds no entry (nothing was held any more)', () => {
      const erased = sessionStream(put([{ name: 'cart', value: 1 }], t0), discard(t1), eraseSession(t2));
      expect(changesOf(sessionVariableHistory(erased, 'cart'))).toEqual([
        ['set', 1, 1, 'e1'],
        ['discarded', null, 1, 'e2'],
      ]);
    });
  });

  describe('given a session erased with its visitor', () => {
    const events = sessionStream(put([{ name: 'cart', value: 1 }], t0), identity(t0), eraseSession(t1));

    it('then the last entry is its erasure: no value from then on', () => {
      expect(sessionVariableHistory(events, 'cart')).toEqual([
        { name: 'cart', value: 1, scope: 'session', source: 'api', verified: false, version: 1, updatedAt: t0, setBy: 'key1', eventId: 'e1', change: 'set' },
        { name: 'cart', value: null, scope: 'session', source: 'api', verified: false, version: 1, updatedAt: t1, eventId: 'e3', change: 'erased' },
      ]);
      expect(changesOf(sessionVariableHistory(events, 'authenticatedExternalId'))).toEqual([
        ['set', 'cust-7', 1, 'e2'],
        ['erased', null, 1, 'e3'],
      ]);
    });
  });
});

describe('visitor variable history', () => {
  describe('given a variable submitted, merged and removed by a replacing submit', () => {
    const events = visitorStream(
      submit({ plan: 'free', cart: 1 }, t0),
      submit({ plan: 'gold' }, t1),
      submit({ cart: 2 }, t2, { replaceExisting: true }),
      submit({ plan: 'platinum' }, t3),
    );

    it('then the removal is an entry with no value and the last version, and a value that comes back goes on counting', () => {
      expect(visitorVariableHistory(events, 'plan')).toEqual([
        { name: 'plan', value: 'free', scope: 'visitor', source: 'api', verified: false, version: 1, updatedAt: t0, setBy: 'key1', eventId: 'e1', change: 'set' },
        { name: 'plan', value: 'gold', scope: 'visitor', source: 'api', verified: false, version: 2, updatedAt: t1, setBy: 'key1', eventId: 'e2', change: 'set' },
        { name: 'plan', value: null, scope: 'visitor', source: 'api', verified: false, version: 2, updatedAt: t2, eventId: 'e3', change: 'removed' },
        { name: 'plan', value: 'platinum', scope: 'visitor', source: 'api', verified: false, version: 3, updatedAt: t3, setBy: 'key1', eventId: 'e4', change: 'set' },
      ]);
    });

    it('then a name the replacing submit gave again is set, not removed', () => {
      expect(changesOf(visitorVariableHistory(events, 'cart'))).toEqual([
        ['set', 1, 1, 'e1'],
        ['set', 2, 2, 'e3'],
      ]);
    });

    it('then an unknown name has no history', () => {
      expect(visitorVariableHistory(events, 'nope')).toEqual([]);
    });
  });

  describe('given values signed and from claims, then their key revoked', () => {
    const events = visitorStream(signed({ plan: 'gold' }, t0), claims([{ name: 'tier', value: 'vip', claim: 'tier' }], t1), unverifyVisitor('k1', t2));

    it('then signed data is set by its submitter and verified, then unverified by the revocation', () => {
      expect(visitorVariableHistory(events, 'plan')).toEqual([
        { name: 'plan', value: 'gold', scope: 'visitor', source: 'signed', verified: true, version: 1, updatedAt: t0, setBy: 'key1', eventId: 'e1', change: 'set' },
        { name: 'plan', value: 'gold', scope: 'visitor', source: 'signed', verified: false, version: 2, updatedAt: t2, setBy: 'key-revoked:k1', eventId: 'e3', change: 'unverified' },
      ]);
    });

    it('then claims are set by the key that verified them', () => {
      expect(visitorVariableHistory(events, 'tier')).toEqual([
        { name: 'tier', value: 'vip', scope: 'visitor', source: 'claim', verified: true, version: 1, updatedAt: t1, setBy: 'claim:k1', eventId: 'e2', change: 'set' },
        { name: 'tier', value: 'vip', scope: 'visitor', source: 'claim', verified: false, version: 2, updatedAt: t2, setBy: 'key-revoked:k1', eventId: 'e3', change: 'unverified' },
      ]);
    });
  });

  describe('given an erased visitor', () => {
    const events = visitorStream(submit({ plan: 'free' }, t0), submit({ plan: 'gold' }, t1), eraseVisitor(t2));

    it('then the last entry is the erasure: no value from then on, with the last version', () => {
      expect(visitorVariableHistory(events, 'plan').at(-1)).toEqual({
        name: 'plan',
        value: null,
        scope: 'visitor',
        source: 'api',
        verified: false,
        version: 2,
        updatedAt: t2,
        eventId: 'e3',
        change: 'erased',
      });
      expect(changesOf(visitorVariableHistory(events, 'plan'))).toEqual([
        ['set', 'free', 1, 'e1'],
        ['set', 'gold', 2, 'e2'],
        ['erased', null, 2, 'e3'],
      ]);
    });

    it('then a name removed before the erasure is not erased again', () => {
      const removedFirst = visitorStream(submit({ plan: 'free', cart: 1 }, t0), submit({ cart: 1 }, t1, { replaceExisting: true }), eraseVisitor(t2));
      expect(changesOf(visitorVariableHistory(removedFirst, 'plan'))).toEqual([
        ['set', 'free', 1, 'e1'],
        ['removed', null, 1, 'e2'],
      ]);
    });
  });
});

describe('state as of a time', () => {
  // 10:00Z and 10:05Z: the asOf times name the same instants with and without an offset.
  describe('given a session whose variable changed at 10:05 and that ended at 10:10', () => {
    const events = sessionStream(put([{ name: 'cart', value: 1 }], t0), put([{ name: 'cart', value: 2 }], t1), discard(t2));

    it.each<[string, string, number]>([
      ['before anything happened', '2026-11-21T09:59:59.999Z', 0],
      ['at the first change', t0, 1],
      ['between the changes (UTC)', '2026-11-21T10:02:00Z', 1],
      ['between the changes (with an offset)', '2026-11-21T12:02:00+02:00', 1],
      ['just before the second change (with a negative offset)', '2026-11-21T05:04:59.999-05:00', 1],
      ['at the second change, given with an offset', '2026-11-21T11:05:00+01:00', 2],
      ['after the end', '2026-11-21T11:00:00Z', 3],
    ])('when the events are read as of %s, then those recorded by then are kept', (_case, asOf, count) => {
      expect(eventsAsOf(events, asOf)).toEqual(events.slice(0, count));
    });

    it('when the state is read before anything happened, then it is empty', () => {
      expect(sessionStateAsOf(events, '2026-11-21T09:00:00Z')).toEqual({ status: 'empty' });
    });

    it('when the state is read before the change, then the variable has its first value', () => {
      expect(sessionStateAsOf(events, '2026-11-21T12:02:00+02:00')).toMatchObject({ status: 'active', variables: { cart: { value: 1, version: 1, updatedAt: t0 } } });
      expect(sessionStateAsOf(events, '2026-11-21T10:04:59Z')).toMatchObject({ variables: { cart: { value: 1 } } });
    });

    it('when the state is read after the change, then the variable has its second value', () => {
      expect(sessionStateAsOf(events, '2026-11-21T10:05:00Z')).toMatchObject({ status: 'active', variables: { cart: { value: 2, version: 2, updatedAt: t1 } } });
      expect(sessionStateAsOf(events, '2026-11-21T12:07:00+02:00')).toMatchObject({ variables: { cart: { value: 2 } } });
    });

    it('when the state is read after the end, then it is discarded', () => {
      expect(sessionStateAsOf(events, '2026-11-21T10:10:00Z')).toEqual({ status: 'discarded', ...session });
    });
  });

  describe('given events recorded at times written with offsets', () => {
    // 11:03+01:00 is 10:03Z: later than 10:02Z though it sorts before it as text.
    const events = sessionStream(put([{ name: 'cart', value: 1 }], '2026-11-21T12:01:00+02:00'), put([{ name: 'cart', value: 2 }], '2026-11-21T11:03:00+01:00'));

    it('when read as of a time between them, then they are compared as instants, not as text', () => {
      expect(eventsAsOf(events, '2026-11-21T10:02:00Z')).toEqual(events.slice(0, 1));
      expect(sessionStateAsOf(events, '2026-11-21T10:02:00Z')).toMatchObject({ variables: { cart: { value: 1 } } });
      expect(sessionStateAsOf(events, '2026-11-21T10:03:00Z')).toMatchObject({ variables: { cart: { value: 2 } } });
    });
  });

  describe('given a visitor whose variables a replacing submit changed at 10:05', () => {
    const events = visitorStream(submit({ plan: 'free', cart: 1 }, t0), submit({ cart: 2 }, t1, { replaceExisting: true }), eraseVisitor(t2));

    it('when the state is read before anything happened, then the visitor is unknown', () => {
      expect(visitorStateAsOf(events, '2026-11-21T09:00:00Z')).toEqual({ status: 'unknown' });
    });

    it('when the state is read before the replace, then it holds both variables', () => {
      expect(valuesOf(visitorStateAsOf(events, '2026-11-21T10:04:00Z'))).toEqual({ plan: 'free', cart: 1 });
      expect(valuesOf(visitorStateAsOf(events, '2026-11-21T11:04:00+01:00'))).toEqual({ plan: 'free', cart: 1 });
    });

    it('when the state is read after the replace, then the removed name is gone and the version it had is retired', () => {
      const state = visitorStateAsOf(events, '2026-11-21T12:06:00+02:00');
      expect(valuesOf(state)).toEqual({ cart: 2 });
      expect(state).toMatchObject({ status: 'known', retired: { plan: 1 }, variables: { cart: { version: 2, updatedAt: t1 } } });
    });

    it('when the state is read after the erasure, then it is erased', () => {
      expect(visitorStateAsOf(events, t2)).toEqual({ status: 'erased', ...visitor });
    });
  });
});
