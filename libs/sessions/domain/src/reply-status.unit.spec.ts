import { ReplyStatus as ReplyStatusSchema, type ReplyStatus } from '@svp/contracts';
import type { ChannelState } from './channel.js';
import {
  REPLY_STATUS_PRECEDENCE,
  type ReplySession,
  type ReplyStatusInput,
  type ReplyUsage,
  UNLIMITED_USAGE,
  isAssignee,
  replyStatusOf,
  sessionReplyStatus,
} from './reply-status.js';

// Reply status, by source: the session, the channel, the assignment, the limits, the visitor; then the
// precedence between sources, and every one of the 19 values produced by some input.

const agent1 = { id: 'agent_1', type: 'AGENT' as const };
const assigned: ReplySession = { status: 'ON_PROGRESS', assignee: agent1, expiredAt: null, visitorOnline: true };
const active = { state: 'ACTIVE' as ChannelState, lastSendFailure: null, sandbox: false };
const input = (over: Partial<ReplyStatusInput> = {}): ReplyStatusInput => ({ session: assigned, actor: agent1, channel: active, usage: UNLIMITED_USAGE, ...over });
const usage = (over: Partial<ReplyUsage>): ReplyUsage => ({ ...UNLIMITED_USAGE, ...over });

describe('reply status', () => {
  it('ranks all 19 reply statuses of the contract once', () => {
    expect(REPLY_STATUS_PRECEDENCE).toHaveLength(19);
    expect([...REPLY_STATUS_PRECEDENCE].sort()).toEqual([...ReplyStatusSchema.options].sort());
  });

  describe('from the session', () => {
    it.each<[string, Partial<ReplySession>, ReplyStatus]>([
      ['ended', { status: 'ENDED' }, 'SESSION_ENDED'],
      ['blocked', { status: 'BLOCKED' }, 'SESSION_BLOCKED'],
      ['expired', { expiredAt: '2026-11-21T10:00:00.000Z' }, 'SESSION_EXPIRED'],
      ['ON_HOLD with its assignee', { status: 'ON_HOLD' }, 'ACCEPTED'],
      ['ON_PROGRESS with its assignee', {}, 'ACCEPTED'],
    ])('%s → %s', (_name, session, expected) => {
      expect(replyStatusOf(input({ session: { ...assigned, ...session } }))).toBe(expected);
    });
  });

  describe('from the channel', () => {
    it.each<[ChannelState, ReplyStatus]>([
      ['ACTIVE', 'ACCEPTED'],
      ['DELETED', 'CHANNEL_DELETED'],
      ['REVOKED', 'CHANNEL_REVOKED'],
      ['INACTIVE', 'CHANNEL_INACTIVE'],
      ['PAGE_REMOVED', 'PAGE_REMOVED'],
      ['ACCESSTOKEN_EXPIRED', 'ACCESSTOKEN_EXPIRED'],
      ['PERMISSION_REVOKED', 'PERMISSION_REVOKED'],
      ['CONFIG_SKIPPED', 'CONFIG_SKIPPED_CHANNEL'],
      ['ASSIGNED_TO_OTHER_SERVICE', 'ASSIGNED_TO_OTHER_SERVICE'],
    ])('state %s → %s', (state, expected) => {
      expect(replyStatusOf(input({ channel: { ...active, state } }))).toBe(expected);
    });

    it('a reported send failure → UNEXPECTED_ERROR', () => {
      expect(replyStatusOf(input({ channel: { ...active, lastSendFailure: 'HTTP 500 from the provider' } }))).toBe('UNEXPECTED_ERROR');
    });

    it('a channel state wins over a send failure', () => {
      expect(replyStatusOf(input({ channel: { state: 'REVOKED', lastSendFailure: 'boom', sandbox: false } }))).toBe('CHANNEL_REVOKED');
    });

    it('an unknown channel counts as ACTIVE and not sandbox', () => {
      expect(replyStatusOf(input({ channel: null }))).toBe('ACCEPTED');
      expect(replyStatusOf(input({ channel: null, usage: usage({ sandboxLimit: 0 }) }))).toBe('ACCEPTED');
    });
  });

  describe('from the assignment', () => {
    it.each<[string, Partial<ReplyStatusInput>, ReplyStatus]>([
      ['nobody assigned, an actor', { session: { ...assigned, status: 'OPEN', assignee: null } }, 'UNASSIGNED'],
      ['nobody assigned, no actor', { session: { ...assigned, status: 'CREATED', assignee: null }, actor: undefined }, 'UNASSIGNED'],
      ['another agent', { actor: { id: 'agent_2', type: 'AGENT' } }, 'NOT_AN_ASSIGNEE'],
      ['a bot with the assignee agent\'s id', { actor: { id: 'agent_1', type: 'BOT' } }, 'NOT_AN_ASSIGNEE'],
      ['an actor without an id', { actor: { type: 'AGENT' } }, 'ACCEPTED'],
      ['no actor (can anyone reply?)', { actor: undefined }, 'ACCEPTED'],
      ['the assignee', {}, 'ACCEPTED'],
    ])('%s → %s', (_name, over, expected) => {
      expect(replyStatusOf(input(over))).toBe(expected);
    });

    it('isAssignee matches id and type, and takes an actor of the same type without an id for the assignee', () => {
      expect(isAssignee(agent1, { id: 'agent_1', type: 'AGENT' })).toBe(true);
      expect(isAssignee(agent1, { id: 'agent_1', type: 'BOT' })).toBe(false);
      expect(isAssignee(agent1, { type: 'AGENT' })).toBe(true);
      // A bot without an id is not the assigned agent.
      expect(isAssignee(agent1, { type: 'BOT' })).toBe(false);
      expect(isAssignee(null, { type: 'AGENT' })).toBe(false);
    });
  });

  describe('from the limits', () => {
    it.each<[string, Partial<ReplyUsage>, boolean, ReplyStatus]>([
      ['credits used up', { credits: 10, creditsUsed: 10 }, false, 'CREDIT_EXHAUSTED'],
      ['credits left', { credits: 10, creditsUsed: 9 }, false, 'ACCEPTED'],
      ['no credits at all', { credits: 0 }, false, 'CREDIT_EXHAUSTED'],
      ['unlimited credits', { credits: null, creditsUsed: 1_000_000 }, false, 'ACCEPTED'],
      ['today\'s outbound limit reached', { outgoingLimitPerDay: 100, outgoingToday: 100 }, false, 'OUTGOING_LIMIT_REACHED'],
      ['today\'s outbound limit not reached', { outgoingLimitPerDay: 100, outgoingToday: 99 }, false, 'ACCEPTED'],
      ['a sandbox channel\'s quota reached', { sandboxLimit: 50, sandboxUsed: 50 }, true, 'SANDBOX_LIMIT_REACHED'],
      ['a sandbox channel under its quota', { sandboxLimit: 50, sandboxUsed: 49 }, true, 'ACCEPTED'],
      ['a live channel past the sandbox quota', { sandboxLimit: 50, sandboxUsed: 50 }, false, 'ACCEPTED'],
      ['credits and the daily limit both used up', { credits: 1, creditsUsed: 1, outgoingLimitPerDay: 1, outgoingToday: 1 }, false, 'CREDIT_EXHAUSTED'],
      ['the daily limit and the sandbox quota both reached', { outgoingLimitPerDay: 1, outgoingToday: 1, sandboxLimit: 1, sandboxUsed: 1 }, true, 'OUTGOING_LIMIT_REACHED'],
    ])('%s → %s', (_name, over, sandbox, expected) => {
      expect(replyStatusOf(input({ usage: usage(over), channel: { ...active, sandbox } }))).toBe(expected);
    });
  });

  describe('from the visitor', () => {
    it('an offline visitor → ENDUSER_OFFLINE; online → ACCEPTED', () => {
      expect(replyStatusOf(input({ session: { ...assigned, visitorOnline: false } }))).toBe('ENDUSER_OFFLINE');
      expect(replyStatusOf(input())).toBe('ACCEPTED');
    });
  });

  describe('precedence between sources', () => {
    const everythingWrong: ReplyStatusInput = {
      session: { status: 'ENDED', assignee: null, expiredAt: '2026-11-21T10:00:00.000Z', visitorOnline: false },
      actor: { id: 'agent_2', type: 'AGENT' },
      channel: { state: 'DELETED', lastSendFailure: 'boom', sandbox: true },
      usage: { credits: 0, creditsUsed: 0, outgoingLimitPerDay: 0, outgoingToday: 0, sandboxLimit: 0, sandboxUsed: 0 },
    };
    // Fix one cause at a time, from the first in precedence: each time the next one shows.
    const fixes: [ReplyStatus, (i: ReplyStatusInput) => ReplyStatusInput][] = [
      ['SESSION_ENDED', (i) => ({ ...i, session: { ...i.session, status: 'BLOCKED' } })],
      ['SESSION_BLOCKED', (i) => ({ ...i, session: { ...i.session, status: 'OPEN' } })],
      ['SESSION_EXPIRED', (i) => ({ ...i, session: { ...i.session, expiredAt: null } })],
      ['CHANNEL_DELETED', (i) => ({ ...i, channel: { ...i.channel!, state: 'ACTIVE' } })],
      ['UNEXPECTED_ERROR', (i) => ({ ...i, channel: { ...i.channel!, lastSendFailure: null } })],
      ['UNASSIGNED', (i) => ({ ...i, session: { ...i.session, status: 'ON_HOLD', assignee: agent1 } })],
      ['NOT_AN_ASSIGNEE', (i) => ({ ...i, actor: agent1 })],
      ['CREDIT_EXHAUSTED', (i) => ({ ...i, usage: { ...i.usage, credits: null } })],
      ['OUTGOING_LIMIT_REACHED', (i) => ({ ...i, usage: { ...i.usage, outgoingLimitPerDay: null } })],
      ['SANDBOX_LIMIT_REACHED', (i) => ({ ...i, usage: { ...i.usage, sandboxLimit: null } })],
      ['ENDUSER_OFFLINE', (i) => ({ ...i, session: { ...i.session, visitorOnline: true } })],
    ];

    it('follows the documented order, one cause after the other, down to ACCEPTED', () => {
      let current = everythingWrong;
      const seen: ReplyStatus[] = [];
      for (const [, fix] of fixes) {
        seen.push(replyStatusOf(current));
        current = fix(current);
      }
      seen.push(replyStatusOf(current));
      expect(seen).toEqual([...fixes.map(([status]) => status), 'ACCEPTED']);
      // The same order as REPLY_STATUS_PRECEDENCE (which also ranks the channel states among themselves).
      expect(seen).toEqual(REPLY_STATUS_PRECEDENCE.filter((s) => seen.includes(s)));
    });

    it('the channel comes before the assignment: a stranger hears the channel is gone', () => {
      expect(replyStatusOf(input({ actor: { id: 'agent_2', type: 'AGENT' }, channel: { ...active, state: 'INACTIVE' } }))).toBe('CHANNEL_INACTIVE');
    });

    it('the assignment comes before the limits: a stranger does not hear about credits', () => {
      expect(replyStatusOf(input({ actor: { id: 'agent_2', type: 'AGENT' }, usage: usage({ credits: 0 }) }))).toBe('NOT_AN_ASSIGNEE');
    });
  });

  it('produces every one of the 19 values from some input', () => {
    const samples: ReplyStatusInput[] = [
      input(),
      input({ channel: { ...active, state: 'INACTIVE' } }),
      input({ channel: { ...active, state: 'REVOKED' } }),
      input({ session: { ...assigned, status: 'ENDED' } }),
      input({ session: { ...assigned, status: 'BLOCKED' } }),
      input({ session: { ...assigned, expiredAt: '2026-11-21T10:00:00.000Z' } }),
      input({ session: { ...assigned, status: 'OPEN', assignee: null } }),
      input({ actor: { id: 'agent_2', type: 'AGENT' } }),
      input({ usage: usage({ credits: 0 }) }),
      input({ channel: { ...active, state: 'ACCESSTOKEN_EXPIRED' } }),
      input({ channel: { ...active, state: 'PERMISSION_REVOKED' } }),
      input({ channel: { ...active, lastSendFailure: 'timeout' } }),
      input({ channel: { ...active, state: 'PAGE_REMOVED' } }),
      input({ channel: { ...active, sandbox: true }, usage: usage({ sandboxLimit: 0 }) }),
      input({ channel: { ...active, state: 'DELETED' } }),
      input({ session: { ...assigned, visitorOnline: false } }),
      input({ channel: { ...active, state: 'CONFIG_SKIPPED' } }),
      input({ usage: usage({ outgoingLimitPerDay: 0 }) }),
      input({ channel: { ...active, state: 'ASSIGNED_TO_OTHER_SERVICE' } }),
    ];
    expect(new Set(samples.map(replyStatusOf))).toEqual(new Set(ReplyStatusSchema.options));
  });

  it('sessionReplyStatus is the session\'s own part: it ignores the channel, the limits and the visitor', () => {
    expect(sessionReplyStatus({ ...assigned, visitorOnline: false }, agent1)).toBe('ACCEPTED');
    expect(sessionReplyStatus({ ...assigned, status: 'ENDED' }, agent1)).toBe('SESSION_ENDED');
    expect(sessionReplyStatus({ ...assigned, expiredAt: 'x' })).toBe('SESSION_EXPIRED');
    expect(sessionReplyStatus({ ...assigned, status: 'OPEN', assignee: null })).toBe('UNASSIGNED');
    expect(sessionReplyStatus(assigned, { id: 'bot_1', type: 'BOT' })).toBe('NOT_AN_ASSIGNEE');
  });
});
