import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { AssigneeType, ReplyStatus, SessionStatus } from '../../domain.js';

/** The IM_Session_Status fields (DESIGN.md section 1), as delivered to webhooks. */
export const ImSessionStatus = z.object({
  currentAssigneeId: z.string().nullable(),
  sessionStatus: SessionStatus,
  replyStatus: ReplyStatus,
  sessionOldStatus: SessionStatus.nullable(),
  sessionId: z.string(),
  messagesCount: z.number().int().nonnegative(),
  assigneeType: AssigneeType.nullable(),
  channelId: z.string(),
  eventTime: z.iso.datetime({ offset: true }),
  eventType: z.literal('IM_Session_Status'),
  orgId: z.string(),
});
export type ImSessionStatus = z.infer<typeof ImSessionStatus>;

/** Every status change of a conversation; keyed by sessionId on sessions.events.v1. */
export const SessionStatusChangedV1 = integrationEvent('SessionStatusChanged', 1, ImSessionStatus);
export type SessionStatusChangedV1 = z.infer<typeof SessionStatusChangedV1>;
