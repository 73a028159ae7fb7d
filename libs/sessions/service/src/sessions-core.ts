import type { BrandCheck } from './brand-check.js';
import type { VariablesCheck } from './variables-check.js';
import type { StartSessionResponse, VisitorTokenResponse } from '@svp/contracts';
import type {
  AssigneeType,
  ChannelView,
  EndReason,
  ListSessionsQuery,
  NameValue,
  ReplyStatus,
  SessionEventBody,
  SessionView,
} from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import { quoteIdent, type SqlClient } from '@svp/postgres';
import type { ProjectionRunner } from '@svp/projections';
import {
  type ChannelCommand,
  type ChannelEvent,
  type ChannelRegistryState,
  DEFAULT_SESSION_TIMEOUTS,
  type SessionCommand,
  type SessionEvent,
  type SessionSettingsCommand,
  type SessionSettingsEvent,
  type SessionSettingsState,
  type SessionState,
  type SessionTimeouts,
  type ReplyActor,
  UNLIMITED_USAGE,
  channelLimitsOf,
  channelStream,
  decideChannel,
  decideSession,
  decideSessionSettings,
  evolveChannel,
  evolveSession,
  evolveSessionSettings,
  initialChannelState,
  initialSessionSettingsState,
  initialSessionState,
  replyChannelOf,
  replyStatusOf,
  sessionSettingsStream,
  sessionStream,
} from '@svp/sessions-domain';
import { AppError, type CommandRunner, type Decider, type DocumentReader, type ServiceMetrics, type VisitorTokens, commandRunner, randomId, waitForProjection } from '@svp/service-kit';
import { z } from 'zod';
import { type ChannelDoc, type SessionDoc, type SettingsDoc, channelUsage } from './projections.js';

const sessionDecider: Decider<SessionCommand, SessionState, SessionEvent> = {
  initial: initialSessionState,
  evolve: evolveSession,
  decide: decideSession,
};
const channelDecider: Decider<ChannelCommand, ChannelRegistryState, ChannelEvent> = {
  initial: initialChannelState,
  evolve: evolveChannel,
  decide: decideChannel,
};
const settingsDecider: Decider<SessionSettingsCommand, SessionSettingsState, SessionSettingsEvent> = {
  initial: initialSessionSettingsState,
  evolve: evolveSessionSettings,
  decide: decideSessionSettings,
};

export interface SessionsReaders {
  channels: DocumentReader<ChannelDoc>;
  settings: DocumentReader<SettingsDoc>;
}

export interface SessionsCoreDeps {
  store: EventStore;
  sql: SqlClient;
  runner: ProjectionRunner;
  readers: SessionsReaders;
  /** The variables service's check of initial variables. */
  variablesCheck?: VariablesCheck;
  /** Whether a brand named at start is the org's own (identity knows the brands). */
  brandCheck?: BrandCheck;
  /** Mints the visitor token each session start answers with. */
  visitorTokens?: VisitorTokens;
  /** How long a visitor token lasts, in seconds. Default 900. */
  visitorTokenTtlSeconds?: number;
  /** Where the commands are counted (svp_commands_total, svp_command_duration_seconds). */
  metrics?: ServiceMetrics;
  now?: () => Date;
}

/** How long an expired visitor token still proves its visitor to a new session (a returning visitor). */
export const VISITOR_TOKEN_PROOF_SECONDS = 30 * 86_400;

/** Who starts a session: a key that may choose the visitor (sessions:write), or a widget key that must prove it. */
export interface Starter {
  orgId: string;
  /** The caller's credential, for the variables service's check of the initial variables. */
  apiKey?: string;
  /** A widget key: it cannot name a visitor, only prove one with a visitor token. */
  widgetOnly: boolean;
}

/**
 * The sessions service's use cases, framework-free (the controllers are thin HTTP adapters): commands
 * go through the pure deciders and are appended with the revision read; reads answer from the
 * projections once they hold the write (read-your-writes). The reply status is derived at read time
 * from the session, its channel and the channel's usage.
 */
export class SessionsCore {
  private readonly now: () => Date;
  private readonly run: CommandRunner;

  constructor(private readonly deps: SessionsCoreDeps) {
    this.now = deps.now ?? (() => new Date());
    this.run = commandRunner(deps.store, deps.metrics);
  }

  // ── sessions ───────────────────────────────────────────────────────────────────────────────

