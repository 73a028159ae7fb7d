import { describe, expect, it } from '@jest/globals';
import type { DocumentWrite } from './decisions.js';
import { DIRTY_BATCHES, ReplayDocumentCache } from './replay-document-cache.js';

const folded = (id: string, position: number, doc: unknown = { id, position }): DocumentWrite => ({ id, doc, lastPosition: BigInt(position) });
const ids = (writes: readonly DocumentWrite[]) => writes.map((write) => write.id);

describe('ReplayDocumentCache', () => {
  it('given a document folded by a batch, then it is answered from memory and written with the batch after the next one', () => {
    expect(DIRTY_BATCHES).toBe(2);
    const cache = new ReplayDocumentCache(10);
    expect(cache.remember([folded('a', 1)])).toEqual([]);
    expect(cache.get('a')).toEqual({ doc: { id: 'a', position: 1 }, lastPosition: 1n });
    expect(cache.remember([folded('b', 2)])).toEqual([]);
    expect(cache.remember([folded('c', 3)])).toEqual([folded('a', 1)]);
    // Written, it stays cached (clean): no second write, and no read from the table.
    expect(cache.get('a')).toEqual({ doc: { id: 'a', position: 1 }, lastPosition: 1n });
    expect(cache.remember([])).toEqual([folded('b', 2)]);
    expect(cache.dirtySize).toBe(1);
  });

  it('given a document folded again before its write, then it waits again and is written once, as folded last', () => {
    const cache = new ReplayDocumentCache(10);
    cache.remember([folded('a', 1)]);
    cache.remember([folded('a', 2)]);
    expect(cache.remember([folded('a', 3)])).toEqual([]);
    expect(cache.remember([])).toEqual([]);
    expect(cache.remember([])).toEqual([folded('a', 3)]);
    expect(cache.remember([])).toEqual([]);
  });

  it('given a drain, then every document not written yet is answered once and stays cached', () => {
    const cache = new ReplayDocumentCache(10);
    cache.remember([folded('a', 1), folded('b', 2)]);
    cache.remember([folded('c', 3)]);
    expect(ids(cache.drain()).sort()).toEqual(['a', 'b', 'c']);
    expect(cache.drain()).toEqual([]);
    expect(cache.remember([])).toEqual([]);
    expect(cache.get('c')).toEqual({ doc: { id: 'c', position: 3 }, lastPosition: 3n });
    // A tombstone is a document too.
    cache.remember([folded('c', 4, null)]);
    expect(cache.drain()).toEqual([folded('c', 4, null)]);
  });

  it('given more documents than the capacity, then the least recently folded leave; one not written yet is handed out and answered until its write commits', () => {
    const cache = new ReplayDocumentCache(2);
    cache.remember([folded('a', 1), folded('b', 2)]);
    expect(cache.remember([folded('c', 3)])).toEqual([folded('a', 1)]);
    expect(cache.size).toBe(2);
    expect(cache.get('a')).toEqual({ doc: { id: 'a', position: 1 }, lastPosition: 1n });
    cache.written([folded('a', 1)]);
    expect(cache.get('a')).toBeUndefined(); // in the table now: read it from there
    // A clean document just leaves.
    cache.remember([]);
    cache.remember([]); // b and c written
    expect(cache.remember([folded('d', 4)])).toEqual([]);
    expect(cache.get('b')).toBeUndefined();
  });

  it('given a document handed out for writing and pushed out in the same batch, then it is answered until that write commits', () => {
    const cache = new ReplayDocumentCache(2);
    cache.remember([folded('a', 1)]);
    cache.remember([folded('b', 2)]);
    const out = cache.remember([folded('c', 3), folded('d', 4)]);
    expect(out).toEqual([folded('a', 1), folded('b', 2)]);
    expect(cache.get('a')).toEqual({ doc: { id: 'a', position: 1 }, lastPosition: 1n });
    expect(cache.get('b')).toEqual({ doc: { id: 'b', position: 2 }, lastPosition: 2n });
    cache.written(out);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeUndefined();
  });

  it('given a write that committed after the document was folded again, then the newer version stays', () => {
    const cache = new ReplayDocumentCache(1);
    cache.remember([folded('a', 1)]);
    const out = cache.remember([folded('b', 2)]);
    expect(out).toEqual([folded('a', 1)]);
    cache.remember([folded('a', 3)]);
    cache.written(out);
    expect(cache.get('a')).toEqual({ doc: { id: 'a', position: 3 }, lastPosition: 3n });
  });

  it('given clear, then nothing is answered, and a capacity below 1 is refused', () => {
    const cache = new ReplayDocumentCache(5);
    cache.remember([folded('a', 1)]);
    cache.clear();
    expect(cache.get('a')).toBeUndefined();
    expect(cache.drain()).toEqual([]);
    expect(() => new ReplayDocumentCache(0)).toThrow(/capacity/);
  });
});
