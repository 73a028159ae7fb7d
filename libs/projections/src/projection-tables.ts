import type { RecordedEvent } from '@svp/event-store';
import { quoteIdent, type SqlExecutor } from '@svp/postgres';
import { applyDocumentBatch, createDocumentTable } from './document-table.js';
import { tableGeneration } from './naming.js';
import { eventTypeFilter, type Projection } from './projection.js';

/** Creates the projection's table (idempotent). */
export async function setupTable(tx: SqlExecutor, projection: Projection, table: string): Promise<void> {
  if (projection.kind === 'document') await createDocumentTable(tx, projection, table);
  else await projection.setup(tx, table);
}

/** Applies a batch to the projection's table; resolves to the number of events the projection applied. */
export async function applyBatch(
  tx: SqlExecutor,
  projection: Projection,
  table: string,
  events: readonly RecordedEvent[],
): Promise<number> {
  if (projection.kind === 'document') return (await applyDocumentBatch(tx, projection, table, events)).applied;
  const accepts = eventTypeFilter(projection);
  const relevant = events.filter((event) => accepts(event.type));
  if (relevant.length > 0) await projection.apply(tx, table, relevant);
  return relevant.length;
}

export async function dropTable(tx: SqlExecutor, projection: Projection, table: string): Promise<void> {
  if (projection.kind === 'custom' && projection.drop) await projection.drop(tx, table);
  else await tx.exec(`DROP TABLE IF EXISTS ${quoteIdent(table)} CASCADE`);
}

/** The tables of the current schema that belong to the projection whose base table is `base`. */
export async function listProjectionTables(sql: SqlExecutor, base: string): Promise<string[]> {
  const { rows } = await sql.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
     WHERE table_schema = current_schema() AND starts_with(table_name, $1)`,
    [base],
  );
  return rows.map((row) => row.table_name).filter((table) => tableGeneration(base, table) !== undefined);
}
