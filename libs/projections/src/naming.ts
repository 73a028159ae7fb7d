/**
 * Names of the tables a projection lives in. Pure functions: the runner and the tests share them.
 *
 * - live table of a projection: `rm_<name>_v<version>`; the version is in the name, so a new version
 *   of a projection builds its own table from position 0 beside the old one;
 * - a rebuild of the same version builds `rm_<name>_v<version>_b<n>` (n = 1, 2, …) beside the active
 *   table and becomes the active table when it is switched in;
 * - the checkpoint key of a projection (row of `proj_checkpoints`) is `<name>_v<version>`; a rebuild
 *   in progress keeps its own row `<name>_v<version>:rebuild`.
 */

/** PostgreSQL truncates identifiers longer than this many bytes; we refuse them instead. */
export const MAX_IDENTIFIER_LENGTH = 63;
/** Room kept in the table name for a rebuild suffix (`_b` and up to six digits). */
const REBUILD_SUFFIX_ROOM = 8;

const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;

export interface ProjectionIdentity {
  readonly name: string;
  readonly version: number;
}

/** Throws when the name or version cannot make a safe, untruncated table name. */
export function assertValidIdentity({ name, version }: ProjectionIdentity): void {
  if (!NAME_PATTERN.test(name)) {
    throw new Error(`Projection name '${name}' must match ${String(NAME_PATTERN)} (lower case, digits, underscores)`);
  }
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new Error(`Projection '${name}' has version ${String(version)}; a version is an integer ≥ 1`);
  }
  const base = baseTableName({ name, version });
  if (base.length + REBUILD_SUFFIX_ROOM > MAX_IDENTIFIER_LENGTH) {
    throw new Error(
      `Projection name '${name}' is too long: '${base}' plus a rebuild suffix exceeds ${MAX_IDENTIFIER_LENGTH} characters`,
    );
  }
}

/** `rm_<name>_v<version>`: the table a projection is first built in. */
export function baseTableName({ name, version }: ProjectionIdentity): string {
  return `rm_${name}_v${version}`;
}

/** The key of the projection's row in `proj_checkpoints`. */
export function checkpointKey({ name, version }: ProjectionIdentity): string {
  return `${name}_v${version}`;
}

/** The key of the row a rebuild in progress keeps in `proj_checkpoints`. */
export function rebuildCheckpointKey(identity: ProjectionIdentity): string {
  return `${checkpointKey(identity)}:rebuild`;
}

/** The rebuild generation of `table` for a projection whose base table is `base`: 0 for the base table, n for `_b<n>`, undefined when the table is not one of the projection's. */
export function tableGeneration(base: string, table: string): number | undefined {
  if (table === base) return 0;
  if (!table.startsWith(`${base}_b`)) return undefined;
  const suffix = table.slice(base.length + 2);
  return /^[1-9][0-9]*$/.test(suffix) ? Number(suffix) : undefined;
}

/** The table for the next rebuild: one generation above every table of the projection that exists. */
export function nextRebuildTableName(base: string, existingTables: readonly string[]): string {
  let highest = 0;
  for (const table of existingTables) {
    const generation = tableGeneration(base, table);
    if (generation !== undefined && generation > highest) highest = generation;
  }
  return `${base}_b${highest + 1}`;
}

/**
 * A name for an index on `table`, at most 63 characters: `<table>_<suffix>`, or, when that is too
 * long, a shortened table name with a stable hash that keeps two long names apart.
 */
export function indexName(table: string, suffix: string): string {
  const full = `${table}_${suffix}`;
  if (full.length <= MAX_IDENTIFIER_LENGTH) return full;
  const hash = fnv1a(full).toString(36);
  return `${full.slice(0, MAX_IDENTIFIER_LENGTH - hash.length - 1)}_${hash}`;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
