/** What a query side needs from a document projection: a read by id, and read-your-writes. */
export interface DocumentReader<Doc> {
  get(id: string): Promise<Doc | undefined>;
  /** Resolves once the projection has applied the global log up to `position`; 503 past the timeout. */
  waitFor(position: bigint, timeoutMs?: number): Promise<void>;
}

export interface CachedDocumentReader<Doc> extends DocumentReader<Doc> {
  /** Forgets every document cached by this reader's group (the next reads go to the read models). */
  clear(): void;
}

/**
 * Keeps the documents its readers read for `ttlMs` (a document that does not exist is not kept: it
 * may be created at any moment). A write made through this process waits for its position with
 * `waitFor` on one of the group's readers, which then forgets what EVERY reader of the group cached
 * (one write may change several documents: a new API key is in the key's document and its org's), so
 * this process reads its own writes at once and a revocation takes effect here immediately. A write
 * made by another instance shows here within `ttlMs`. A read that began before a clear does not put
 * its document back.
 */
export class ReadCache {
  private generation = 0;
  private readonly caches = new Set<Map<string, unknown>>();
  private readonly now: () => number;
  private readonly maxEntries: number;

  constructor(private readonly options: { ttlMs: number; maxEntries?: number; now?: () => number }) {
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  clear(): void {
    this.generation++;
    for (const cache of this.caches) cache.clear();
  }

  wrap<Doc>(reader: DocumentReader<Doc>): CachedDocumentReader<Doc> {
    const cache = new Map<string, { doc: Doc; until: number }>();
    this.caches.add(cache);
    return {
      get: async (id) => {
        const hit = cache.get(id);
        if (hit && hit.until > this.now()) return hit.doc;
        if (hit) cache.delete(id);
        const started = this.generation;
        const doc = await reader.get(id);
        if (doc !== undefined && started === this.generation) {
          if (cache.size >= this.maxEntries) cache.delete(cache.keys().next().value as string);
          cache.set(id, { doc, until: this.now() + this.options.ttlMs });
        }
        return doc;
      },
      waitFor: async (position, timeoutMs) => {
        try {
          await reader.waitFor(position, timeoutMs);
        } finally {
          this.clear();
        }
      },
      clear: () => this.clear(),
    };
  }
}
