import type { AssigneeType, ReplyStatus, SessionStatus } from '@svp/contracts';
import type { ChannelLimits, ReplyChannel } from './channel.js';
import { exhaustive } from './decision.js';

/**
 * Reply status: "can this actor send a message in this session now?" Pure: the session (its state or a
 * projection of it), the channel (from the channel registry) and the usage counters come in.
 *
 * Precedence, first match wins (REPLY_STATUS_PRECEDENCE holds the same order):
 *  1. the session: SESSION_ENDED, SESSION_BLOCKED, SESSION_EXPIRED (an expired session, until a
 *     visitor message resumes it);
 *  2. the channel: its state (CHANNEL_DELETED, CHANNEL_REVOKED, CHANNEL_INACTIVE, PAGE_REMOVED,
 *     ACCESSTOKEN_EXPIRED, PERMISSION_REVOKED, CONFIG_SKIPPED_CHANNEL, ASSIGNED_TO_OTHER_SERVICE; a
 *     channel has one state, so their order among themselves never matters), then UNEXPECTED_ERROR
 *     while it reports a send failure. An unknown channel (null) counts as ACTIVE, not sandbox;
 *  3. the assignment: UNASSIGNED when nobody is assigned; NOT_AN_ASSIGNEE when an actor with an id is
 *     not the assignee (id and type both must match; an actor without an id is not checked);
 *  4. the limits (null is unlimited): CREDIT_EXHAUSTED when the credits are used up,
 *     OUTGOING_LIMIT_REACHED when today's outbound limit is, SANDBOX_LIMIT_REACHED when a sandbox
 *     channel's quota is;
 *  5. the visitor: ENDUSER_OFFLINE when the visitor is offline;
 *  6. else ACCEPTED.
 * Session before channel: a closed conversation is the first thing to tell. Channel before assignment:
 * nobody can reply through a broken channel, whoever is assigned. Limits after the assignment, so the
 * assignee hears about them and a stranger hears that it is not theirs to answer.
 */

export interface Assignee {
  id: string;
  type: AssigneeType;
}

/** What the reply status reads from a session: the session state itself, or a projection of it. */
export interface ReplySession {
  status: SessionStatus;
  assignee: Assignee | null;
  expiredAt: string | null;
  visitorOnline: boolean;
}

export interface ReplyActor {
  id?: string;
  type: AssigneeType;
}

export interface ReplyUsage extends ChannelLimits {
  creditsUsed: number;
  outgoingToday: number;
  sandboxUsed: number;
}

export interface ReplyStatusInput {
  session: ReplySession;
  /** Who would send; without it, whether anyone (the assignee) could. */
  actor?: ReplyActor;
  channel: ReplyChannel | null;
  usage: ReplyUsage;
}

export const REPLY_STATUS_PRECEDENCE = [
  'SESSION_ENDED',
  'SESSION_BLOCKED',
  'SESSION_EXPIRED',
  'CHANNEL_DELETED',
  'CHANNEL_REVOKED',
  'CHANNEL_INACTIVE',
  'PAGE_REMOVED',
  'ACCESSTOKEN_EXPIRED',
  'PERMISSION_REVOKED',
  'CONFIG_SKIPPED_CHANNEL',
  'ASSIGNED_TO_OTHER_SERVICE',
  'UNEXPECTED_ERROR',
  'UNASSIGNED',
  'NOT_AN_ASSIGNEE',
  'CREDIT_EXHAUSTED',
  'OUTGOING_LIMIT_REACHED',
  'SANDBOX_LIMIT_REACHED',
  'ENDUSER_OFFLINE',
  'ACCEPTED',
] as const satisfies readonly ReplyStatus[];
// Compile-time check that every reply status has its place above.
const _everyReplyStatusRanked: Exclude<ReplyStatus, (typeof REPLY_STATUS_PRECEDENCE)[number]> extends never ? true : never = true;

/** Usage with no limits and nothing used: what a caller passes when it tracks none. */
export const UNLIMITED_USAGE: Readonly<ReplyUsage> = {
  credits: null,
  creditsUsed: 0,
  outgoingLimitPerDay: null,
  outgoingToday: 0,
  sandboxLimit: null,
  sandboxUsed: 0,
};

export function replyStatusOf(input: ReplyStatusInput): ReplyStatus {
  const { session, actor, channel, usage } = input;
  const ofSession = sessionStatusReply(session);
  if (ofSession) return ofSession;
  const ofChannel = channelReply(channel);
  if (ofChannel) return ofChannel;
  const ofAssignment = assignmentReply(session, actor);
  if (ofAssignment) return ofAssignment;
  if (usage.credits !== null && usage.creditsUsed >= usage.credits) return 'CREDIT_EXHAUSTED';
  if (usage.outgoingLimitPerDay !== null && usage.outgoingToday >= usage.outgoingLimitPerDay) return 'OUTGOING_LIMIT_REACHED';
  if (channel?.sandbox && usage.sandboxLimit !== null && usage.sandboxUsed >= usage.sandboxLimit) return 'SANDBOX_LIMIT_REACHED';
  if (!session.visitorOnline) return 'ENDUSER_OFFLINE';
  return 'ACCEPTED';
}

/**
 * The part of the reply status the session alone decides (steps 1 and 3): what the session decider
 * checks itself before it accepts an agent's or bot's message, whatever reply status it was given.
 */
export function sessionReplyStatus(session: ReplySession, actor?: ReplyActor): ReplyStatus {
  return sessionStatusReply(session) ?? assignmentReply(session, actor) ?? 'ACCEPTED';
}

/** Whether the actor is the session's assignee (an actor without an id is taken to be). */
export const isAssignee = (assignee: Assignee | null, actor: ReplyActor): boolean =>
  assignee !== null && actor.type === assignee.type && (actor.id === undefined || actor.id === assignee.id);

function sessionStatusReply(session: ReplySession): ReplyStatus | null {
  if (session.status === 'ENDED') return 'SESSION_ENDED';
  if (session.status === 'BLOCKED') return 'SESSION_BLOCKED';
  if (session.expiredAt !== null) return 'SESSION_EXPIRED';
  return null;
}

function channelReply(channel: ReplyChannel | null): ReplyStatus | null {
  if (channel === null) return null;
  const ofState = channelStateReply(channel.state);
  if (ofState) return ofState;
  return channel.lastSendFailure !== null ? 'UNEXPECTED_ERROR' : null;
}

function channelStateReply(state: ReplyChannel['state']): ReplyStatus | null {
  switch (state) {
    case 'ACTIVE':
      return null;
    case 'DELETED':
      return 'CHANNEL_DELETED';
    case 'REVOKED':
      return 'CHANNEL_REVOKED';
    case 'INACTIVE':
      return 'CHANNEL_INACTIVE';
    case 'PAGE_REMOVED':
      return 'PAGE_REMOVED';
    case 'ACCESSTOKEN_EXPIRED':
      return 'ACCESSTOKEN_EXPIRED';
    case 'PERMISSION_REVOKED':
      return 'PERMISSION_REVOKED';
    case 'CONFIG_SKIPPED':
      return 'CONFIG_SKIPPED_CHANNEL';
    case 'ASSIGNED_TO_OTHER_SERVICE':
      return 'ASSIGNED_TO_OTHER_SERVICE';
    default:
      return exhaustive(state);
  }
}

function assignmentReply(session: ReplySession, actor: ReplyActor | undefined): ReplyStatus | null {
  if (session.assignee === null) return 'UNASSIGNED';
  if (actor && !isAssignee(session.assignee, actor)) return 'NOT_AN_ASSIGNEE';
  return null;
}
