import type { StatusChange } from './live-hub.js';
import { statusReplay } from './resolvers.js';

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
