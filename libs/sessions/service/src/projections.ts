import type { EndReason, SessionStatus } from '@svp/contracts';
import { quoteIdent, type SqlExecutor } from '@svp/postgres';
import { type ProjectedEvent, defineDocumentProjection, defineProjection } from '@svp/projections';
import {
  type Assignee,
  type ChannelEvent,
  type ChannelRegistryState,
  DEFAULT_SESSION_TIMEOUTS,
  type SessionEvent,
  type SessionSettingsEvent,
  type SessionTimeouts,
  SESSION_EVENT_TYPES,
  evolveChannel,
  initialChannelState,
  sessionTimerAfter,
  snapshotOf,
} from '@svp/sessions-domain';
import type { TimerStore } from '@svp/service-kit';
import { SESSIONS_ERASED, erasedSessions } from './erasure.js';

/** One session as reads show it (GET /v1/sessions/{id} and the list), without the derived reply status. */
export interface SessionDoc {
  orgId: string;
  sessionId: string;
  channelId: string;
  visitorId: string;
  brandId?: string;
  sessionStatus: SessionStatus;
  sessionOldStatus: SessionStatus | null;
  assignee: Assignee | null;
  messagesCount: number;
  startedAt: string;
  lastActivityAt: string;
  expiredAt: string | null;
  visitorOnline: boolean;
  endedAt?: string;
  endReason?: EndReason;
}

/** The pure evolution of a session's read document: every lifecycle event carries its snapshot. */
export function evolveSessionDoc(doc: SessionDoc | null, event: SessionEvent): SessionDoc | null {
  const { orgId, sessionId, at } = event.data;
  const snapshot = snapshotOf(event);
  if (event.type === 'SessionStarted') {
    const d = event.data;
    return {
      orgId,
      sessionId,
      channelId: d.channelId,
      visitorId: d.visitorId,
      ...(d.brandId ? { brandId: d.brandId } : {}),
      sessionStatus: d.sessionStatus,
      sessionOldStatus: d.sessionOldStatus,
      assignee: d.assignee,
      messagesCount: d.messagesCount,
      startedAt: at,
      lastActivityAt: at,
      expiredAt: null,
      visitorOnline: true,
    };
  }
  if (!doc) return null;
  if (snapshot) {
    const next: SessionDoc = {
      ...doc,
      sessionStatus: snapshot.sessionStatus,
      sessionOldStatus: snapshot.sessionOldStatus,
      assignee: snapshot.assignee,
      messagesCount: snapshot.messagesCount,
      lastActivityAt: at,
    };
    if (event.type === 'SessionEnded') return { ...next, expiredAt: null, endedAt: at, endReason: event.data.reason };
    if (event.type === 'SessionBlocked') return { ...next, expiredAt: null, endedAt: at, endReason: 'blocked' };
    return next;
  }
  switch (event.type) {
    case 'SessionExpired':
      return { ...doc, expiredAt: at };
    case 'SessionResumed':
      return { ...doc, expiredAt: null };
    case 'VisitorPresenceChanged':
      return { ...doc, visitorOnline: event.data.online };
    default:
      return doc;
  }
}

type SessionProjected = ProjectedEvent<SessionEvent['type'], SessionEvent['data']>;
const asSessionEvent = (e: SessionProjected) => ({ type: e.type, data: e.data }) as SessionEvent;

/**
 * The sessions read model: a row per org and session with the columns the list filters on, and the
 * document. A custom projection because the list needs SQL filters and keyset pagination.
 */