  async startSession(
    starter: Starter,
    body: { channelId: string; visitorId?: string; brandId?: string; sessionVariableValues?: NameValue[]; visitorToken?: string },
    correlationId?: string,
  ): Promise<StartSessionResponse> {
    const { orgId, widgetOnly, apiKey: credential } = starter;
    const visitorId = await this.visitorOf(orgId, body, widgetOnly);
    // A brand named must be one of the org's own: another org's brand id must not ride on this org's sessions.
    if (body.brandId !== undefined && this.deps.brandCheck) {
      if (!credential) throw new AppError('UNAUTHENTICATED', 'A session naming a brand needs the caller\'s API key to check the brand', { field: 'brandId' });
      await this.deps.brandCheck.assertOwnBrand(credential, orgId, body.brandId);
    }
    // Initial variables the variables service would refuse are this request's error, before any session exists.
    if (credential && this.deps.variablesCheck && body.sessionVariableValues && body.sessionVariableValues.length > 0)
      await this.deps.variablesCheck.check(credential, body.sessionVariableValues);
    const sessionId = randomId('ses');
    const { position } = await this.run(
      sessionStream(orgId, sessionId),
      sessionDecider,
      {
        type: 'StartSession',
        data: {
          orgId,
          sessionId,
          channelId: body.channelId,
          visitorId,
          ...(body.brandId ? { brandId: body.brandId } : {}),
          sessionVariableValues: body.sessionVariableValues ?? [],
          now: this.iso(),
        },
      },
      meta(orgId, correlationId),
    );
    await this.waitFor('sessions', position);
    const token = await this.mintVisitorToken(orgId, sessionId, visitorId);
    return { sessionId, visitorId, sessionStatus: 'CREATED', visitorToken: token.token, visitorTokenExpiresAt: token.expiresAt };
  }

  /**
   * The visitor of a new session: the one the caller names (a key with sessions:write may), the one a
   * visitor token of an earlier session proves (how a browser keeps its visitor), or a new one. A
   * widget key cannot name a visitor: anyone can read it from a page, and with it read that visitor.
   */
  private async visitorOf(orgId: string, body: { visitorId?: string; visitorToken?: string }, widgetOnly: boolean): Promise<string> {
    if (body.visitorToken !== undefined) {
      const proof = await this.deps.visitorTokens?.verify(body.visitorToken, { now: this.now(), acceptExpiredForSeconds: VISITOR_TOKEN_PROOF_SECONDS });
      if (!proof || proof.orgId !== orgId)
        throw new AppError('UNAUTHENTICATED', 'The visitor token does not prove a visitor of this org (tampered, another org\'s, or older than 30 days)', { field: 'visitorToken' });
      if (body.visitorId !== undefined && body.visitorId !== proof.visitorId)
        throw new AppError('VALIDATION_FAILED', 'visitorId and the visitor token name different visitors', { field: 'visitorId' });
      // A proof is only as good as its session: one the visitor logged out of (the previous user's
      // data must not come back), one that was blocked, or one erased with its visitor proves nobody.
      const earlier = await this.sessionDoc(orgId, proof.sessionId);
      const refusal = !earlier
        ? { reason: 'SESSION_GONE', why: 'is gone (erased)' }
        : earlier.sessionStatus === 'BLOCKED' || (earlier.sessionStatus === 'ENDED' && earlier.endReason === 'blocked')
          ? { reason: 'SESSION_BLOCKED', why: 'was blocked' }
          : earlier.sessionStatus === 'ENDED' && earlier.endReason === 'logout'
            ? { reason: 'LOGGED_OUT', why: 'ended with a logout' }
            : undefined;
      if (refusal) throw new AppError('UNAUTHENTICATED', `The visitor token no longer proves its visitor: its session ${refusal.why}`, { field: 'visitorToken', reason: refusal.reason });
      return proof.visitorId;
    }
    if (body.visitorId !== undefined) {
      if (widgetOnly)
        throw new AppError('FORBIDDEN', 'A widget key cannot name a visitor: pass the visitor token of an earlier session instead (visitorToken)', { field: 'visitorId' });
      return body.visitorId;
    }
    return randomId('vis');
  }

  private async mintVisitorToken(orgId: string, sessionId: string, visitorId: string): Promise<{ token: string; expiresAt: string }> {
    if (!this.deps.visitorTokens) throw new AppError('SERVICE_UNAVAILABLE', 'Visitor tokens are not configured (SIGNING_SECRETS_KEY or PLATFORM_ROOT_TOKEN)');
    return this.deps.visitorTokens.mint({ orgId, sessionId, visitorId }, this.deps.visitorTokenTtlSeconds ?? 900, this.now());
  }

