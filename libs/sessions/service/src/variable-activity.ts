import {
  SessionVariablesChangedV1,
  SessionVariablesDiscardedV1,
  TOPICS,
} from '@svp/contracts';
import { type Consumer, type MessageBus, SqlInbox, consumeEnvelopes } from '@svp/messaging';
import type { SqlClient, SqlExecutor } from '@svp/postgres';
import type { Worker } from '@svp/service-kit';
import type { Logger } from 'pino';

export const VARIABLE_ACTIVITY_CONSUMER = 'sessions.variable-activity';

export interface VariableActivity {
  orgId: string;
  sessionId: string;
  changesTotal: number;
  variableNames: string[];
  lastChangeAt: string;
  discarded: boolean;
}

/**
 * The sessions service learns of variable changes from variables.events.v1 (never from the variables
 * service's database): each change is session activity (the inactivity timeout's clock), recorded
 * once per event id through the inbox.
 */
export class VariableActivityStore {
  constructor(private readonly sql: SqlClient) {}

  async setup(): Promise<void> {
    await this.sql.exec(`
      CREATE TABLE IF NOT EXISTS session_variable_activity (
        org_id text NOT NULL,
        session_id text NOT NULL,
        changes_total integer NOT NULL,
        variable_names jsonb NOT NULL,
        last_change_at timestamptz NOT NULL,
        discarded boolean NOT NULL DEFAULT false,
        PRIMARY KEY (org_id, session_id)
      )`);
  }

  async recordChange(tx: SqlExecutor, orgId: string, sessionId: string, names: string[], at: string): Promise<void> {
    await tx.query(
      `INSERT INTO session_variable_activity (session_id, org_id, changes_total, variable_names, last_change_at)
       VALUES ($1, $2, 1, $3::jsonb, $4)
       ON CONFLICT (org_id, session_id) DO UPDATE SET
         changes_total = session_variable_activity.changes_total + 1,
         variable_names = (SELECT jsonb_agg(DISTINCT n ORDER BY n) FROM jsonb_array_elements_text(session_variable_activity.variable_names || $3::jsonb) AS n),
         last_change_at = GREATEST(session_variable_activity.last_change_at, EXCLUDED.last_change_at)`,
      [sessionId, orgId, JSON.stringify([...new Set(names)].sort()), at],
    );
  }

  async recordDiscard(tx: SqlExecutor, orgId: string, sessionId: string, at: string): Promise<void> {
    await tx.query(
      `INSERT INTO session_variable_activity (session_id, org_id, changes_total, variable_names, last_change_at, discarded)
       VALUES ($1, $2, 0, '[]'::jsonb, $3, true)
       ON CONFLICT (org_id, session_id) DO UPDATE SET discarded = true`,
      [sessionId, orgId, at],
    );
  }

  /** Forgets the activity of erased sessions. */
  async forget(tx: SqlExecutor, orgId: string, sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    await tx.query('DELETE FROM session_variable_activity WHERE org_id = $1 AND session_id IN (SELECT jsonb_array_elements_text($2::jsonb))', [orgId, JSON.stringify(sessionIds)]);
  }

  async get(orgId: string, sessionId: string): Promise<VariableActivity | undefined> {
    const { rows } = await this.sql.query<{
      org_id: string;
      session_id: string;
      changes_total: number;
      variable_names: string[];
      last_change_at: Date;
      discarded: boolean;
    }>('SELECT * FROM session_variable_activity WHERE session_id = $1 AND org_id = $2', [sessionId, orgId]);
    const row = rows[0];
    if (!row) return undefined;
    return {
      orgId: row.org_id,
      sessionId: row.session_id,
      changesTotal: row.changes_total,
      variableNames: row.variable_names,
      lastChangeAt: new Date(row.last_change_at).toISOString(),
      discarded: row.discarded,
    };
  }
}

/** The durable consumer (a Worker): at least once from Kafka, exactly one effect per event id. */
export function variableActivityConsumer(deps: { bus: MessageBus; sql: SqlClient; store: VariableActivityStore; logger: Logger }): Worker {
  let consumer: Consumer | undefined;
  return {
    name: VARIABLE_ACTIVITY_CONSUMER,
    consumes: { groupId: VARIABLE_ACTIVITY_CONSUMER, topics: [TOPICS.variables] },
    async start() {
      await deps.store.setup();
      const inbox = await SqlInbox.create(deps.sql);
      consumer = await consumeEnvelopes({
        bus: deps.bus,
        groupId: VARIABLE_ACTIVITY_CONSUMER,
        topics: [TOPICS.variables],
        logger: deps.logger,
        schema: { SessionVariablesChanged: SessionVariablesChangedV1, SessionVariablesDiscarded: SessionVariablesDiscardedV1 },
        handler: async (event) => {
          await inbox.handleOnce(VARIABLE_ACTIVITY_CONSUMER, event.eventId, async (tx) => {
            if (event.type === 'SessionVariablesChanged')
              await deps.store.recordChange(tx, event.orgId, event.data.sessionId, event.data.changes.map((c) => c.name), event.occurredAt);
            else await deps.store.recordDiscard(tx, event.orgId, event.data.sessionId, event.occurredAt);
          });
        },
      });
      await consumer.ready;
    },
    async stop() {
      await consumer?.stop();
    },
  };
}
