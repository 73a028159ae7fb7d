import type { RecordedEvent } from '@svp/event-store';
import type { SqlExecutor } from '@svp/postgres';
import { assertValidIdentity } from './naming.js';

/**
 * What a projection is given: a recorded event whose `type` is one it declared in `canHandle`.
 * `ProjectedEvent<'SessionEnded', SessionEndedData>` narrows the type and data for domain code.
 */
export type ProjectedEvent<Type extends string = string, Data = unknown> = RecordedEvent<Data> & { type: Type };

/**
 * An index on a document table: a B-tree on one or more fields of the document (`'orgId'`,
 * `'visitor.id'`, compared as text), or a GIN index on the whole document for `find({ contains })`.
 */
export type DocumentIndex =
  | { readonly name: string; readonly fields: readonly string[] }
  | { readonly name: string; readonly using: 'gin' };

/**
 * A read model of JSON documents, one per id: the common case. The domain logic is two pure
 * functions; the runner does the I/O.
 */
export interface DocumentProjectionDefinition<Doc, E extends ProjectedEvent = ProjectedEvent> {
  /** Lower case, digits and underscores; part of the table name. */
  readonly name: string;
  /** Bump it when `evolve` or the document shape changes: the new version builds a new table from position 0. */
  readonly version: number;
  /** The event types this projection reads; every other event only moves its checkpoint. */
  readonly canHandle: readonly E['type'][];
  /** The id of the document an event updates, or null to ignore the event. Pure. */
  documentId(event: E): string | null;
  /**
   * The document after the event: a new document, the same one, or null to delete it. Pure: no I/O,
   * no clock, no random ids (take them from the event). The document must be JSON (no bigint, no Date).
   */
  evolve(doc: Doc | null, event: E): Doc | null;
  readonly indexes?: readonly DocumentIndex[];
}

export interface DocumentProjection<Doc = unknown, E extends ProjectedEvent = ProjectedEvent>
  extends DocumentProjectionDefinition<Doc, E> {
  readonly kind: 'document';
}

/**
 * A read model that is not a set of documents (counters, several rows per event, a join table):
 * the projection owns the SQL. The runner calls `apply` with the batch's events (only those in
 * `canHandle`, when given), inside the transaction that also moves the checkpoint, and never with
 * an event at or below the checkpoint; so `apply` need not guard against redelivery itself unless
 * two processes run the same projection.
 */
export interface CustomProjectionDefinition<E extends ProjectedEvent = ProjectedEvent> {
  readonly name: string;
  readonly version: number;
  /** Event types passed to `apply`; all events when omitted. */
  readonly canHandle?: readonly E['type'][];
  /** Creates `table` (and its indexes). Runs at every start: make it idempotent (`IF NOT EXISTS`). */
  setup(tx: SqlExecutor, table: string): Promise<void>;
  /** Applies events (in global order) to `table`. */
  apply(tx: SqlExecutor, table: string, events: readonly E[]): Promise<void>;
  /** Removes `table` after a rebuild replaced it; `DROP TABLE … CASCADE` when omitted. */
  drop?(tx: SqlExecutor, table: string): Promise<void>;
}

export interface CustomProjection<E extends ProjectedEvent = ProjectedEvent> extends CustomProjectionDefinition<E> {
  readonly kind: 'custom';
}

/** Any projection the runner can run. Event types are erased here: the runner routes by `canHandle`. */
export type Projection = DocumentProjection<any, any> | CustomProjection<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const FIELD_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INDEX_NAME = /^[a-z][a-z0-9_]*$/;

export function defineDocumentProjection<Doc, E extends ProjectedEvent = ProjectedEvent>(
  definition: DocumentProjectionDefinition<Doc, E>,
): DocumentProjection<Doc, E> {
  assertValidIdentity(definition);
  for (const index of definition.indexes ?? []) {
    if (!INDEX_NAME.test(index.name)) throw new Error(`Index name '${index.name}' of '${definition.name}' must match ${String(INDEX_NAME)}`);
    if ('fields' in index) {
      if (index.fields.length === 0) throw new Error(`Index '${index.name}' of '${definition.name}' has no fields`);
      for (const field of index.fields) {
        if (!field.split('.').every((segment) => FIELD_SEGMENT.test(segment))) {
          throw new Error(`Index '${index.name}' of '${definition.name}': field '${field}' must be dotted identifiers`);
        }
      }
    }
  }
  return { ...definition, kind: 'document' };
}

export function defineProjection<E extends ProjectedEvent = ProjectedEvent>(
  definition: CustomProjectionDefinition<E>,
): CustomProjection<E> {
  assertValidIdentity(definition);
  return { ...definition, kind: 'custom' };
}

/** A predicate over event types for this projection (all types when `canHandle` is omitted). */
export function eventTypeFilter(projection: Projection): (type: string) => boolean {
  if (projection.canHandle === undefined) return () => true;
  const types = new Set<string>(projection.canHandle);
  return (type) => types.has(type);
}