export const sessionsProjection = defineProjection<SessionProjected>({
  name: 'sessions',
  version: 1,
  // SessionsErased: a visitor's erasure drops their sessions (their streams are deleted next).
  canHandle: [...SESSION_EVENT_TYPES, SESSIONS_ERASED as SessionEvent['type']],
  async setup(tx, table) {
    const t = quoteIdent(table);
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS ${t} (
        org_id text NOT NULL,
        session_id text NOT NULL,
        status text NOT NULL,
        channel_id text NOT NULL,
        assignee_id text,
        started_at timestamptz NOT NULL,
        doc jsonb NOT NULL,
        PRIMARY KEY (org_id, session_id)
      );
      CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}_by_start`)} ON ${t} (org_id, started_at DESC, session_id DESC);`);
  },
  async apply(tx, table, events) {
    const t = quoteIdent(table);
    for (const event of events) {
      const erased = erasedSessions(event);
      if (erased) {
        await tx.query(`DELETE FROM ${t} WHERE org_id = $1 AND session_id IN (SELECT jsonb_array_elements_text($2::jsonb))`, [erased.orgId, JSON.stringify(erased.sessionIds)]);
        continue;
      }
      const { orgId, sessionId } = event.data as { orgId: string; sessionId: string };
      const { rows } = await tx.query<{ doc: SessionDoc }>(`SELECT doc FROM ${t} WHERE org_id = $1 AND session_id = $2`, [orgId, sessionId]);
      const doc = evolveSessionDoc(rows[0]?.doc ?? null, asSessionEvent(event));
      if (!doc) continue;
      await tx.query(
        `INSERT INTO ${t} (org_id, session_id, status, channel_id, assignee_id, started_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
         ON CONFLICT (org_id, session_id) DO UPDATE SET status = EXCLUDED.status, assignee_id = EXCLUDED.assignee_id, doc = EXCLUDED.doc`,
        [orgId, sessionId, doc.sessionStatus, doc.channelId, doc.assignee?.id ?? null, doc.startedAt, JSON.stringify(doc)],
      );
    }
  },
});

/** One document per org and channel: its state, limits and last send failure. */
export type ChannelDoc = Exclude<ChannelRegistryState, { status: 'NONE' }>;
type ChannelProjected = ProjectedEvent<ChannelEvent['type'], ChannelEvent['data']>;

export const channelsProjection = defineDocumentProjection<ChannelDoc, ChannelProjected>({
  name: 'channels',
  version: 1,
  canHandle: ['ChannelCreated', 'ChannelStateChanged', 'ChannelLimitsSet', 'ChannelSendFailed', 'ChannelSendRecovered'],
  documentId: (event) => {
    const { orgId, channelId } = event.data as { orgId: string; channelId: string };
    return `${orgId}.${channelId}`;
  },
  evolve: (doc, event) => {
    const next = evolveChannel(doc ?? initialChannelState(), { type: event.type, data: event.data } as ChannelEvent);
    return next.status === 'NONE' ? null : next;
  },
});

/**
 * Agent and bot messages per channel and day: what credits, the outgoing limit per day and the
 * sandbox limit are measured against.
 */
