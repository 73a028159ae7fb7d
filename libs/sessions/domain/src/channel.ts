import { ChannelStateName } from '@svp/contracts';
import { type Decision, accept, exhaustive, isCount, refuse } from './decision.js';

/**
 * The channel registry aggregate (stream `channel-<orgId>.<channelId>`): one messaging channel of an
 * org (a website widget, a WhatsApp number, a Facebook page…), its operational state, the last send
 * failure it reported, and its limits (message credits, outbound messages per day, the sandbox quota).
 * What the reply status reads from the channel comes from here (see reply-status.ts); the usage
 * counters (credits used, messages sent today) change with every message and are kept by the service,
 * not in this stream. DELETED is terminal. Pure decider: time comes in the command.
 */

/** A channel's operational state (the contract's list); every one but ACTIVE refuses replies with its own reply status. */
export const CHANNEL_STATES = ChannelStateName.options;
export type ChannelState = ChannelStateName;

/** A channel's limits; null is unlimited. */
export interface ChannelLimits {
  /** Message credits (outbound messages the org has paid for on this channel). */
  credits: number | null;
  /** Outbound messages per day. */
  outgoingLimitPerDay: number | null;
  /** Outbound messages a sandbox channel may send in all. */
  sandboxLimit: number | null;
}

export interface ChannelFacts extends ChannelLimits {
  orgId: string;
  channelId: string;
  name: string;
  sandbox: boolean;
  /** The reason of the last send failure, until the channel recovers (reply status UNEXPECTED_ERROR). */
  lastSendFailure: string | null;
  createdAt: string;
  updatedAt: string;
}

export type ChannelRegistryState =
  | { status: 'NONE' }
  | (ChannelFacts & { status: Exclude<ChannelState, 'DELETED'> })
  | (ChannelFacts & { status: 'DELETED'; deletedAt: string });

export const initialChannelState = (): ChannelRegistryState => ({ status: 'NONE' });

interface ChannelRef {
  orgId: string;
  channelId: string;
}

export type ChannelCommand =
  | { type: 'CreateChannel'; data: ChannelRef & ChannelLimits & { name: string; sandbox: boolean; now: string } }
  | { type: 'ChangeChannelState'; data: ChannelRef & { state: ChannelState; now: string } }
  | { type: 'SetChannelLimits'; data: ChannelRef & Partial<ChannelLimits> & { now: string } }
  | { type: 'ReportSendFailure'; data: ChannelRef & { reason: string; now: string } }
  | { type: 'ClearSendFailure'; data: ChannelRef & { now: string } };

export type ChannelEvent =
  | { type: 'ChannelCreated'; data: ChannelRef & ChannelLimits & { name: string; sandbox: boolean; at: string } }
  | { type: 'ChannelStateChanged'; data: ChannelRef & { state: ChannelState; previousState: ChannelState; at: string } }
  /** The limits after the change, all three (a projection copies them). */
  | { type: 'ChannelLimitsSet'; data: ChannelRef & ChannelLimits & { at: string } }
  | { type: 'ChannelSendFailed'; data: ChannelRef & { reason: string; at: string } }
  | { type: 'ChannelSendRecovered'; data: ChannelRef & { previousFailure: string; at: string } };

export type ChannelDecision = Decision<ChannelEvent>;

const LIMIT_FIELDS = ['credits', 'outgoingLimitPerDay', 'sandboxLimit'] as const;

export function decideChannel(command: ChannelCommand, state: ChannelRegistryState): ChannelDecision {
  if (command.type === 'CreateChannel') {
    const { orgId, channelId, name, sandbox, credits, outgoingLimitPerDay, sandboxLimit, now } = command.data;
    const invalid = invalidLimits(command.data) ?? (name.trim() === '' ? refuse<ChannelEvent>('VALIDATION_FAILED', 'A channel needs a name', { field: 'name' }) : null);
    if (invalid) return invalid;
    if (state.status !== 'NONE') {
      const same =
        state.name === name &&
        state.sandbox === sandbox &&
        state.credits === credits &&
        state.outgoingLimitPerDay === outgoingLimitPerDay &&
        state.sandboxLimit === sandboxLimit;
      // A resent creation is no change; anything else is another channel under the same id.
      return same && state.status !== 'DELETED'
        ? accept([])
        : refuse('CONFLICT', `Channel ${channelId} exists (${state.status})`, { channelId, state: state.status });
    }
    return accept([{ type: 'ChannelCreated', data: { orgId, channelId, name, sandbox, credits, outgoingLimitPerDay, sandboxLimit, at: now } }]);
  }
  const { channelId, now } = command.data;
  if (state.status === 'NONE') return refuse('NOT_FOUND', `Channel ${channelId} not found`, { channelId });
  const ref = { orgId: state.orgId, channelId: state.channelId };
  if (state.status === 'DELETED') {
    if (command.type === 'ChangeChannelState' && command.data.state === 'DELETED') return accept([]);
    return refuse('CONFLICT', `Channel ${channelId} is DELETED: it cannot change any more`, { channelId, state: state.status });
  }
  switch (command.type) {
    case 'ChangeChannelState': {
      const { state: next } = command.data;
      if (!(CHANNEL_STATES as readonly string[]).includes(next))
        return refuse('VALIDATION_FAILED', `Unknown channel state '${String(next)}'`, { field: 'state', allowed: CHANNEL_STATES });
      if (next === state.status) return accept([]);
      return accept([{ type: 'ChannelStateChanged', data: { ...ref, state: next, previousState: state.status, at: now } }]);
    }
    case 'SetChannelLimits': {
      const invalid = invalidLimits(command.data);
      if (invalid) return invalid;
      const limits: ChannelLimits = {
        credits: command.data.credits === undefined ? state.credits : command.data.credits,
        outgoingLimitPerDay: command.data.outgoingLimitPerDay === undefined ? state.outgoingLimitPerDay : command.data.outgoingLimitPerDay,
        sandboxLimit: command.data.sandboxLimit === undefined ? state.sandboxLimit : command.data.sandboxLimit,
      };
      if (LIMIT_FIELDS.every((field) => limits[field] === state[field])) return accept([]);
      return accept([{ type: 'ChannelLimitsSet', data: { ...ref, ...limits, at: now } }]);
    }
    case 'ReportSendFailure': {
      const { reason } = command.data;
      if (reason.trim() === '') return refuse('VALIDATION_FAILED', 'A send failure needs a reason', { field: 'reason' });
      if (state.lastSendFailure === reason) return accept([]);
      return accept([{ type: 'ChannelSendFailed', data: { ...ref, reason, at: now } }]);
    }
    case 'ClearSendFailure':
      if (state.lastSendFailure === null) return accept([]);
      return accept([{ type: 'ChannelSendRecovered', data: { ...ref, previousFailure: state.lastSendFailure, at: now } }]);
    default:
      return exhaustive(command);
  }
}