  /** A fresh visitor token for a live session (an ended or blocked one gets none: 409). */
  async refreshVisitorToken(orgId: string, sessionId: string): Promise<VisitorTokenResponse> {
    const doc = await this.sessionDoc(orgId, sessionId);
    if (!doc) throw new AppError('NOT_FOUND', `Session ${sessionId} not found`, { sessionId });
    if (doc.sessionStatus === 'ENDED' || doc.sessionStatus === 'BLOCKED')
      throw new AppError('CONFLICT', `Session ${sessionId} is ${doc.sessionStatus}: its visitor token is not renewed`, { currentStatus: doc.sessionStatus });
    const token = await this.mintVisitorToken(orgId, sessionId, doc.visitorId);
    return { sessionId, visitorId: doc.visitorId, visitorToken: token.token, visitorTokenExpiresAt: token.expiresAt };
  }

  /** Several sessions at once (the gateway's batches): each, or null when the org has no such session. */
  async getSessions(orgId: string, sessionIds: readonly string[]): Promise<(SessionView | null)[]> {
    return Promise.all(
      sessionIds.map(async (sessionId) => {
        const doc = await this.sessionDoc(orgId, sessionId);
        return doc ? this.view(doc, await this.replyStatus(doc)) : null;
      }),
    );
  }

  async getSession(orgId: string, sessionId: string): Promise<SessionView> {
    const doc = await this.sessionDoc(orgId, sessionId);
    if (!doc) throw new AppError('NOT_FOUND', `Session ${sessionId} not found`, { sessionId });
    return this.view(doc, await this.replyStatus(doc));
  }

