import { quoteIdent, type SqlExecutor } from '@svp/postgres';

/**
 * `proj_checkpoints`: one row per projection (key `<name>_v<version>`), holding the table its read
 * model is in and the global position that table has applied. It is also the registry of the active
 * table: readers look the table up here, and a rebuild switches by updating `table_name` and
 * `position` together, in the transaction that drops the old table. A rebuild in progress keeps a
 * second row (`<key>:rebuild`) for its own table.
 */
export const CHECKPOINTS_TABLE = 'proj_checkpoints';

export interface Checkpoint {
  readonly table: string;
  readonly position: bigint;
}

/** Raised when a batch is written for a table that is no longer the projection's (a rebuild switched it). */
export class ProjectionTableChangedError extends Error {
  override readonly name = 'ProjectionTableChangedError';
  constructor(
    readonly key: string,
    readonly table: string,
  ) {
    super(`Projection '${key}' no longer reads into table '${table}' (a rebuild switched it); restarting from the checkpoint`);
  }
}

export async function ensureCheckpointTable(sql: SqlExecutor): Promise<void> {
  const create = `CREATE TABLE IF NOT EXISTS ${quoteIdent(CHECKPOINTS_TABLE)} (
    projection text PRIMARY KEY,
    table_name text NOT NULL,
    position bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`;
  try {
    await sql.exec(create);
  } catch (error) {
    // Two processes starting at once: IF NOT EXISTS is not atomic in PostgreSQL, the loser of the
    // race gets a unique violation on the catalog; the table exists now.
    const code = (error as { code?: unknown }).code;
    if (code !== '23505' && code !== '42P07') throw error;
  }
}

export async function readCheckpoint(sql: SqlExecutor, key: string): Promise<Checkpoint | undefined> {
  const { rows } = await sql.query<{ table_name: string; position: bigint }>(
    `SELECT table_name, position FROM ${quoteIdent(CHECKPOINTS_TABLE)} WHERE projection = $1`,
    [key],
  );
  const row = rows[0];
  return row ? { table: row.table_name, position: BigInt(row.position) } : undefined;
}

/** The projection's checkpoint, registering it at position 0 in `table` when it has none. */
export async function registerCheckpoint(tx: SqlExecutor, key: string, table: string): Promise<Checkpoint> {
  await tx.query(
    `INSERT INTO ${quoteIdent(CHECKPOINTS_TABLE)} (projection, table_name, position) VALUES ($1, $2, 0)
     ON CONFLICT (projection) DO NOTHING`,
    [key, table],
  );
  const checkpoint = await readCheckpoint(tx, key);
  if (!checkpoint) throw new Error(`Checkpoint '${key}' vanished while being registered`);
  return checkpoint;
}

/** Overwrites the checkpoint (used when a rebuild starts and when it switches). */
export async function setCheckpoint(tx: SqlExecutor, key: string, table: string, position: bigint): Promise<void> {
  await tx.query(
    `INSERT INTO ${quoteIdent(CHECKPOINTS_TABLE)} (projection, table_name, position, updated_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (projection) DO UPDATE SET table_name = EXCLUDED.table_name, position = EXCLUDED.position, updated_at = now()`,
    [key, table, position],
  );
}

/**
 * Moves the checkpoint forward after a batch, in the batch's transaction. Never moves it back (two
 * processes running one projection), and fails when the projection's table changed under the batch.
 */
export async function advanceCheckpoint(tx: SqlExecutor, key: string, table: string, position: bigint): Promise<void> {
  const { rowCount } = await tx.query(
    `UPDATE ${quoteIdent(CHECKPOINTS_TABLE)} SET position = GREATEST(position, $3), updated_at = now()
     WHERE projection = $1 AND table_name = $2`,
    [key, table, position],
  );
  if (rowCount === 0) throw new ProjectionTableChangedError(key, table);
}

export async function deleteCheckpoint(tx: SqlExecutor, key: string): Promise<void> {
  await tx.query(`DELETE FROM ${quoteIdent(CHECKPOINTS_TABLE)} WHERE projection = $1`, [key]);
}