export const channelUsageProjection = defineProjection<SessionProjected>({
  name: 'channel_usage',
  version: 1,
  canHandle: ['MessageRecorded'],
  async setup(tx, table) {
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (
        org_id text NOT NULL,
        channel_id text NOT NULL,
        day date NOT NULL,
        messages integer NOT NULL,
        PRIMARY KEY (org_id, channel_id, day)
      )`);
  },
  async apply(tx, table, events) {
    for (const event of events) {
      const e = asSessionEvent(event);
      if (e.type !== 'MessageRecorded' || e.data.from === 'VISITOR') continue;
      await tx.query(
        `INSERT INTO ${quoteIdent(table)} (org_id, channel_id, day, messages) VALUES ($1, $2, ($3::timestamptz AT TIME ZONE 'UTC')::date, 1)
         ON CONFLICT (org_id, channel_id, day) DO UPDATE SET messages = ${quoteIdent(table)}.messages + 1`,
        [e.data.orgId, e.data.channelId, e.data.at],
      );
    }
  },
});

export async function channelUsage(sql: SqlExecutor, table: string, orgId: string, channelId: string, now: Date) {
  const { rows } = await sql.query<{ total: string | number | null; today: string | number | null }>(
    `SELECT sum(messages) AS total, sum(messages) FILTER (WHERE day = ($3::timestamptz AT TIME ZONE 'UTC')::date) AS today
       FROM ${quoteIdent(table)} WHERE org_id = $1 AND channel_id = $2`,
    [orgId, channelId, now.toISOString()],
  );
  const total = Number(rows[0]?.total ?? 0);
  return { creditsUsed: total, sandboxUsed: total, outgoingToday: Number(rows[0]?.today ?? 0) };
}

/** One document per org: its session timeouts. */
export interface SettingsDoc extends SessionTimeouts {
  orgId: string;
}
type SettingsProjected = ProjectedEvent<SessionSettingsEvent['type'], SessionSettingsEvent['data']>;
export const settingsProjection = defineDocumentProjection<SettingsDoc, SettingsProjected>({
  name: 'session_settings',
  version: 1,
  canHandle: ['SessionTimeoutsSet'],
  documentId: (event) => event.data.orgId,
  evolve: (_doc, event) => ({
    orgId: event.data.orgId,
    inactivityTimeoutSeconds: event.data.inactivityTimeoutSeconds,
    expiredEndAfterSeconds: event.data.expiredEndAfterSeconds,
  }),
});

/** The durable timer of one session (one at a time: a newer one replaces the older). */
export const sessionTimerKey = (orgId: string, sessionId: string): string => `session:${orgId}.${sessionId}`;

/**
 * Sets each session's durable timer from the store's log, in the transaction that moves this
 * projection's checkpoint: a timer is never lost between an append and its scheduling, and a restart
 * continues from the checkpoint. Its own table holds each org's timeouts (from SessionTimeoutsSet,
 * seen in the same global order as the sessions' events).
 */
export function sessionTimersProjection(timers: TimerStore) {
  return defineProjection<SessionProjected | SettingsProjected>({
    name: 'session_timers',
    version: 1,
    canHandle: [...SESSION_EVENT_TYPES, 'SessionTimeoutsSet', SESSIONS_ERASED as SessionEvent['type']],
    async setup(tx, table) {
      await tx.exec(`
        CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (
          org_id text PRIMARY KEY,
          inactivity_timeout_seconds integer NOT NULL,
          expired_end_after_seconds integer NOT NULL
        )`);
    },
    async apply(tx, table, events) {
      const t = quoteIdent(table);
      const timeoutsOf = async (orgId: string): Promise<SessionTimeouts> => {
        const { rows } = await tx.query<{ i: number; e: number }>(
          `SELECT inactivity_timeout_seconds AS i, expired_end_after_seconds AS e FROM ${t} WHERE org_id = $1`,
          [orgId],
        );
        return rows[0] ? { inactivityTimeoutSeconds: rows[0].i, expiredEndAfterSeconds: rows[0].e } : DEFAULT_SESSION_TIMEOUTS;
      };
      for (const event of events) {
        const erased = erasedSessions(event);
        if (erased) {
          // The erased sessions' timers go with them (a firing in flight finds the session gone: 404, dropped).
          for (const sessionId of erased.sessionIds) await timers.cancel(tx, sessionTimerKey(erased.orgId, sessionId));
          continue;
        }
        if (event.type === 'SessionTimeoutsSet') {
          const d = event.data as SessionSettingsEvent['data'];
          await tx.query(
            `INSERT INTO ${t} (org_id, inactivity_timeout_seconds, expired_end_after_seconds) VALUES ($1, $2, $3)
             ON CONFLICT (org_id) DO UPDATE SET inactivity_timeout_seconds = EXCLUDED.inactivity_timeout_seconds, expired_end_after_seconds = EXCLUDED.expired_end_after_seconds`,
            [d.orgId, d.inactivityTimeoutSeconds, d.expiredEndAfterSeconds],
          );
          continue;
        }
        const e = asSessionEvent(event as SessionProjected);
        const key = sessionTimerKey(e.data.orgId, e.data.sessionId);
        // A rebuild replays old events while the live projection keeps going: a timer set by a later
        // event (a higher global position) is never replaced or cancelled by an earlier one.
        const existing = await timers.get<{ seq?: string }>(key, tx);
        if (existing?.payload.seq !== undefined && BigInt(existing.payload.seq) >= event.globalPosition) continue;
        if (e.type === 'SessionEnded' || e.type === 'SessionBlocked') {
          await timers.cancel(tx, key);
          continue;
        }
        const timer = sessionTimerAfter(e, await timeoutsOf(e.data.orgId));
        if (timer)
          await timers.schedule(tx, { key, kind: timer.kind, dueAt: new Date(timer.dueAt), payload: { ...timer, seq: event.globalPosition.toString() } });
      }
    },
  });
}
