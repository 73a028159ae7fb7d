import type { RecordedEvent } from '@svp/event-store';
import { quoteIdent, type SqlExecutor } from '@svp/postgres';
import { documentIdsOf, planDocumentBatch, type DocumentBatchPlan, type DocumentWrite, type StoredDocument } from './decisions.js';
import { indexName } from './naming.js';
import type { DocumentProjection } from './projection.js';

/**
 * The SQL of a document read model: `(id text primary key, doc jsonb, last_position bigint,
 * updated_at)`. A deleted document stays as a tombstone (doc NULL) that keeps its last position, so
 * a redelivered older event cannot bring it back; readers never see tombstones.
 */
export async function createDocumentTable(tx: SqlExecutor, projection: DocumentProjection, table: string): Promise<void> {
  const t = quoteIdent(table);
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${t} (
      id text PRIMARY KEY,
      doc jsonb,
      last_position bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`,
  ];
  for (const index of projection.indexes ?? []) {
    const name = quoteIdent(indexName(table, index.name));
    if ('using' in index) {
      statements.push(`CREATE INDEX IF NOT EXISTS ${name} ON ${t} USING gin (doc jsonb_path_ops)`);
    } else {
      const columns = index.fields.map((field) => `(doc #>> '{${field.split('.').join(',')}}')`).join(', ');
      statements.push(`CREATE INDEX IF NOT EXISTS ${name} ON ${t} (${columns})`);
    }
  }
  await tx.exec(statements.join(';\n'));
}

/** The stored documents (tombstones included) with these ids. */
export async function loadDocuments<Doc>(
  tx: SqlExecutor,
  table: string,
  ids: readonly string[],
): Promise<Map<string, StoredDocument<Doc>>> {
  const stored = new Map<string, StoredDocument<Doc>>();
  if (ids.length === 0) return stored;
  const { rows } = await tx.query<{ id: string; doc: Doc | null; last_position: bigint }>(
    `SELECT id, doc, last_position FROM ${quoteIdent(table)}
     WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb))`,
    [JSON.stringify(ids)],
  );
  for (const row of rows) stored.set(row.id, { doc: row.doc, lastPosition: BigInt(row.last_position) });
  return stored;
}

/**
 * Upserts the writes in one statement. A row only moves forward: a write whose position is not
 * above the stored one changes nothing (the same guard as the plan, kept in SQL for two writers).
 */
export async function writeDocuments(tx: SqlExecutor, table: string, writes: readonly DocumentWrite[]): Promise<void> {
  if (writes.length === 0) return;
  const t = quoteIdent(table);
  const payload = writes.map((write) => ({ id: write.id, doc: write.doc, pos: write.lastPosition.toString() }));
  await tx.query(
    `INSERT INTO ${t} AS t (id, doc, last_position, updated_at)
     SELECT w.id, w.doc, w.pos::bigint, now() FROM jsonb_to_recordset($1::jsonb) AS w(id text, doc jsonb, pos text)
     ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, last_position = EXCLUDED.last_position, updated_at = EXCLUDED.updated_at
     WHERE t.last_position < EXCLUDED.last_position`,
    [JSON.stringify(payload)],
  );
}

/** Loads, folds (pure) and writes one batch of events into a document table. */
export async function applyDocumentBatch<Doc>(
  tx: SqlExecutor,
  projection: DocumentProjection<Doc>,
  table: string,
  events: readonly RecordedEvent[],
): Promise<DocumentBatchPlan<Doc>> {
  const types = new Set<string>(projection.canHandle);
  const relevant = events.filter((event) => types.has(event.type));
  if (relevant.length === 0) return { writes: [], applied: 0, skipped: 0 };
  const stored = await loadDocuments<Doc>(tx, table, documentIdsOf(projection, relevant));
  const plan = planDocumentBatch(projection, relevant, stored);
  await writeDocuments(tx, table, plan.writes);
  return plan;
}
