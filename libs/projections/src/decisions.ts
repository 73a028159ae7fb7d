/**
 * The runner's decisions, as pure functions: which events of a batch change which document, which
 * are skipped as already applied, when to flush, how long to wait before a retry, how far a rebuild
 * has come. The SQL around them lives in document-table.ts and projection-runner.ts.
 */
import type { RecordedEvent } from '@svp/event-store';
import type { DocumentProjection } from './projection.js';

/** A document as stored: its body (null once deleted: a tombstone) and the last global position applied to it. */
export interface StoredDocument<Doc = unknown> {
  readonly doc: Doc | null;
  readonly lastPosition: bigint;
}

export interface DocumentWrite<Doc = unknown> extends StoredDocument<Doc> {
  readonly id: string;
}

export interface DocumentBatchPlan<Doc = unknown> {
  /** One write per document the batch changed: its new body (null: delete) and position. */
  readonly writes: readonly DocumentWrite<Doc>[];
  /** Events evolved into a document. */
  readonly applied: number;
  /** Events at or below their document's last position: already applied, no second effect. */
  readonly skipped: number;
}

/** The distinct ids of the documents a batch touches (to load them before planning). */
export function documentIdsOf<Doc>(projection: DocumentProjection<Doc>, events: readonly RecordedEvent[]): string[] {
  return distinctIds(documentIdPerEvent(projection, events));
}

/**
 * The id of the document each event updates, index for index: null for an event the projection
 * does not handle or ignores. Computed once per batch and given to both `distinctIds` (what to load)
 * and `planDocumentBatch` (what to fold), so `documentId` runs once per event.
 */
export function documentIdPerEvent<Doc>(projection: DocumentProjection<Doc>, events: readonly RecordedEvent[]): (string | null)[] {
  const types = new Set<string>(projection.canHandle);
  return events.map((event) => {
    if (!types.has(event.type)) return null;
    const id: unknown = projection.documentId(event);
    if (id !== null && typeof id !== 'string') {
      // Outside its type (undefined, a number): fail the batch loudly rather than skip or mis-key the event.
      throw new TypeError(`Projection '${projection.name}': documentId returned ${String(id)} for event ${event.globalPosition} (${event.type}); it must return a string or null`);
    }
    return id;
  });
}

/** The distinct ids of `documentIdPerEvent`, in first-seen order. */
export function distinctIds(ids: readonly (string | null)[]): string[] {
  const distinct = new Set<string>();
  for (const id of ids) if (id !== null) distinct.add(id);
  return [...distinct];
}

/**
 * Folds a batch (in global order) into the documents it touches. An event whose global position is
 * at or below the document's last position is skipped, so applying a batch twice, or a batch that
 * overlaps one already applied, changes nothing the second time.
 */
export function planDocumentBatch<Doc>(
  projection: DocumentProjection<Doc>,
  events: readonly RecordedEvent[],
  stored: ReadonlyMap<string, StoredDocument<Doc>>,
  /** `documentIdPerEvent(projection, events)`, when the caller has it already. */
  ids: readonly (string | null)[] = documentIdPerEvent(projection, events),
): DocumentBatchPlan<Doc> {
  // The batch's own working copy of each document it changes: one entry per document, updated in
  // place per event (the stored documents and the documents evolve returns are never mutated).
  const working = new Map<string, { doc: Doc | null; lastPosition: bigint }>();
  let applied = 0;
  let skipped = 0;
  for (let i = 0; i < events.length; i++) {
    const id = ids[i];
    if (id === null || id === undefined) continue; // undefined only past the end of a shorter `ids`
    const event = events[i]!;
    const entry = working.get(id);
    const current = entry ?? stored.get(id);
    if (current !== undefined && event.globalPosition <= current.lastPosition) {
      skipped++;
      continue;
    }
    const doc = projection.evolve(current ? current.doc : null, event);
    if (entry) {
      entry.doc = doc;
      entry.lastPosition = event.globalPosition;
    } else {
      working.set(id, { doc, lastPosition: event.globalPosition });
    }
    applied++;
  }
  const writes: DocumentWrite<Doc>[] = [];
  for (const [id, { doc, lastPosition }] of working) writes.push({ id, doc, lastPosition });
  return { writes, applied, skipped };
}

/** A batch is written when it is full, when the subscription has caught up, or when it has lingered. */
export function shouldFlush(buffered: number, batchSize: number, trigger: 'event' | 'caught-up' | 'linger' | 'stop'): boolean {
  if (buffered === 0) return false;
  return trigger === 'event' ? buffered >= batchSize : true;
}

export interface RetryPolicy {
  /** Delay before the first retry. */
  readonly initialDelayMs: number;
  /** The delay doubles per failed attempt up to this. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialDelayMs: 200, maxDelayMs: 30_000 };

/** Exponential backoff: initial · 2^(attempt − 1), capped; attempt counts from 1. */
export function retryDelay(attempt: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(policy.initialDelayMs * 2 ** exponent, policy.maxDelayMs);
}

/** How far behind the head of the log a projection is; never negative. */
export function lagOf(head: bigint, position: bigint): bigint {
  return head > position ? head - position : 0n;
}

export interface RebuildProgress {
  /** Last global position written to the new table. */
  readonly position: bigint;
  /** Head of the log when this was measured (it keeps moving while events are appended). */
  readonly head: bigint;
  /** Events of the projection's types applied to the new table so far. */
  readonly eventsApplied: number;
  /** position / head in [0, 1]; 1 for an empty log. */
  readonly ratio: number;
}

export function rebuildProgress(position: bigint, head: bigint, eventsApplied: number): RebuildProgress {
  const ratio = head <= 0n || position >= head ? 1 : Number((position * 10_000n) / head) / 10_000;
  return { position, head, eventsApplied, ratio };
}
