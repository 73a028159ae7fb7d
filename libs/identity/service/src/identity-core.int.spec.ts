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

describe('IdentityCore read-your-writes', () => {
  it('given a new org, then the answer comes only once both its API key and the org itself are readable (separate projections)', async () => {
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

      await core.createOrg('Acme');

      const head = await store.headPosition();
      expect(readers.apiKeys.waitedFor).toEqual([head]);
      expect(readers.orgs.waitedFor).toEqual([head]);
    } finally {
      await sql.close();
    }
  });
});
