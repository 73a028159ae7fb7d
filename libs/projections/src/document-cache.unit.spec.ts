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
