import type { DocumentWrite, StoredDocument } from './decisions.js';

/** Batches a folded document stays in memory only (dirty) before it is written: the batch that folded it and the next one. */
export const DIRTY_BATCHES = 2;

/**
 * The documents a rebuild's replay folded last, kept in memory (tombstones included), so that a
 * document is neither read back from the table nor written to it for every batch that touches it:
 * a document folded by a batch is written with the batch after the next one, unless one of them
 * folds it again (then it waits again), and at the latest when the replay drains the cache (once
 * caught up, and before its table is switched in). A document of a busy stream is thus written
 * about once per pause of two batches in its events, not once per batch. Written documents stay
 * cached (clean) until `capacity` more recent ones push them out.
 *
 * Only for a table that nothing reads or writes but the replay while the cache lives: a rebuild's
 * own table (rebuilds run in one process, other processes write the active table, and readers find
 * the new table only in the transaction that switches it in, after the drain). The replay's
 * checkpoint row then runs ahead of its table's rows until the drain; it is never resumed from (an
 * interrupted rebuild is dropped and starts again from position 0). A cached document is the
 * object `evolve` returned, as within a batch, where a document's events are folded in memory one
 * after the other: the cache is equivalent to larger batches. The owner drops the cache when a
 * write fails.
 */
export class ReplayDocumentCache<Doc = unknown> {
  /** Every cached document, the most recently folded last. */
  private readonly docs = new Map<string, StoredDocument<Doc>>();
  /** The documents not written yet, with the batch that folded them last, the most recent last. */
  private readonly dirty = new Map<string, number>();
  /** Documents pushed out while not written, until the write that writes them commits. */
  private readonly leaving = new Map<string, StoredDocument<Doc>>();
  private batch = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`A replay document cache needs a capacity of at least 1, not ${capacity}`);
  }

  get size(): number {
    return this.docs.size;
  }

  /** Documents folded but not handed out for writing yet. */
  get dirtySize(): number {
    return this.dirty.size;
  }

  /** The document as the replay has it (cached, or on its way to the table), or undefined: read the table. */
  get(id: string): StoredDocument<Doc> | undefined {
    return this.docs.get(id) ?? this.leaving.get(id);
  }

  /**
   * Records what a batch folded (in the order folded) and answers what the batch's write must
   * write: the documents no batch folded since the one before the last, and the unwritten ones
   * pushed out beyond the capacity (those are still answered by `get` until `written`).
   */
  remember(writes: readonly DocumentWrite<Doc>[]): DocumentWrite<Doc>[] {
    const batch = ++this.batch;
    for (const { id, doc, lastPosition } of writes) {
      this.docs.delete(id);
      this.docs.set(id, { doc, lastPosition });
      this.dirty.delete(id);
      this.dirty.set(id, batch);
    }
    const out: DocumentWrite<Doc>[] = [];
    const handedOut = new Set<string>();
    for (const [id, folded] of this.dirty) {
      if (folded > batch - DIRTY_BATCHES) break;
      this.dirty.delete(id);
      out.push({ id, ...this.docs.get(id)! });
      handedOut.add(id);
    }
    for (const [id, stored] of this.docs) {
      if (this.docs.size <= this.capacity) break;
      this.docs.delete(id);
      const unwritten = this.dirty.delete(id);
      // Until its write commits, the table does not have it yet: keep answering it.
      if (unwritten || handedOut.has(id)) this.leaving.set(id, stored);
      if (unwritten) out.push({ id, ...stored });
    }
    return out;
  }

  /** Every document not written yet, now counted as written (the caller writes them next); they stay cached. */
  drain(): DocumentWrite<Doc>[] {
    const out: DocumentWrite<Doc>[] = [];
    for (const id of this.dirty.keys()) out.push({ id, ...this.docs.get(id)! });
    this.dirty.clear();
    return out;
  }

  /** A write committed: the documents it took out of the cache are in the table now. */
  written(writes: readonly DocumentWrite<Doc>[]): void {
    for (const { id, lastPosition } of writes) {
      if (this.leaving.get(id)?.lastPosition === lastPosition) this.leaving.delete(id);
    }
  }

  clear(): void {
    this.docs.clear();
    this.dirty.clear();
    this.leaving.clear();
  }
}
