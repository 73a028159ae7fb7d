import { LRUCache } from 'lru-cache';
import type { FindOptions } from './read-model-reader.js';

export interface DocumentCacheOptions {
  /** Documents kept (least recently used goes first). Default 10,000. */
  readonly maxEntries?: number;
  /**
   * A document is read again after this long even if no batch touched it (a safety net: another
   * instance's projection may have written the table a moment before this instance's own projection
   * sees the event). Default 5,000 ms.
   */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/** Every record counts as one entry against `maxSize` (see the constructor). */
const one = (): number => 1;

/**
 * The documents of one read model that this process read recently, kept in memory and forgotten
 * exactly when this process's projection commits a batch that touches them (before the waiters of
 * that batch are told: a write that waited for its position then reads its own write).
 *
 * A read that misses goes to the table and may put what it read back, unless the document was
 * invalidated after the read began (the table may have changed under it): `begin()` hands out a
 * token (the invalidation sequence number at the start), and `store()` refuses a document
 * invalidated since. Invalidations are remembered per id, boundedly; an id forgotten from that
 * record counts as invalidated at the record's low-water mark. That a document does not exist is
 * kept too (its creation is a batch that touches it). Pure apart from the clock; no I/O.
 *
 * Callers get the cached object itself: it must not be mutated.
 *
 * Both records are lru-cache instances, and an id is never deleted and set again: V8 leaves a
 * deleted Map entry in its hash bucket's chain until the table is rehashed, so deleting and
 * re-adding one id over and over (an agent console polling a session: the LRU move of a Map kept in
 * order by delete-and-set; a session written again and again: its invalidation and re-read) makes
 * each access walk thousands of dead entries: 19 µs at 10,000 documents, 67 µs at 40,000
 * (docs/benchmarks.md, b.). An invalidated or expired document is marked stale in place instead and
 * replaced by the next `store`.
 */
export class DocumentCache<Doc> {
  private readonly entries: LRUCache<string, { readonly doc: Doc | null; until: number }>;
  private readonly invalidated: LRUCache<string, { sequence: number }>;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private sequence = 0;
  /** Every invalidation no longer in `invalidated` happened at or before this sequence number. */
  private lowWater = 0;
  readonly stats = { hits: 0, misses: 0 };

  constructor(options: DocumentCacheOptions = {}) {
    const maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    // Bounded by `maxSize` with a size of 1 an entry, not by `max`: lru-cache allocates and fills
    // its arrays for `max` entries up front (with the variables service's 20,000 documents, 2.8 MB
    // a cache, three caches, most of it resident from start-up: docs/benchmarks.md, f.), and grows
    // them as entries come with `maxSize`. Eviction is the same.
    this.entries = new LRUCache({ maxSize: maxEntries, sizeCalculation: one });
    this.invalidated = new LRUCache({
      maxSize: maxEntries * 4,
      sizeCalculation: one,
      // An id forgotten from the record counts as invalidated at the low-water mark (never later than it was).
      dispose: ({ sequence }, _id, reason) => {
        if (reason === 'evict' && sequence > this.lowWater) this.lowWater = sequence;
      },
    });
    this.ttlMs = options.ttlMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached document (`{ doc: null }`: known not to exist), or undefined (a miss: read the table, then `store`). */
  lookup(id: string): { doc: Doc | null } | undefined {
    // A hit becomes the most recently used (least recently used goes first).
    const entry = this.entries.get(id);
    if (entry === undefined || entry.until <= this.now()) {
      // An expired or invalidated entry stays until `store` replaces it in place (see the class).
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return { doc: entry.doc };
  }

  /** A token to take before reading the table for a miss. */
  begin(): number {
    return this.sequence;
  }

  /** Keeps a document (null: none) read with `token`, unless it was invalidated since. */
  store(id: string, doc: Doc | null, token: number): void {
    if ((this.invalidated.peek(id)?.sequence ?? this.lowWater) > token) return;
    this.entries.set(id, { doc, until: this.now() + this.ttlMs });
  }

  /** Forgets these documents: a batch touching them was committed. */
  invalidate(ids: Iterable<string>): void {
    const sequence = ++this.sequence;
    for (const id of ids) {
      // Marked stale in place rather than deleted: the next `store` of the id then replaces it.
      const entry = this.entries.peek(id);
      if (entry !== undefined) entry.until = 0;
      this.invalidated.set(id, { sequence });
    }
  }

  /** Forgets everything (the table was switched by a rebuild, or the projection stopped). */
  clear(): void {
    this.sequence++;
    this.entries.clear();
    this.invalidated.clear();
    this.lowWater = this.sequence;
  }
}

/** What a cached reader needs of the table reader. */
interface TableReader<Doc> {
  get(id: string): Promise<Doc | null>;
  find(options?: FindOptions): Promise<Doc[]>;
  table(): Promise<string | undefined>;
}

/** A ReadModelReader whose `get` goes through a DocumentCache (see ProjectionRunner.cachedReader); `find` always reads the table. */
export class CachedReadModelReader<Doc> {
  constructor(
    private readonly reader: TableReader<Doc>,
    readonly cache: DocumentCache<Doc>,
  ) {}

  async get(id: string): Promise<Doc | null> {
    const cached = this.cache.lookup(id);
    if (cached !== undefined) return cached.doc;
    const token = this.cache.begin();
    const doc = await this.reader.get(id);
    this.cache.store(id, doc, token);
    return doc;
  }

  find(options?: FindOptions): Promise<Doc[]> {
    return this.reader.find(options);
  }

  table(): Promise<string | undefined> {
    return this.reader.table();
  }
}
