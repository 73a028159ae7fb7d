import { randomUUID } from 'node:crypto';
import type { EventStore } from '@svp/event-store';
import { quoteIdent, type SqlClient } from '@svp/postgres';
import { type ProjectedEvent, type ProjectionRunner, defineDocumentProjection, defineProjection } from '@svp/projections';
import {
  type WebhookCommand,
  type WebhookEvent,
  type WebhookFormat,
  type WebhookState,
  SESSION_EVENT_TYPES,
  decideWebhook,
  evolveWebhook,
  initialWebhookState,
  webhookStream,
} from '@svp/sessions-domain';
import { AppError, type CommandRunner, type Decider, type DocumentReader, type SecretBox, type ServiceMetrics, commandRunner, waitForProjection } from '@svp/service-kit';
import { imSessionStatusOf, statusEventId } from './integration-events.js';
import { type WebhookDeliveryStore, type WebhookEndpoint, checkWebhookTarget, generateWebhookSecret, imSessionStatusBody, webhookSecretProblem } from './webhooks/index.js';

const webhookDecider: Decider<WebhookCommand, WebhookState, WebhookEvent> = {
  initial: initialWebhookState,
  evolve: evolveWebhook,
  decide: decideWebhook,
};

/** A webhook subscription as the API shows it (and the dispatcher reads it: the sealed secret stays inside). */
export interface WebhookDoc {
  orgId: string;
  webhookId: string;
  url: string;
  events: string[];
  format: WebhookFormat;
  status: 'ACTIVE' | 'DISABLED' | 'DELETED';
  disabledReason: string | null;
  secretSealed: string | null;
  createdAt: string;
}

type WebhookProjected = ProjectedEvent<WebhookEvent['type'], WebhookEvent['data']>;
const WEBHOOK_TYPES = ['WebhookCreated', 'WebhookDisabled', 'WebhookEnabled', 'WebhookDeleted'] as const;

/** Webhook ids are random and global: the document id is the webhook id (reads check the org). */
export const webhooksProjection = defineDocumentProjection<WebhookDoc, WebhookProjected>({
  name: 'webhooks',
  version: 1,
  canHandle: [...WEBHOOK_TYPES],
  documentId: (event) => event.data.webhookId,
  // `list` filters on the org (`doc #>> '{orgId}'`, the expression this index is on).
  indexes: [{ name: 'by_org', fields: ['orgId'] }],
  evolve: (doc, event) => {
    const e = { type: event.type, data: event.data } as WebhookEvent;
    switch (e.type) {
      case 'WebhookCreated':
        return {
          orgId: e.data.orgId,
          webhookId: e.data.webhookId,
          url: e.data.url,
          events: e.data.events,
          format: e.data.format,
          status: 'ACTIVE',
          disabledReason: null,
          secretSealed: e.data.secretSealed ?? null,
          createdAt: e.data.at,
        };
      case 'WebhookDisabled':
        return doc ? { ...doc, status: 'DISABLED', disabledReason: e.data.reason } : null;
      case 'WebhookEnabled':
        return doc ? { ...doc, status: 'ACTIVE', disabledReason: null } : null;
      case 'WebhookDeleted':
        return doc ? { ...doc, status: 'DELETED' } : null;
    }
  },
});

/** A webhook as the API shows it: the sealed secret and the org stay inside. */
export type WebhookView = Omit<WebhookDoc, 'secretSealed' | 'orgId'>;
export function webhookView(doc: WebhookDoc): WebhookView {
  const { secretSealed: _sealed, orgId: _org, ...view } = doc;
  return view;
}

/** The org's webhooks in `table` (the webhooks projection's), oldest first, through its by_org index. */
export const LIST_WEBHOOKS_SQL = (table: string) =>
  `SELECT doc FROM ${quoteIdent(table)} WHERE doc IS NOT NULL AND doc #>> '{orgId}' = $1 ORDER BY doc->>'createdAt', id`;

type AnyProjected = ProjectedEvent<string, unknown>;

/**
 * Turns status changes into webhook deliveries, in the transaction that moves its checkpoint: a
 * stored change is never missed, and a redelivered event is enqueued once (the delivery store keys on
 * webhook and event id). It keeps the org's subscriptions (its own table, in the same global order as
 * the sessions' events, so a webhook gets the changes after its creation) and every IM_Session_Status
 * body it produced (`<table>_log`), which replays read.
 */
