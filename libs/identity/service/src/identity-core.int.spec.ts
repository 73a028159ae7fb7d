import { describe, expect, it } from '@jest/globals';
import { PostgresEventStore } from '@svp/event-store';
import { PGliteSqlClient } from '@svp/postgres';
import { type DocumentReader, SecretBox, createLogger } from '@svp/service-kit';
import { IdentityCore, type IdentityReaders } from './identity-core.js';

/** A read model nobody projects: records the positions callers waited for. */
function waitingReader<Doc>(): DocumentReader<Doc> & { waitedFor: bigint[] } {
  const waitedFor: bigint[] = [];
  return { waitedFor, get: async () => undefined, waitFor: async (position) => void waitedFor.push(position) };
}

/** An IdentityCore on a fresh PGlite store whose read models record the positions they are asked to wait for. */
async function withCore(test: (core: IdentityCore, readers: Record<keyof IdentityReaders, ReturnType<typeof waitingReader>>, store: PostgresEventStore) => Promise<void>): Promise<void> {
  const sql = await PGliteSqlClient.open();
  try {
    const store = await PostgresEventStore.create(sql);
    const readers = { apiKeys: waitingReader(), orgs: waitingReader(), signingKeys: waitingReader(), sessionIdentity: waitingReader() };
    const core = new IdentityCore({
      store,
      readers: readers as unknown as IdentityReaders,
      secretBox: SecretBox.fromKey(new Uint8Array(32)),
      settings: { clockSkewSeconds: 60, maxActiveKeys: 10, graceSeconds: 3600 },
      logger: createLogger('silent'),
    });
    await test(core, readers, store);
  } finally {
    await sql.close();
  }
}

describe('IdentityCore read-your-writes', () => {
  it('given a new org, then the answer comes only once both its API key and the org itself are readable (separate projections)', () =>
    withCore(async (core, readers, store) => {
      await core.createOrg('Acme');

      const head = await store.headPosition();
      expect(readers.apiKeys.waitedFor).toEqual([head]);
      expect(readers.orgs.waitedFor).toEqual([head]);
    }));

  it('given a new API key, then the answer comes only once introspection and the org\'s key list both see it (GET /v1/api-keys reads the org)', () =>
    withCore(async (core, readers, store) => {
      const { orgId } = await core.createOrg('Acme');
      readers.apiKeys.waitedFor.length = 0;
      readers.orgs.waitedFor.length = 0;

      await core.createApiKey(orgId, ['variables:read'], 'bot reader');

      const head = await store.headPosition();
      expect(readers.apiKeys.waitedFor).toEqual([head]);
      expect(readers.orgs.waitedFor).toEqual([head]);
    }));
});
