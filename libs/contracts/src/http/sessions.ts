import { z } from 'zod';
import { AssigneeType, EndReason, NameValue, OpaqueId, ReplyStatus, SessionStatus } from '../domain.js';

/** `POST /v1/sessions`. */
export const StartSessionBody = z.strictObject({
  channelId: OpaqueId,
  /** The visitor, with a key that may choose it (sessions:write); a widget key proves it with `visitorToken` instead. */
  visitorId: OpaqueId.optional(),
  brandId: OpaqueId.optional(),
  sessionVariableValues: z.array(NameValue).max(100).optional(),
  /**
   * Added: a visitor token of an earlier session of the same visitor (it may have expired, up to 30
   * days): the new session is that visitor's. How a browser with a widget key keeps its visitor.
   */
  visitorToken: z.string().min(1).max(4096).optional(),
});
export type StartSessionBody = z.infer<typeof StartSessionBody>;

export const StartSessionResponse = z.object({
  sessionId: z.string(),
  visitorId: z.string(),
  sessionStatus: z.literal('CREATED'),
  /**
   * Added: a short-lived token scoped to this one session and its visitor, for a browser: with it a
   * page reads and writes only its own session's and visitor's variables (and can end the session).
   */
  visitorToken: z.string(),
  visitorTokenExpiresAt: z.iso.datetime({ offset: true }),
});
export type StartSessionResponse = z.infer<typeof StartSessionResponse>;

/** Internal `POST /internal/v1/sessions/batch`: several of the org's sessions in one call (the gateway's batches). */
export const SessionsBatchBody = z.strictObject({ sessionIds: z.array(OpaqueId).min(1).max(200) });
export type SessionsBatchBody = z.infer<typeof SessionsBatchBody>;

/** `POST /v1/sessions/{sessionId}/visitor-token`: a fresh visitor token for a live session. */
export const VisitorTokenResponse = z.object({
  sessionId: z.string(),
  visitorId: z.string(),
  visitorToken: z.string(),
  visitorTokenExpiresAt: z.iso.datetime({ offset: true }),
});
export type VisitorTokenResponse = z.infer<typeof VisitorTokenResponse>;

export const SessionView = z.object({
  brandId: z.string().optional(),
  /** Added: set while the session is expired (reply status SESSION_EXPIRED); a visitor message resumes it. */
  expiredAt: z.iso.datetime({ offset: true }).nullable().optional(),
  lastActivityAt: z.iso.datetime({ offset: true }).optional(),
  visitorOnline: z.boolean().optional(),
  sessionId: z.string(),
  orgId: z.string(),
  channelId: z.string(),
  visitorId: z.string(),
  sessionStatus: SessionStatus,
  sessionOldStatus: SessionStatus.nullable(),
  replyStatus: ReplyStatus,
  currentAssigneeId: z.string().nullable(),
  assigneeType: AssigneeType.nullable(),
  messagesCount: z.number().int().nonnegative(),
  startedAt: z.iso.datetime({ offset: true }),
  endedAt: z.iso.datetime({ offset: true }).optional(),
  endReason: EndReason.optional(),
});
export type SessionView = z.infer<typeof SessionView>;

/** `POST /v1/sessions/{sessionId}/events`: drives the lifecycle. */
export const SessionEventBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ROUTED') }),
  z.strictObject({ type: z.literal('ASSIGNED'), assigneeId: OpaqueId, assigneeType: AssigneeType }),
  z.strictObject({ type: z.literal('MESSAGE'), from: z.enum(['VISITOR', 'AGENT', 'BOT']), actorId: OpaqueId.optional() }),
  z.strictObject({ type: z.literal('HOLD') }),
  z.strictObject({ type: z.literal('END'), reason: EndReason }),
  z.strictObject({ type: z.literal('BLOCK') }),
  /** Added: the visitor's presence (offline gives ENDUSER_OFFLINE). */
  z.strictObject({ type: z.literal('PRESENCE'), online: z.boolean() }),
]);
export type SessionEventBody = z.infer<typeof SessionEventBody>;

export const ReplyStatusResponse = z.object({ replyStatus: ReplyStatus });
/** `GET /v1/sessions/{sessionId}/reply-status?actorId=…&actorType=…`: can this actor send now? */
export const ReplyStatusQuery = z.object({ actorId: OpaqueId.optional(), actorType: AssigneeType.optional() });

/** `GET /v1/sessions?…`: one org's sessions, newest first, filtered, paginated by cursor. */
export const ListSessionsQuery = z.object({
  status: SessionStatus.optional(),
  channelId: OpaqueId.optional(),
  assigneeId: OpaqueId.optional(),
  startedFrom: z.iso.datetime({ offset: true }).optional(),
  startedTo: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});
export type ListSessionsQuery = z.infer<typeof ListSessionsQuery>;
export const SessionsPage = z.object({ sessions: z.array(SessionView), nextCursor: z.string().nullable() });

