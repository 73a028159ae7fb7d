import { type DocumentReader, ReadCache } from './read-model.js';

/** A read model in memory that counts its reads; `waitFor` resolves when told. */
function readModel() {
  const docs = new Map<string, { v: number }>();
  let reads = 0;
  let release: (() => void) | undefined;
  const reader: DocumentReader<{ v: number }> = {
    get: async (id) => {
      reads++;
      await Promise.resolve();
      return docs.get(id);
    },
    waitFor: () => new Promise<void>((done) => (release = done)),
  };
  return { docs, reader, reads: () => reads, release: () => release?.() };
}

describe('ReadCache: documents kept for a while, forgotten on this process\'s writes', () => {
  let clock = 0;
  const now = () => clock;
  beforeEach(() => (clock = 1_000));

  it('given a document read, when it is read again within the ttl, then the read model is not asked again; after the ttl it is', async () => {
    const model = readModel();
    model.docs.set('a', { v: 1 });
    const cached = new ReadCache({ ttlMs: 1000, now }).wrap(model.reader);
    expect(await cached.get('a')).toEqual({ v: 1 });
    model.docs.set('a', { v: 2 });
    expect(await cached.get('a')).toEqual({ v: 1 });
    expect(model.reads()).toBe(1);
    clock += 1001;
    expect(await cached.get('a')).toEqual({ v: 2 });
    expect(model.reads()).toBe(2);
  });

  it('given a document that does not exist, then that is not kept: once created it is read', async () => {
    const model = readModel();
    const cached = new ReadCache({ ttlMs: 1000, now }).wrap(model.reader);
    expect(await cached.get('new')).toBeUndefined();
    model.docs.set('new', { v: 1 });
    expect(await cached.get('new')).toEqual({ v: 1 });
  });

  it('given a write of this process, when it waits for its position, then everything cached is forgotten (a revocation applies at once)', async () => {
    const model = readModel();
    model.docs.set('a', { v: 1 });
    const cached = new ReadCache({ ttlMs: 60_000, now }).wrap(model.reader);
    await cached.get('a');
    model.docs.set('a', { v: 2 });
    const waiting = cached.waitFor(10n);
    model.release();
    await waiting;
    expect(await cached.get('a')).toEqual({ v: 2 });
  });

  it('given a read in flight when the cache is cleared, then its (older) document is not put back', async () => {
    const model = readModel();
    model.docs.set('a', { v: 1 });
    const cached = new ReadCache({ ttlMs: 60_000, now }).wrap(model.reader);
    const inFlight = cached.get('a');
    cached.clear();
    expect(await inFlight).toEqual({ v: 1 });
    model.docs.set('a', { v: 2 });
    expect(await cached.get('a')).toEqual({ v: 2 });
  });

  it('given a write waited for on one reader, then the other readers of the group forget theirs too (one write changes several documents)', async () => {
    const keys = readModel();
    const orgs = readModel();
    orgs.docs.set('org', { v: 1 });
    const cache = new ReadCache({ ttlMs: 60_000, now });
    const keysReader = cache.wrap(keys.reader);
    const orgsReader = cache.wrap(orgs.reader);
    await orgsReader.get('org');
    orgs.docs.set('org', { v: 2 });
    const waiting = keysReader.waitFor(5n);
    keys.release();
    await waiting;
    expect(await orgsReader.get('org')).toEqual({ v: 2 });
  });

  it('given more documents than maxEntries, then the oldest is let go', async () => {
    const model = readModel();
    for (const id of ['a', 'b', 'c']) model.docs.set(id, { v: 1 });
    const cached = new ReadCache({ ttlMs: 60_000, now, maxEntries: 2 }).wrap(model.reader);
    for (const id of ['a', 'b', 'c']) await cached.get(id);
    const before = model.reads();
    await cached.get('c');
    await cached.get('a');
    expect(model.reads()).toBe(before + 1);
  });
});
