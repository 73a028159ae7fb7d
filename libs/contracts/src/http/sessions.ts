import { z } from 'zod';
import { AssigneeType, EndReason, NameValue, OpaqueId, ReplyStatus, SessionStatus } from '../domain.js';

/** `POST /v1/sessions`. */
export const StartSessionBody = z.strictObject({
  channelId: OpaqueId,
  visitorId: OpaqueId.optional(),
  brandId: OpaqueId.optional(),
  sessionVariableValues: z.array(NameValue).max(100).optional(),
});
export type StartSessionBody = z.infer<typeof StartSessionBody>;

export const StartSessionResponse = z.object({
  sessionId: z.string(),
  visitorId: z.string(),
  sessionStatus: z.literal('CREATED'),
});

export const SessionView = z.object({
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
]);
export type SessionEventBody = z.infer<typeof SessionEventBody>;

export const ReplyStatusResponse = z.object({ replyStatus: ReplyStatus });

/** `POST /v1/webhooks`. */
export const CreateWebhookBody = z.strictObject({
  url: z.url(),
  events: z.array(z.literal('IM_Session_Status')).min(1),
  secret: z.string().min(16).optional(),
});
export const CreateWebhookResponse = z.object({ webhookId: z.string(), secret: z.string() });