export function webhookFanoutProjection(deliveries: WebhookDeliveryStore) {
  return defineProjection<AnyProjected>({
    name: 'webhook_fanout',
    version: 1,
    canHandle: [...WEBHOOK_TYPES, ...SESSION_EVENT_TYPES],
    async setup(tx, table) {
      await tx.exec(`
        CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (
          webhook_id text PRIMARY KEY,
          org_id text NOT NULL,
          active boolean NOT NULL
        );
        CREATE TABLE IF NOT EXISTS ${quoteIdent(`${table}_log`)} (
          seq bigint PRIMARY KEY,
          org_id text NOT NULL,
          session_id text NOT NULL,
          event_id text NOT NULL,
          at timestamptz NOT NULL,
          body text NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}_log_by_org`)} ON ${quoteIdent(`${table}_log`)} (org_id, at, seq);`);
    },
    async apply(tx, table, events) {
      const subs = quoteIdent(table);
      for (const event of events) {
        const data = event.data as { orgId: string; webhookId?: string };
        switch (event.type) {
          case 'WebhookCreated':
          case 'WebhookEnabled':
            await tx.query(
              `INSERT INTO ${subs} (webhook_id, org_id, active) VALUES ($1, $2, true) ON CONFLICT (webhook_id) DO UPDATE SET active = true`,
              [data.webhookId, data.orgId],
            );
            continue;
          case 'WebhookDisabled':
          case 'WebhookDeleted':
            // No cancelling here: a rebuild replaying an old disable would cancel today's deliveries.
            // The live disable cancels (Webhooks.disable/remove, and the dispatcher for inactive hooks).
            await tx.query(`UPDATE ${subs} SET active = false WHERE webhook_id = $1`, [data.webhookId]);
            continue;
        }
        const fields = imSessionStatusOf(event);
        if (!fields) continue;
        const eventId = statusEventId(event.eventId);
        const body = JSON.stringify(imSessionStatusBody({ ...fields, eventId }));
        await tx.query(
          `INSERT INTO ${quoteIdent(`${table}_log`)} (seq, org_id, session_id, event_id, at, body) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq) DO NOTHING`,
          [event.globalPosition.toString(), fields.orgId, fields.sessionId, eventId, fields.eventTime, body],
        );
        const { rows } = await tx.query<{ webhook_id: string }>(`SELECT webhook_id FROM ${subs} WHERE org_id = $1 AND active`, [fields.orgId]);
        for (const row of rows)
          await deliveries.enqueue(tx, { webhookId: row.webhook_id, orgId: fields.orgId, sessionId: fields.sessionId, eventId, seq: event.globalPosition, body });
      }
    },
    async drop(tx, table) {
      await tx.exec(`DROP TABLE IF EXISTS ${quoteIdent(`${table}_log`)} CASCADE; DROP TABLE IF EXISTS ${quoteIdent(table)} CASCADE;`);
    },
  });
}

export interface WebhooksDeps {
  store: EventStore;
  sql: SqlClient;
  runner: ProjectionRunner;
  docs: DocumentReader<WebhookDoc>;
  deliveries: WebhookDeliveryStore;
  secretBox: SecretBox;
  allowPrivateTargets: boolean;
  /** Wakes the dispatcher after an enqueue (a replay). */
  notify?: () => void;
  /** Where the commands are counted (svp_commands_total, svp_command_duration_seconds). */
  metrics?: ServiceMetrics;
  now?: () => Date;
}

/** Webhook subscriptions: create (the target checked against SSRF), read, deliveries, replay, disable. */
export class Webhooks {
  private readonly now: () => Date;
  private readonly run: CommandRunner;
  constructor(private readonly deps: WebhooksDeps) {
    this.now = deps.now ?? (() => new Date());
    this.run = commandRunner(deps.store, deps.metrics);
  }

  async create(orgId: string, body: { url: string; events: 'IM_Session_Status'[]; secret?: string; format: WebhookFormat }) {
    const target = await checkWebhookTarget(body.url, { allowPrivate: this.deps.allowPrivateTargets });
    if (!target.ok)
      throw new AppError('VALIDATION_FAILED', `The webhook target is refused: ${target.reason}`, {
        reason: target.reason,
        hint: 'Targets on loopback or private addresses need WEBHOOKS_ALLOW_PRIVATE_TARGETS=true',
      });
    const secret = body.secret ?? generateWebhookSecret();
    const problem = webhookSecretProblem(secret);
    if (problem) throw new AppError('VALIDATION_FAILED', `Invalid secret: ${problem}`);
    const webhookId = `wh_${randomUUID().replace(/-/g, '')}`;
    await this.command(orgId, webhookId, {
      type: 'CreateWebhook',
      data: { orgId, webhookId, url: body.url, events: [...new Set(body.events)], format: body.format, secretSealed: this.deps.secretBox.seal(secret), now: this.iso() },
    });
    return { webhookId, secret };
  }

  async get(orgId: string, webhookId: string) {
    const doc = await this.deps.docs.get(webhookId);
    if (!doc || doc.orgId !== orgId) throw new AppError('NOT_FOUND', `Webhook ${webhookId} not found`, { webhookId });
    return webhookView(doc);
  }

  /** The org's subscriptions, oldest first (deleted ones too: their status says so). */
  async list(orgId: string): Promise<WebhookView[]> {
    const table = await this.deps.runner.activeTable('webhooks');
    const { rows } = await this.deps.sql.query<{ doc: WebhookDoc }>(LIST_WEBHOOKS_SQL(table), [orgId]);
    return rows.map(({ doc }) => webhookView(doc));
  }

  /** How far a replay got: its deliveries by status (none enqueued: done at once). */
  async replayStatus(orgId: string, webhookId: string, replayId: string) {
    await this.get(orgId, webhookId);
    const counts = await this.deps.deliveries.replayCounts(webhookId, replayId);
    const enqueued = counts.pending + counts.delivered + counts.failed + counts.cancelled;
    return { webhookId, replayId, enqueued, ...counts, done: counts.pending === 0 };
  }

  async disable(orgId: string, webhookId: string, reason: string) {
    await this.get(orgId, webhookId);
    await this.command(orgId, webhookId, { type: 'DisableWebhook', data: { orgId, webhookId, reason, now: this.iso() } });
    await this.deps.deliveries.cancelPending(webhookId);
    return this.get(orgId, webhookId);
  }

  async enable(orgId: string, webhookId: string) {
    await this.get(orgId, webhookId);
    await this.command(orgId, webhookId, { type: 'EnableWebhook', data: { orgId, webhookId, now: this.iso() } });
    return this.get(orgId, webhookId);
  }

  async remove(orgId: string, webhookId: string) {
    await this.get(orgId, webhookId);
    await this.command(orgId, webhookId, { type: 'DeleteWebhook', data: { orgId, webhookId, now: this.iso() } });
    await this.deps.deliveries.cancelPending(webhookId);
    return this.get(orgId, webhookId);
  }

  async deliveryLog(orgId: string, webhookId: string, options: { limit?: number; before?: string } = {}) {
    await this.get(orgId, webhookId);
    const records = await this.deps.deliveries.deliveries(webhookId, options);
    return records.map((d) => ({
      deliveryId: d.id,
      eventId: d.eventId,
      sessionId: d.sessionId,
      status: d.status,
      attempts: d.attempts.map((a) => ({ attempt: a.attempt, at: a.at.toISOString(), statusCode: a.statusCode, error: a.error, latencyMs: a.latencyMs })),
      createdAt: d.createdAt.toISOString(),
      deliveredAt: d.deliveredAt?.toISOString() ?? null,
      nextAttemptAt: d.nextAttemptAt?.toISOString() ?? null,
      replay: d.replay,
    }));
  }

  /** Sends again every IM_Session_Status of the org since `from` (all kept ones without it), in order. */
  async replay(orgId: string, webhookId: string, from?: string): Promise<{ enqueued: number; replayId: string }> {
    const hook = await this.get(orgId, webhookId);
    if (hook.status !== 'ACTIVE') throw new AppError('CONFLICT', `Webhook ${webhookId} is ${hook.status}; enable it first`, { status: hook.status });
    const log = quoteIdent(`${await this.deps.runner.activeTable('webhook_fanout')}_log`);
    const replay = randomUUID();
    let enqueued = 0;
    await this.deps.sql.transaction(async (tx) => {
      const { rows } = await tx.query<{ seq: string; session_id: string; event_id: string; body: string }>(
        `SELECT seq::text AS seq, session_id, event_id, body FROM ${log} WHERE org_id = $1 AND at >= $2::timestamptz ORDER BY seq`,
        [orgId, from ?? '1970-01-01T00:00:00Z'],
      );
      for (const row of rows) {
        const id = await this.deps.deliveries.enqueue(tx, { webhookId, orgId, sessionId: row.session_id, eventId: row.event_id, seq: BigInt(row.seq), body: row.body, replay });
        if (id) enqueued++;
      }
    });
    this.deps.notify?.();
    return { enqueued, replayId: replay };
  }

  /** What the dispatcher needs: the target, the unsealed secret, the format, whether it is active. */
  async endpoint(webhookId: string): Promise<WebhookEndpoint | undefined> {
    const doc = await this.deps.docs.get(webhookId);
    if (!doc || !doc.secretSealed) return undefined;
    return { url: doc.url, secret: this.deps.secretBox.open(doc.secretSealed), format: doc.format, active: doc.status === 'ACTIVE' };
  }

  /** The dispatcher reports a receiver that ended the subscription (410) or failed for good. */
  async disableBySystem(webhookId: string, reason: string): Promise<void> {
    const doc = await this.deps.docs.get(webhookId);
    if (!doc || doc.status !== 'ACTIVE') return;
    await this.command(doc.orgId, webhookId, { type: 'DisableWebhook', data: { orgId: doc.orgId, webhookId, reason, now: this.iso() } });
    await this.deps.deliveries.cancelPending(webhookId);
  }

  private async command(orgId: string, webhookId: string, command: WebhookCommand): Promise<void> {
    const { position } = await this.run(webhookStream(orgId, webhookId), webhookDecider, command, { orgId });
    await this.deps.docs.waitFor(position);
    await waitForProjection(this.deps.runner, 'webhook_fanout', position);
  }

  private iso(): string {
    return this.now().toISOString();
  }
}
