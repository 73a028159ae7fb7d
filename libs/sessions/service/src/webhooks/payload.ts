/**
 * The IM_Session_Status webhook body, in the platform's format and in Zoho Desk's own.
 *
 * Standard format (DESIGN.md section 5): one JSON object with exactly the IM_Session_Status fields of
 * DESIGN.md section 1 plus `eventId`, every field present (null when unknown):
 *
 *   { "currentAssigneeId": "agent-1" | null, "sessionStatus": "ON_HOLD", "replyStatus": "ACCEPTED",
 *     "sessionOldStatus": "OPEN" | null, "sessionId": "…", "messagesCount": 3,
 *     "assigneeType": "AGENT" | "BOT" | null, "channelId": "…", "eventTime": "2026-01-02T03:04:05.678Z",
 *     "eventType": "IM_Session_Status", "orgId": "…", "eventId": "…" }
 *
 * Zoho format, for receivers written against Zoho Desk's IM Session Status webhook
 * (help.zoho.com, "Set Up and Use the IM Session Status Webhook"): an array of events; the session
 * fields sit in `payload` with every value a string (null stays null), `eventTime` is the event's
 * time in epoch milliseconds as a string, and the event's type and org sit beside `payload`:
 *
 *   [{
 *     "payload": {
 *       "currentAssigneeId": "106554156" | null, "sessionStatus": "ON_HOLD", "replyStatus": "ACCEPTED",
 *       "sessionOldStatus": "ENDED" | null, "sessionId": "65403000000038063", "messagesCount": "23",
 *       "assigneeType": "AGENT" | null, "channelId": "65403000000038011"
 *     },
 *     "eventTime": "1751022087019",
 *     "eventType": "IM_Session_Status",
 *     "orgId": "106553778"
 *   }]
 *
 * That is exactly Zoho's documented shape (no eventId in the body): the event id travels in the
 * X-Event-Id and webhook-id headers in both formats.
 */
import { ImSessionStatus } from '@svp/contracts';

export type WebhookFormat = 'standard' | 'zoho';
export const WEBHOOK_FORMATS: readonly WebhookFormat[] = ['standard', 'zoho'];

/** The standard body: the IM_Session_Status fields and `eventId`. */
export type ImSessionStatusBody = ImSessionStatus & { eventId: string };

/** The field names of the standard body, in the order they are written. */
export const IM_SESSION_STATUS_BODY_FIELDS = [
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
] as const satisfies readonly (keyof ImSessionStatusBody)[];

type Nullable = 'currentAssigneeId' | 'sessionOldStatus' | 'assigneeType';

/**
 * What `imSessionStatusBody` takes: the IM_Session_Status fields, where those that can be unknown
 * (assignee, assignee type, old status) may be left out; `eventType` is implied. Other keys are dropped.
 */
export type ImSessionStatusFields = Omit<ImSessionStatus, Nullable | 'eventType'> &
  Partial<Pick<ImSessionStatus, Nullable>> & { eventType?: 'IM_Session_Status'; eventId: string };

/** The standard body: validated with the contract's `ImSessionStatus`, exactly its fields plus eventId. */
export function imSessionStatusBody(fields: ImSessionStatusFields): ImSessionStatusBody {
  if (typeof fields.eventId !== 'string' || fields.eventId.length === 0) throw new Error('eventId is required');
  const parsed = ImSessionStatus.parse({
    currentAssigneeId: fields.currentAssigneeId ?? null,
    sessionStatus: fields.sessionStatus,
    replyStatus: fields.replyStatus,
    sessionOldStatus: fields.sessionOldStatus ?? null,
    sessionId: fields.sessionId,
    messagesCount: fields.messagesCount,
    assigneeType: fields.assigneeType ?? null,
    channelId: fields.channelId,
    eventTime: fields.eventTime,
    eventType: 'IM_Session_Status',
    orgId: fields.orgId,
  });
  const body = { ...parsed, eventId: fields.eventId };
  return Object.fromEntries(IM_SESSION_STATUS_BODY_FIELDS.map((name) => [name, body[name]])) as ImSessionStatusBody;
}

/** One event of Zoho Desk's webhook array. */
export interface ZohoImSessionStatusEvent {
  payload: {
    currentAssigneeId: string | null;
    sessionStatus: string;
    replyStatus: string;
    sessionOldStatus: string | null;
    sessionId: string;
    messagesCount: string;
    assigneeType: string | null;
    channelId: string;
  };
  /** Epoch milliseconds, as a string. */
  eventTime: string;
  eventType: 'IM_Session_Status';
  orgId: string;
}

/** The Zoho Desk shape of one standard body (see the module comment). */
export function zohoImSessionStatusBody(body: ImSessionStatusBody): ZohoImSessionStatusEvent[] {
  const text = (value: string | number | null): string | null => (value === null ? null : String(value));
  const eventTime = Date.parse(body.eventTime);
  return [
    {
      payload: {
        currentAssigneeId: text(body.currentAssigneeId),
        sessionStatus: body.sessionStatus,
        replyStatus: body.replyStatus,
        sessionOldStatus: text(body.sessionOldStatus),
        sessionId: body.sessionId,
        messagesCount: String(body.messagesCount),
        assigneeType: text(body.assigneeType),
        channelId: body.channelId,
      },
      eventTime: Number.isNaN(eventTime) ? body.eventTime : String(eventTime),
      eventType: 'IM_Session_Status',
      orgId: body.orgId,
    },
  ];
}

/**
 * The raw body sent for a stored delivery (the stored text is the standard body's JSON): the stored
 * text itself for `standard`, its Zoho Desk array for `zoho`.
 */
export function renderWebhookBody(storedBody: string, format: WebhookFormat): string {
  switch (format) {
    case 'standard':
      return storedBody;
    case 'zoho':
      return JSON.stringify(zohoImSessionStatusBody(JSON.parse(storedBody) as ImSessionStatusBody));
    default: {
      const unknown: never = format;
      throw new Error(`unknown webhook format ${String(unknown)}`);
    }
  }
}
