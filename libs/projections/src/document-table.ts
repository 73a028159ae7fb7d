import type { RecordedEvent } from '@svp/event-store';
import { quoteIdent, type SqlExecutor } from '@svp/postgres';
import { distinctIds, documentIdPerEvent, planDocumentBatch, type DocumentBatchPlan, type DocumentWrite, type StoredDocument } from './decisions.js';
import type { ReplayDocumentCache } from './replay-document-cache.js';
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
  // The ids travel as one JSON text cast to json (not jsonb): json is only scanned, jsonb would be
  // built as one big value first (see writeDocuments).
  const { rows } = await tx.query<{ id: string; doc: Doc | null; last_position: bigint }>(
    `SELECT id, doc, last_position FROM ${quoteIdent(table)}
     WHERE id IN (SELECT json_array_elements_text($1::text::json))`,
    [JSON.stringify(ids)],
  );
  for (const row of rows) stored.set(row.id, { doc: row.doc, lastPosition: BigInt(row.last_position) });
  return stored;
}

/**
 * Separates the documents of one write's text: JSON.stringify escapes every character below
 * U+0020, so U+001E (record separator) never occurs inside a document's JSON text.
 */
const DOCUMENT_SEPARATOR = '\x1e';

/**
 * Upserts the writes in one statement. A row only moves forward: a write whose position is not
 * above the stored one changes nothing (the same guard as the plan, kept in SQL for two writers).
 *
 * The ids and positions travel as two JSON arrays (small), the documents as one text of their JSON
 * joined by U+001E, split with string_to_table: each document is scanned once by the split and
 * parsed once into jsonb. (As one JSON array of `[id, position, doc]` triples split with
 * json_array_elements, each document was scanned five times more, by the split and by every `->`
 * on its triple: twice the server's CPU per write, measured with 30,000 documents of 1.7 KB. Cast
 * to jsonb, the whole batch was first built as one jsonb value: four times.) A tombstone is the
 * text `null`.
 */
export async function writeDocuments(tx: SqlExecutor, table: string, writes: readonly DocumentWrite[]): Promise<void> {
  if (writes.length === 0) return;
  const t = quoteIdent(table);
  const ids: string[] = [];
  const positions: string[] = [];
  const docs: string[] = [];
  for (const write of writes) {
    ids.push(write.id);
    positions.push(write.lastPosition.toString());
    // A value JSON cannot hold (undefined from an evolve that broke its type) is a tombstone, as
    // JSON.stringify makes it inside an array; an empty piece would shift or fail the split.
    docs.push(write.doc === null ? 'null' : (JSON.stringify(write.doc) ?? 'null'));
  }
  await tx.query(
    `INSERT INTO ${t} AS t (id, doc, last_position, updated_at)
     SELECT w.id, nullif(w.doc, 'null')::jsonb, w.position::bigint, now()
     FROM ROWS FROM (json_array_elements_text($1::text::json), json_array_elements_text($2::text::json), string_to_table($3, chr(30))) AS w(id, position, doc)
     ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, last_position = EXCLUDED.last_position, updated_at = EXCLUDED.updated_at
     WHERE t.last_position < EXCLUDED.last_position`,
    // The three lists have one entry per write: ROWS FROM would pad a shorter one with NULLs.
    [JSON.stringify(ids), JSON.stringify(positions), docs.join(DOCUMENT_SEPARATOR)],
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
  const ids = documentIdPerEvent(projection, relevant);
  const stored = await loadDocuments<Doc>(tx, table, distinctIds(ids));
  const plan = planDocumentBatch(projection, relevant, stored, ids);
  await writeDocuments(tx, table, plan.writes);
  return plan;
}

/**
 * Folds a batch into the documents it touches, taking them from `cache` where it holds them (or is
 * writing them) and from the table otherwise, and keeps the result in the cache. Writes nothing:
 * resolves to the documents the batch's write must write (those pushed out of the cache) and to the
 * number of events applied. Only for a table nothing else writes (a rebuild's); see
 * ReplayDocumentCache.
 */
export async function foldDocumentBatchWithCache<Doc>(
  sql: SqlExecutor,
  projection: DocumentProjection<Doc>,
  table: string,
  events: readonly RecordedEvent[],
  cache: ReplayDocumentCache<Doc>,
): Promise<{ readonly applied: number; readonly writes: DocumentWrite<Doc>[] }> {
  const types = new Set<string>(projection.canHandle);
  const relevant = events.filter((event) => types.has(event.type));
  if (relevant.length === 0) return { applied: 0, writes: [] };
  // The cache is asked once, before the read: while the read waits, a write may commit and the
  // cache let go of what it wrote (the table has it then, but this read may have missed it).
  const stored = new Map<string, StoredDocument<Doc>>();
  const missing: string[] = [];
  const ids = documentIdPerEvent(projection, relevant);
  for (const id of distinctIds(ids)) {
    const cached = cache.get(id);
    if (cached) stored.set(id, cached);
    else missing.push(id);
  }
  for (const [id, doc] of await loadDocuments<Doc>(sql, table, missing)) stored.set(id, doc);
  const plan = planDocumentBatch(projection, relevant, stored, ids);
  return { applied: plan.applied, writes: cache.remember(plan.writes) };
}