export function evolveChannel(state: ChannelRegistryState, event: ChannelEvent): ChannelRegistryState {
  if (event.type === 'ChannelCreated') {
    const { orgId, channelId, name, sandbox, credits, outgoingLimitPerDay, sandboxLimit, at } = event.data;
    return { status: 'ACTIVE', orgId, channelId, name, sandbox, credits, outgoingLimitPerDay, sandboxLimit, lastSendFailure: null, createdAt: at, updatedAt: at };
  }
  if (state.status === 'NONE' || state.status === 'DELETED') return state;
  const facts = factsOf(state);
  switch (event.type) {
    case 'ChannelStateChanged': {
      const { state: next, at } = event.data;
      return next === 'DELETED' ? { ...facts, status: next, updatedAt: at, deletedAt: at } : { ...facts, status: next, updatedAt: at };
    }
    case 'ChannelLimitsSet': {
      const { credits, outgoingLimitPerDay, sandboxLimit, at } = event.data;
      return { ...facts, status: state.status, credits, outgoingLimitPerDay, sandboxLimit, updatedAt: at };
    }
    case 'ChannelSendFailed':
      return { ...facts, status: state.status, lastSendFailure: event.data.reason, updatedAt: event.data.at };
    case 'ChannelSendRecovered':
      return { ...facts, status: state.status, lastSendFailure: null, updatedAt: event.data.at };
    default:
      return exhaustive(event);
  }
}

/** What the reply status reads from a channel; an unknown channel is null (treated as ACTIVE, not sandbox). */
export interface ReplyChannel {
  state: ChannelState;
  lastSendFailure: string | null;
  sandbox: boolean;
}

export const replyChannelOf = (state: ChannelRegistryState): ReplyChannel | null =>
  state.status === 'NONE' ? null : { state: state.status, lastSendFailure: state.lastSendFailure, sandbox: state.sandbox };

/** A channel's limits; an unknown channel has none. */
export const channelLimitsOf = (state: ChannelRegistryState): ChannelLimits =>
  state.status === 'NONE'
    ? { credits: null, outgoingLimitPerDay: null, sandboxLimit: null }
    : { credits: state.credits, outgoingLimitPerDay: state.outgoingLimitPerDay, sandboxLimit: state.sandboxLimit };

/** Channel ids are the org's own: the stream carries the org id too (`.` occurs in neither). */
export const channelStream = (orgId: string, channelId: string): string => `channel-${orgId}.${channelId}`;

export const CHANNEL_EVENT_TYPES = [
  'ChannelCreated',
  'ChannelStateChanged',
  'ChannelLimitsSet',
  'ChannelSendFailed',
  'ChannelSendRecovered',
] as const satisfies readonly ChannelEvent['type'][];
// Compile-time check that every event of the union is registered above.
const _everyChannelEventRegistered: Exclude<ChannelEvent['type'], (typeof CHANNEL_EVENT_TYPES)[number]> extends never ? true : never = true;

function factsOf(state: ChannelFacts): ChannelFacts {
  const { orgId, channelId, name, sandbox, credits, outgoingLimitPerDay, sandboxLimit, lastSendFailure, createdAt, updatedAt } = state;
  return { orgId, channelId, name, sandbox, credits, outgoingLimitPerDay, sandboxLimit, lastSendFailure, createdAt, updatedAt };
}

/** Limits are whole numbers ≥ 0, or null (unlimited); undefined (not given) passes. */
function invalidLimits(limits: Partial<ChannelLimits>): ChannelDecision | null {
  for (const field of LIMIT_FIELDS) {
    const value = limits[field];
    if (value === undefined || value === null) continue;
    if (!isCount(value))
      return refuse('VALIDATION_FAILED', `${field} must be a whole number ≥ 0, or null for unlimited`, { field, value });
  }
  return null;
}
