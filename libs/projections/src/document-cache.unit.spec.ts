import { describe, expect, it } from '@jest/globals';
import { CachedReadModelReader, DocumentCache } from './document-cache.js';

describe('DocumentCache', () => {
  it('given a document stored with a fresh token, when it is looked up, then it is a hit', () => {
    const cache = new DocumentCache<{ v: number }>();
    cache.store('a', { v: 1 }, cache.begin());
    expect(cache.lookup('a')).toEqual({ doc: { v: 1 } });
    expect(cache.stats).toEqual({ hits: 1, misses: 0 });
  });

  it('given a cached document, when a batch touching it is committed, then it is forgotten and others stay', () => {
    const cache = new DocumentCache<number>();
    cache.store('a', 1, cache.begin());
    cache.store('b', 2, cache.begin());
    cache.invalidate(['a']);
    expect(cache.lookup('a')).toBeUndefined();
    expect(cache.lookup('b')).toEqual({ doc: 2 });
  });

  it('given a read that began before an invalidation of its document, when it stores what it read, then it is not kept (the table may have changed under it)', () => {
    const cache = new DocumentCache<number>();
    const token = cache.begin();
    cache.invalidate(['a']);
    cache.store('a', 1, token);
    expect(cache.lookup('a')).toBeUndefined();
    // Another document's invalidation does not hold this one back.
    const later = cache.begin();
    cache.invalidate(['b']);
    cache.store('a', 1, later);
    expect(cache.lookup('a')).toEqual({ doc: 1 });
  });

  it('given a document that does not exist, then that is kept until a batch touches it (its creation)', () => {
    const cache = new DocumentCache<number>();
    cache.store('a', null, cache.begin());
    expect(cache.lookup('a')).toEqual({ doc: null });
    cache.invalidate(['a']);
    expect(cache.lookup('a')).toBeUndefined();
  });

  it('given a document older than the ttl, then it is read again', () => {
    let now = 1_000;
    const cache = new DocumentCache<number>({ ttlMs: 100, now: () => now });
    cache.store('a', 1, cache.begin());
    now += 99;
    expect(cache.lookup('a')).toEqual({ doc: 1 });
    now += 1;
    expect(cache.lookup('a')).toBeUndefined();
  });

  it('given more documents than maxEntries, then the least recently used goes first', () => {
    const cache = new DocumentCache<number>({ maxEntries: 2 });
    cache.store('a', 1, cache.begin());
    cache.store('b', 2, cache.begin());
    cache.lookup('a');
    cache.store('c', 3, cache.begin());
    expect(cache.lookup('b')).toBeUndefined();
    expect(cache.lookup('a')).toEqual({ doc: 1 });
    expect(cache.lookup('c')).toEqual({ doc: 3 });
  });

  it('given invalidations beyond what it remembers per id, then a read that began before them is still refused (low-water mark)', () => {
    const cache = new DocumentCache<number>({ maxEntries: 1 }); // remembers 4 invalidations
    const token = cache.begin();
    cache.invalidate(['a']);
    for (const id of ['b', 'c', 'd', 'e', 'f']) cache.invalidate([id]);
    cache.store('a', 1, token);
    expect(cache.lookup('a')).toBeUndefined();
    cache.store('a', 1, cache.begin());
    expect(cache.lookup('a')).toEqual({ doc: 1 });
  });

  it('given a clear (a rebuild switched the table), then everything is forgotten and reads begun before it are refused', () => {
    const cache = new DocumentCache<number>();
    cache.store('a', 1, cache.begin());
    const token = cache.begin();
    cache.clear();
    cache.store('b', 2, token);
    expect(cache.size).toBe(0);
  });

  it('given a document invalidated and stored again, then the new one is answered; a full cache evicts the least recently used, an invalidated entry included', () => {
    const cache = new DocumentCache<number>({ maxEntries: 2 });
    cache.store('a', 1, cache.begin());
    cache.store('b', 2, cache.begin());
    cache.invalidate(['a']);
    expect(cache.lookup('a')).toBeUndefined();
    cache.store('a', 3, cache.begin());
    expect(cache.lookup('a')).toEqual({ doc: 3 });
    cache.store('c', 4, cache.begin()); // b is the least recently used
    expect(cache.lookup('b')).toBeUndefined();
    expect([cache.lookup('a'), cache.lookup('c')]).toEqual([{ doc: 3 }, { doc: 4 }]);
    expect(cache.size).toBe(2);
  });

  // Not a benchmark (no absolute time): the cost of one hot document's accesses must not grow with
  // the number of documents cached. Kept in order by delete-and-set in a Map, it did (V8 keeps the
  // dead entries in the bucket's chain until a rehash): at 20,000 documents each hit cost about 20
  // times what it cost at 1,000, and each invalidation and re-read of a hot document as much.
  it('given a hot document among many, then reading it, invalidating it and storing it again costs about the same at 20,000 documents as at 1,000', () => {
    const costOf = (documents: number): number => {
      const cache = new DocumentCache<{ i: number }>({ maxEntries: documents, ttlMs: 3_600_000 });
      for (let i = 0; i < documents; i++) cache.store(`org.session-${i}`, { i }, cache.begin());
      let hits = 0;
      const started = process.hrtime.bigint();
      for (let i = 0; i < 10_000; i++) {
        if (cache.lookup('org.session-1') !== undefined) hits++;
        cache.invalidate(['org.session-2']);
        cache.store('org.session-2', { i }, cache.begin());
      }
      const took = Number(process.hrtime.bigint() - started);
      expect(hits).toBe(10_000);
      return took;
    };
    costOf(1_000); // warm-up
    // The best of three rounds each: the machine may be busy with other work for one of them.
    const small = Math.min(costOf(1_000), costOf(1_000), costOf(1_000));
    const large = Math.min(costOf(20_000), costOf(20_000), costOf(20_000));
    expect(large / small).toBeLessThan(5);
  });

  // lru-cache bounded by `max` allocates and fills its arrays for `max` entries (and `max` × 4 for
  // the invalidations) when it is built: about 8 MB a cache at 100,000 entries, 2.8 MB at the
  // variables service's default of 20,000 (three caches, resident from start-up). Bounded by
  // `maxSize`, a new cache costs what it holds.
  it('given a cache sized for 100,000 documents, when it is built, then it takes memory for what it holds, not for its bound', () => {
    const used = (): number => {
      const { heapUsed, arrayBuffers } = process.memoryUsage();
      return heapUsed + arrayBuffers;
    };
    const before = used();
    const caches = Array.from({ length: 5 }, () => new DocumentCache<number>({ maxEntries: 100_000 }));
    const grew = used() - before;
    caches.forEach((cache, i) => cache.store('a', i, cache.begin()));
    expect(caches.map((cache) => cache.lookup('a'))).toEqual([0, 1, 2, 3, 4].map((doc) => ({ doc })));
    expect(grew).toBeLessThan(4 * 1024 * 1024); // five caches bounded by `max`: about 40 MB
  });
});

describe('CachedReadModelReader', () => {
  it('reads the table once for repeated gets, again after an invalidation, and never caches find', async () => {
    const reads: string[] = [];
    let version = 1;
    const table = {
      get: async (id: string) => (reads.push(`get ${id}`), { id, version }),
      find: async () => (reads.push('find'), []),
      table: async () => 'rm_t_v1',
    };
    const reader = new CachedReadModelReader(table, new DocumentCache<{ id: string; version: number }>());
    expect(await reader.get('a')).toEqual({ id: 'a', version: 1 });
    expect(await reader.get('a')).toEqual({ id: 'a', version: 1 });
    version = 2;
    reader.cache.invalidate(['a']);
    expect(await reader.get('a')).toEqual({ id: 'a', version: 2 });
    await reader.find();
    await reader.find();
    expect(reads).toEqual(['get a', 'get a', 'find', 'find']);
  });
});
