import { IM_SESSION_STATUS_BODY_FIELDS, imSessionStatusBody, renderWebhookBody, zohoImSessionStatusBody } from './payload.js';

const fields = {
  currentAssigneeId: 'agent-7',
  sessionStatus: 'ON_PROGRESS',
  replyStatus: 'ACCEPTED',
  sessionOldStatus: 'ON_HOLD',
  sessionId: 'ses-1',
  messagesCount: 23,
  assigneeType: 'AGENT',
  channelId: 'chan-1',
  eventTime: '2025-06-27T11:01:27.019Z',
  orgId: 'org-1',
  eventId: 'evt-1',
} as const;

describe('imSessionStatusBody', () => {
  it('holds exactly the IM_Session_Status fields of DESIGN.md section 1 plus eventId, in that order', () => {
    const body = imSessionStatusBody(fields);
    expect(Object.keys(body)).toEqual([
      'currentAssigneeId',
      'sessionStatus',
      'replyStatus',
      'sessionOldStatus',
      'sessionId',
      'messagesCount',
      'assigneeType',
      'channelId',
      'eventTime',
      'eventType',
      'orgId',
      'eventId',
    ]);
    expect(Object.keys(body)).toEqual([...IM_SESSION_STATUS_BODY_FIELDS]);
    expect(body).toEqual({ ...fields, eventType: 'IM_Session_Status' });
  });

  it('writes every field, null when unknown (no assignee yet, no earlier status)', () => {
    const body = imSessionStatusBody({
      sessionStatus: 'CREATED',
      replyStatus: 'UNASSIGNED',
      sessionId: 'ses-2',
      messagesCount: 0,
      channelId: 'chan-1',
      eventTime: '2025-06-27T11:01:27.019Z',
      orgId: 'org-1',
      eventId: 'evt-2',
    });
    expect(JSON.parse(JSON.stringify(body))).toEqual({
      currentAssigneeId: null,
      sessionStatus: 'CREATED',
      replyStatus: 'UNASSIGNED',
      sessionOldStatus: null,
      sessionId: 'ses-2',
      messagesCount: 0,
      assigneeType: null,
      channelId: 'chan-1',
      eventTime: '2025-06-27T11:01:27.019Z',
      eventType: 'IM_Session_Status',
      orgId: 'org-1',
      eventId: 'evt-2',
    });
  });

  it('drops any other key and refuses what the contract refuses', () => {
    const body = imSessionStatusBody({ ...fields, visitorId: 'v-1', secret: 'x' } as typeof fields);
    expect(body).not.toHaveProperty('visitorId');
    expect(body).not.toHaveProperty('secret');
    expect(() => imSessionStatusBody({ ...fields, sessionStatus: 'WAITING' as never })).toThrow();
    expect(() => imSessionStatusBody({ ...fields, messagesCount: -1 })).toThrow();
    expect(() => imSessionStatusBody({ ...fields, eventTime: 'yesterday' })).toThrow();
    expect(() => imSessionStatusBody({ ...fields, eventId: '' })).toThrow(/eventId/);
  });
});

describe('Zoho Desk format', () => {
  it('is an array of one event: the session fields as strings in payload, epoch-ms eventTime, eventType and orgId beside it', () => {
    expect(zohoImSessionStatusBody(imSessionStatusBody(fields))).toEqual([
      {
        payload: {
          currentAssigneeId: 'agent-7',
          sessionStatus: 'ON_PROGRESS',
          replyStatus: 'ACCEPTED',
          sessionOldStatus: 'ON_HOLD',
          sessionId: 'ses-1',
          messagesCount: '23',
          assigneeType: 'AGENT',
          channelId: 'chan-1',
        },
        eventTime: '1751022087019',
        eventType: 'IM_Session_Status',
        orgId: 'org-1',
      },
    ]);
  });

  it('keeps unknown values null, and every other payload value is a string', () => {
    const [event] = zohoImSessionStatusBody(
      imSessionStatusBody({ ...fields, currentAssigneeId: null, assigneeType: null, sessionOldStatus: null, messagesCount: 0 }),
    );
    expect(event!.payload.currentAssigneeId).toBeNull();
    expect(event!.payload.assigneeType).toBeNull();
    expect(event!.payload.sessionOldStatus).toBeNull();
    expect(event!.payload.messagesCount).toBe('0');
    for (const value of Object.values(event!.payload)) expect(value === null || typeof value === 'string').toBe(true);
  });
});

describe('renderWebhookBody', () => {
  it('sends the stored standard body as it is, or its Zoho array', () => {
    const stored = JSON.stringify(imSessionStatusBody(fields));
    expect(renderWebhookBody(stored, 'standard')).toBe(stored);
    expect(JSON.parse(renderWebhookBody(stored, 'zoho'))).toEqual(zohoImSessionStatusBody(imSessionStatusBody(fields)));
  });
});
