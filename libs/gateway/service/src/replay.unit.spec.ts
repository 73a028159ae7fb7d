import type { StatusChange, VariablesChange } from './live-hub.js';
import { statusReplay, withoutRoomData } from './resolvers.js';

const status = (sessionStatus: StatusChange['sessionStatus'], sessionOldStatus: StatusChange['sessionOldStatus'], extra: Partial<StatusChange> = {}): StatusChange => ({
  eventId: `evt-${sessionStatus}`,
  sessionId: 'ses_1',
  orgId: 'org_1',
  sessionStatus,
  sessionOldStatus,
  replyStatus: 'UNASSIGNED',
  currentAssigneeId: null,
  assigneeType: null,
  messagesCount: 0,
  channelId: 'web',
  eventTime: '2026-12-02T10:00:00.000Z',
  eventType: 'IM_Session_Status',
  ...extra,
});
const current = (change: StatusChange): StatusChange => ({ ...change, eventId: null });
const ids = (changes: StatusChange[]) => changes.map((c) => c.eventId);

describe('statusReplay: what a subscription starting with the current state replays of the recent changes', () => {
  const created = status('CREATED', null);
  const open = status('OPEN', 'CREATED');
  const onHold = status('ON_HOLD', 'OPEN', { replyStatus: 'ACCEPTED', currentAssigneeId: 'agent-1', assigneeType: 'AGENT' });

  it('given the read shows the latest recent change, then nothing is replayed (no change seen twice)', () => {
    expect(statusReplay(current(onHold), [created, open, onHold])).toEqual([]);
  });

  it('given the read is behind (it shows an older change), then the changes after it are replayed, in order', () => {
    expect(ids(statusReplay(current(open), [created, open, onHold]))).toEqual(['evt-ON_HOLD']);
  });

  it('given the read shows none of the recent changes (its read model is behind them all), then they are all replayed', () => {
    expect(ids(statusReplay(current(created), [open, onHold]))).toEqual(['evt-OPEN', 'evt-ON_HOLD']);
  });

  it('given no recent change, then nothing is replayed', () => {
    expect(statusReplay(current(onHold), [])).toEqual([]);
  });

  it('given a state that repeats (a message counted), then the last match decides', () => {
    const message1 = status('ON_PROGRESS', 'ON_HOLD', { messagesCount: 1 });
    const message2 = status('ON_PROGRESS', 'ON_HOLD', { messagesCount: 2, eventId: 'evt-m2' });
    expect(ids(statusReplay(current(message1), [message1, message2]))).toEqual(['evt-m2']);
    expect(statusReplay(current(message2), [message1, message2])).toEqual([]);
  });
});

describe('withoutRoomData: what a subscriber that named no room may see of a visitor change', () => {
  const change = (changes: VariablesChange['changes'], extra: Partial<VariablesChange> = {}): VariablesChange => ({
    eventId: 'evt_1',
    kind: 'VISITOR_CHANGED',
    occurredAt: '2026-12-02T10:00:00.000Z',
    changes,
    removed: [],
    ...extra,
  });
  const plain = { name: 'plan', value: 'gold', scope: 'visitor' as const, source: 'widget', verified: false, version: 1 };
  const vipOnly = { name: 'secret', value: 'room-only', scope: 'visitor' as const, source: 'widget', verified: false, version: 1, rooms: ['vip'] };

  it('given data limited to a room beside data that is not, then only the latter is kept', () => {
    expect(withoutRoomData(change([plain, vipOnly]))?.changes).toEqual([plain]);
  });

  it('given only data limited to a room, then there is nothing to tell', () => {
    expect(withoutRoomData(change([vipOnly]))).toBeUndefined();
  });

  it('given only room data but removed names or a new display name, then those are still told (without the values)', () => {
    expect(withoutRoomData(change([vipOnly], { removed: ['old'] }))).toMatchObject({ changes: [], removed: ['old'] });
    expect(withoutRoomData(change([vipOnly], { displayName: 'Jane' }))).toMatchObject({ changes: [], displayName: 'Jane' });
  });

  it('given a username limited to a room, then the display name it gives is not told either', () => {
    const vipName = { ...vipOnly, name: 'username', value: 'Jane (VIP)' };
    expect(withoutRoomData(change([vipName], { displayName: 'Jane (VIP)' }))).toBeUndefined();
    const kept = withoutRoomData(change([plain, vipName], { displayName: 'Jane (VIP)' }));
    expect(kept?.changes).toEqual([plain]);
    expect(kept).not.toHaveProperty('displayName');
  });

  it('given a session change, then it is passed on as it is', () => {
    const session = change([{ ...plain, scope: 'session' }], { kind: 'SESSION_CHANGED' });
    expect(withoutRoomData(session)).toBe(session);
  });
});