/** Channels: each channel's state and limits give the channel-side reply statuses. */
export const ChannelStateName = z.enum([
  'ACTIVE',
  'INACTIVE',
  'REVOKED',
  'DELETED',
  'PAGE_REMOVED',
  'ACCESSTOKEN_EXPIRED',
  'PERMISSION_REVOKED',
  'CONFIG_SKIPPED',
  'ASSIGNED_TO_OTHER_SERVICE',
]);
export type ChannelStateName = z.infer<typeof ChannelStateName>;
const limit = z.number().int().min(0).max(1_000_000_000).nullable();
export const CreateChannelBody = z.strictObject({
  channelId: OpaqueId,
  name: z.string().min(1).max(200),
  sandbox: z.boolean().default(false),
  /** Message credits (agent and bot messages); null: unlimited. */
  credits: limit.default(null),
  outgoingLimitPerDay: limit.default(null),
  /** For sandbox channels: messages allowed in all. */
  sandboxLimit: limit.default(null),
});
export const UpdateChannelBody = z.strictObject({
  state: ChannelStateName.optional(),
  credits: limit.optional(),
  outgoingLimitPerDay: limit.optional(),
  sandboxLimit: limit.optional(),
});
export const ChannelIdParams = z.object({ channelId: OpaqueId });
export const SendFailureBody = z.strictObject({ reason: z.string().min(1).max(500) });
export const ChannelView = z.object({
  channelId: z.string(),
  name: z.string(),
  state: ChannelStateName,
  sandbox: z.boolean(),
  credits: z.number().int().nullable(),
  outgoingLimitPerDay: z.number().int().nullable(),
  sandboxLimit: z.number().int().nullable(),
  lastSendFailure: z.string().nullable(),
  usage: z.object({ creditsUsed: z.number().int(), outgoingToday: z.number().int(), sandboxUsed: z.number().int() }),
});
export type ChannelView = z.infer<typeof ChannelView>;

/** `PUT /v1/session-settings`: the org's inactivity timeout and how long an expired session lasts before it ends. */
export const SessionSettingsBody = z.strictObject({
  inactivityTimeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600),
  expiredEndAfterSeconds: z.number().int().min(1).max(30 * 24 * 3600),
});
export const SessionSettingsResponse = SessionSettingsBody;

/** `POST /v1/webhooks`. */
export const CreateWebhookBody = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2000),
  events: z.array(z.literal('IM_Session_Status')).min(1),
  secret: z.string().min(16).max(200).optional(),
  /** Added: `standard` (the IM_Session_Status fields plus eventId) or `zoho` (Zoho Desk's own array of events, values as strings). */
  format: z.enum(['standard', 'zoho']).default('standard'),
});
export const CreateWebhookResponse = z.object({ webhookId: z.string(), secret: z.string() });
export const WebhookIdParams = z.object({ webhookId: OpaqueId });
export const WebhookView = z.object({
  webhookId: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  format: z.enum(['standard', 'zoho']),
  status: z.enum(['ACTIVE', 'DISABLED', 'DELETED']),
  disabledReason: z.string().nullable(),
  createdAt: z.string(),
});
export const WebhookAttempt = z.object({
  attempt: z.number().int(),
  at: z.string(),
  statusCode: z.number().int().nullable(),
  error: z.string().nullable(),
  latencyMs: z.number().int().nullable(),
});
export const WebhookDelivery = z.object({
  deliveryId: z.string(),
  eventId: z.string(),
  sessionId: z.string(),
  status: z.enum(['pending', 'delivered', 'failed', 'cancelled']),
  attempts: z.array(WebhookAttempt),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  replay: z.boolean(),
});
export const WebhookDeliveriesResponse = z.object({ deliveries: z.array(WebhookDelivery) });
/** `POST /v1/webhooks/{id}/replay`: sends again every IM_Session_Status event of the org since `from` (default: all). */
export const ReplayWebhookBody = z.strictObject({ from: z.iso.datetime({ offset: true }).optional() });
export const ReplayWebhookResponse = z.object({
  enqueued: z.number().int(),
  /** Follows the replay: `GET /v1/webhooks/{webhookId}/replays/{replayId}`. */
  replayId: z.string(),
});
/** `GET /v1/webhooks`: the org's subscriptions (deleted ones too, with their status), oldest first. */
export const WebhooksResponse = z.object({ webhooks: z.array(WebhookView) });
export const ReplayIdParams = z.object({ webhookId: OpaqueId, replayId: z.uuid() });
/** `GET /v1/webhooks/{webhookId}/replays/{replayId}`: how far a replay's deliveries got. */
export const WebhookReplayStatus = z.object({
  webhookId: z.string(),
  replayId: z.string(),
  enqueued: z.number().int(),
  pending: z.number().int(),
  delivered: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  /** Nothing pending any more. */
  done: z.boolean(),
});
export type WebhookReplayStatus = z.infer<typeof WebhookReplayStatus>;

/** Each session asked for, in order; null for one the org does not have. */
export const SessionsBatchResponse = z.object({ sessions: z.array(SessionView.nullable()) });
export type SessionsBatchResponse = z.infer<typeof SessionsBatchResponse>;