  async listSessions(orgId: string, query: ListSessionsQuery): Promise<{ sessions: SessionView[]; nextCursor: string | null }> {
    const table = quoteIdent(await this.deps.runner.activeTable('sessions'));
    const where = ['org_id = $1'];
    const params: unknown[] = [orgId];
    const add = (clause: string, value: unknown) => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (query.status) add('status = ?', query.status);
    if (query.channelId) add('channel_id = ?', query.channelId);
    if (query.assigneeId) add('assignee_id = ?', query.assigneeId);
    if (query.startedFrom) add('started_at >= ?::timestamptz', query.startedFrom);
    if (query.startedTo) add('started_at < ?::timestamptz', query.startedTo);
    if (query.cursor) {
      const cursor = decodeCursor(query.cursor);
      params.push(cursor.startedAt, cursor.sessionId);
      where.push(`(started_at, session_id) < ($${params.length - 1}::timestamptz, $${params.length})`);
    }
    params.push(query.limit + 1);
    const { rows } = await this.deps.sql.query<{ doc: SessionDoc }>(
      `SELECT doc FROM ${table} WHERE ${where.join(' AND ')} ORDER BY started_at DESC, session_id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, query.limit).map((r) => r.doc);
    const sessions = await Promise.all(page.map(async (doc) => this.view(doc, await this.replyStatus(doc))));
    const last = page.at(-1);
    return { sessions, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
  }

  /** POST /v1/sessions/{id}/events: drives the lifecycle; answers the session after the change. */
  async applyEvent(orgId: string, sessionId: string, body: SessionEventBody, correlationId?: string): Promise<SessionView> {
    const now = this.iso();
    const ref = { orgId, sessionId, now };
    let command: SessionCommand;
    switch (body.type) {
      case 'ROUTED':
        command = { type: 'Route', data: ref };
        break;
      case 'ASSIGNED':
        command = { type: 'Assign', data: { ...ref, assigneeId: body.assigneeId, assigneeType: body.assigneeType } };
        break;
      case 'HOLD':
        command = { type: 'Hold', data: ref };
        break;
      case 'END':
        command = { type: 'End', data: { ...ref, reason: body.reason } };
        break;
      case 'BLOCK':
        command = { type: 'Block', data: ref };
        break;
      case 'PRESENCE':
        command = { type: 'SetVisitorPresence', data: { ...ref, online: body.online } };
        break;
      case 'MESSAGE':
        if (body.from === 'VISITOR') {
          command = { type: 'RecordMessage', data: { ...ref, from: 'VISITOR', ...(body.actorId ? { actorId: body.actorId } : {}) } };
        } else {
          // The reply status comes from the channel and its usage, read before deciding.
          const doc = await this.sessionDoc(orgId, sessionId);
          const replyStatus = doc ? await this.replyStatus(doc, { type: body.from, ...(body.actorId ? { id: body.actorId } : {}) }) : 'ACCEPTED';
          command = { type: 'RecordMessage', data: { ...ref, from: body.from, ...(body.actorId ? { actorId: body.actorId } : {}), replyStatus } };
        }
        break;
    }
    const { position } = await this.run(sessionStream(orgId, sessionId), sessionDecider, command, meta(orgId, correlationId));
    await this.waitFor('sessions', position);
    // An agent's or bot's message counts against the channel's limits: the next check sees it.
    if (body.type === 'MESSAGE' && body.from !== 'VISITOR') await this.waitFor('channel_usage', position);
    return this.getSession(orgId, sessionId);
  }

  async replyStatusFor(orgId: string, sessionId: string, actor?: { id?: string; type?: AssigneeType }): Promise<ReplyStatus> {
    const doc = await this.sessionDoc(orgId, sessionId);
    if (!doc) throw new AppError('NOT_FOUND', `Session ${sessionId} not found`, { sessionId });
    // An actor named by id only is taken as the assignee's type (an agent unless the assignee is a bot).
    const resolved: ReplyActor | undefined =
      actor?.id || actor?.type ? { type: actor.type ?? doc.assignee?.type ?? 'AGENT', ...(actor.id ? { id: actor.id } : {}) } : undefined;
    return this.replyStatus(doc, resolved);
  }

  /** A timer fired (see the timer worker): the decider ignores a stale one. */
  async fireTimer(timer: { kind: string; orgId: string; sessionId: string; activity?: number; expiredAt?: string }): Promise<void> {
    const ref = { orgId: timer.orgId, sessionId: timer.sessionId, now: this.iso() };
    const command: SessionCommand =
      timer.kind === 'expire'
        ? { type: 'Expire', data: { ...ref, activity: timer.activity ?? -1 } }
        : { type: 'EndExpired', data: { ...ref, expiredAt: timer.expiredAt ?? '' } };
    try {
      await this.run(sessionStream(timer.orgId, timer.sessionId), sessionDecider, command, { orgId: timer.orgId, cause: `timer:${timer.kind}` });
    } catch (error) {
      // The session is gone (erased with its visitor): nothing to expire.
      if (error instanceof AppError && error.code === 'NOT_FOUND') return;
      throw error;
    }
  }

  // ── channels ───────────────────────────────────────────────────────────────────────────────

  async createChannel(
    orgId: string,
    body: { channelId: string; name: string; sandbox: boolean; credits: number | null; outgoingLimitPerDay: number | null; sandboxLimit: number | null },
  ): Promise<ChannelView> {
    await this.channelCommand(orgId, body.channelId, { type: 'CreateChannel', data: { orgId, ...body, now: this.iso() } });
    return this.getChannel(orgId, body.channelId);
  }

  async updateChannel(
    orgId: string,
    channelId: string,
    body: { state?: ChannelDoc['status']; credits?: number | null; outgoingLimitPerDay?: number | null; sandboxLimit?: number | null },
  ): Promise<ChannelView> {
    const { state, ...limits } = body;
    if (Object.keys(limits).length > 0)
      await this.channelCommand(orgId, channelId, { type: 'SetChannelLimits', data: { orgId, channelId, ...limits, now: this.iso() } });
    if (state) await this.channelCommand(orgId, channelId, { type: 'ChangeChannelState', data: { orgId, channelId, state, now: this.iso() } });
    return this.getChannel(orgId, channelId);
  }

  async reportSendFailure(orgId: string, channelId: string, reason: string | null): Promise<ChannelView> {
    const now = this.iso();
    await this.channelCommand(
      orgId,
      channelId,
      reason === null ? { type: 'ClearSendFailure', data: { orgId, channelId, now } } : { type: 'ReportSendFailure', data: { orgId, channelId, reason, now } },
    );
    return this.getChannel(orgId, channelId);
  }

  async getChannel(orgId: string, channelId: string): Promise<ChannelView> {
    const doc = await this.deps.readers.channels.get(`${orgId}.${channelId}`);
    if (!doc) throw new AppError('NOT_FOUND', `Channel ${channelId} not found`, { channelId });
    const limits = channelLimitsOf(doc);
    return {
      channelId,
      name: doc.name,
      state: doc.status,
      sandbox: doc.sandbox,
      ...limits,
      lastSendFailure: doc.lastSendFailure,
      usage: await channelUsage(this.deps.sql, await this.deps.runner.activeTable('channel_usage'), orgId, channelId, this.now()),
    };
  }

  // ── settings ───────────────────────────────────────────────────────────────────────────────

  async setTimeouts(orgId: string, timeouts: SessionTimeouts): Promise<SessionTimeouts> {
    const { position } = await this.run(
      sessionSettingsStream(orgId),
      settingsDecider,
      { type: 'SetSessionTimeouts', data: { orgId, ...timeouts, now: this.iso() } },
      { orgId },
    );
    await this.deps.readers.settings.waitFor(position);
    await this.waitFor('session_timers', position);
    return this.timeouts(orgId);
  }

  async timeouts(orgId: string): Promise<SessionTimeouts> {
    const doc = await this.deps.readers.settings.get(orgId);
    return doc ? { inactivityTimeoutSeconds: doc.inactivityTimeoutSeconds, expiredEndAfterSeconds: doc.expiredEndAfterSeconds } : { ...DEFAULT_SESSION_TIMEOUTS };
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────────

  private async channelCommand(orgId: string, channelId: string, command: ChannelCommand): Promise<void> {
    const { position } = await this.run(channelStream(orgId, channelId), channelDecider, command, { orgId });
    await this.deps.readers.channels.waitFor(position);
  }

  private async sessionDoc(orgId: string, sessionId: string): Promise<SessionDoc | undefined> {
    const table = quoteIdent(await this.deps.runner.activeTable('sessions'));
    const { rows } = await this.deps.sql.query<{ doc: SessionDoc }>(`SELECT doc FROM ${table} WHERE org_id = $1 AND session_id = $2`, [orgId, sessionId]);
    return rows[0]?.doc;
  }

  private async replyStatus(doc: SessionDoc, actor?: ReplyActor): Promise<ReplyStatus> {
    const channel = await this.deps.readers.channels.get(`${doc.orgId}.${doc.channelId}`);
    const usage = channel
      ? { ...channelLimitsOf(channel), ...(await channelUsage(this.deps.sql, await this.deps.runner.activeTable('channel_usage'), doc.orgId, doc.channelId, this.now())) }
      : UNLIMITED_USAGE;
    return replyStatusOf({
      session: { status: doc.sessionStatus, assignee: doc.assignee, expiredAt: doc.expiredAt, visitorOnline: doc.visitorOnline },
      ...(actor ? { actor } : {}),
      channel: channel ? replyChannelOf(channel) : null,
      usage,
    });
  }

  private view(doc: SessionDoc, replyStatus: ReplyStatus): SessionView {
    return {
      sessionId: doc.sessionId,
      orgId: doc.orgId,
      channelId: doc.channelId,
      visitorId: doc.visitorId,
      ...(doc.brandId ? { brandId: doc.brandId } : {}),
      sessionStatus: doc.sessionStatus,
      sessionOldStatus: doc.sessionOldStatus,
      replyStatus,
      currentAssigneeId: doc.assignee?.id ?? null,
      assigneeType: doc.assignee?.type ?? null,
      messagesCount: doc.messagesCount,
      startedAt: doc.startedAt,
      ...(doc.endedAt ? { endedAt: doc.endedAt } : {}),
      ...(doc.endReason ? { endReason: doc.endReason as EndReason } : {}),
      expiredAt: doc.expiredAt,
      lastActivityAt: doc.lastActivityAt,
      visitorOnline: doc.visitorOnline,
    };
  }

  private waitFor(projection: string, position: bigint): Promise<void> {
    return waitForProjection(this.deps.runner, projection, position);
  }

  private iso(): string {
    return this.now().toISOString();
  }
}

const meta = (orgId: string, correlationId?: string) => ({ orgId, ...(correlationId ? { correlationId } : {}) });

function encodeCursor(doc: SessionDoc): string {
  return Buffer.from(JSON.stringify([doc.startedAt, doc.sessionId])).toString('base64url');
}

function decodeCursor(cursor: string): { startedAt: string; sessionId: string } {
  try {
    const [startedAt, sessionId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (z.iso.datetime({ offset: true }).safeParse(startedAt).success && typeof sessionId === 'string') return { startedAt: startedAt as string, sessionId };
  } catch {
    // fall through
  }
  throw new AppError('VALIDATION_FAILED', 'Invalid cursor: pass the nextCursor of a previous page');
}
