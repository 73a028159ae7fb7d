import { describe, expect, it } from '@jest/globals';
import { PostgresEventStore } from '@svp/event-store';
import { PGliteSqlClient } from '@svp/postgres';
import { exportSPKI, generateKeyPair } from 'jose';
import pino from 'pino';
import { AppError, type DocumentReader, SecretBox } from '@svp/service-kit';
import { IdentityCore, type IdentityReaders } from './identity-core.js';
import { orgsProjection, signingKeysProjection } from './projections.js';

/**
 * A read model nobody projects: records the positions callers waited for; `lagging` makes its waits
 * fail as a projection that cannot catch up in time does (503), `doc` is what it reads.
 */
function waitingReader<Doc>(): DocumentReader<Doc> & { waitedFor: bigint[]; lagging: boolean; doc?: unknown } {
  const reader = {
    waitedFor: [] as bigint[],
    lagging: false,
    doc: undefined as unknown,
    get: async () => reader.doc as Doc | undefined,
    waitFor: async (position: bigint) => {
      reader.waitedFor.push(position);
      if (reader.lagging) throw new AppError('SERVICE_UNAVAILABLE', 'The read model did not catch up in time');
    },
  };
  return reader;
}

/** An IdentityCore on a fresh PGlite store whose read models record the positions they are asked to wait for. */
async function withCore(
  test: (core: IdentityCore, readers: Record<keyof IdentityReaders, ReturnType<typeof waitingReader>>, store: PostgresEventStore, warnings: string[]) => Promise<void>,
): Promise<void> {
  const sql = await PGliteSqlClient.open();
  try {
    const store = await PostgresEventStore.create(sql);
    const readers = { apiKeys: waitingReader(), orgs: waitingReader(), signingKeys: waitingReader(), sessionIdentity: waitingReader() };
    const warnings: string[] = [];
    const core = new IdentityCore({
      store,
      readers: readers as unknown as IdentityReaders,
      secretBox: SecretBox.fromKey(new Uint8Array(32)),
      settings: { clockSkewSeconds: 60, maxActiveKeys: 10, graceSeconds: 3600 },
      logger: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(String(JSON.parse(line).msg)) }),
    });
    await test(core, readers, store, warnings);
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

describe('IdentityCore: a secret shown only once is never lost to a slow read model', () => {
  const typesOf = async (store: PostgresEventStore) => (await store.readAll()).map((e) => e.type);
  /** What a caught-up read model would hold: the projection's own evolve over the stored events. */
  const folded = async <Doc>(store: PostgresEventStore, projection: { canHandle: readonly string[]; evolve: (doc: Doc | null, event: never) => Doc | null }) => {
    let doc: Doc | null = null;
    for (const event of await store.readAll()) if (projection.canHandle.includes(event.type)) doc = projection.evolve(doc, event as never);
    return doc ?? undefined;
  };

  it('given the API keys projection cannot catch up in time, when an API key is created, then the key is answered anyway (it is stored) and the delay is logged', () =>
    withCore(async (core, readers, store, warnings) => {
      const { orgId } = await core.createOrg('Acme');
      readers.apiKeys.lagging = true;

      const created = await core.createApiKey(orgId, ['variables:read'], 'bot reader');

      expect(created.apiKey).toMatch(/^svp_/);
      expect(await typesOf(store)).toContain('ApiKeyIssued');
      expect(warnings).toEqual([expect.stringContaining('API key not yet readable; answering anyway')]);
    }));

  it('given the read models lag when an org is created, then its first key is answered anyway', () =>
    withCore(async (core, readers, _store, warnings) => {
      readers.orgs.lagging = true;
      const created = await core.createOrg('Acme');
      expect(created.apiKey).toMatch(/^svp_/);
      expect(warnings).toHaveLength(1);
    }));

  it('given the signing keys projection lags, when an HS256 key is created or rotated, then its secret is answered anyway', () =>
    withCore(async (core, readers, store, warnings) => {
      const { orgId } = await core.createOrg('Acme');
      readers.orgs.doc = await folded(store, orgsProjection);
      readers.signingKeys.lagging = true;

      const created = await core.createSigningKey(orgId, { alg: 'HS256' });
      expect(created.secret).toEqual(expect.any(String));

      readers.signingKeys.doc = await folded(store, signingKeysProjection);
      const rotated = await core.rotateSigningKey(orgId, created.kid, {});
      expect(rotated.secret).toEqual(expect.any(String));
      expect(rotated.replaces).toBe(created.kid);
      expect(warnings).toEqual([expect.stringContaining('Signing key not yet readable'), expect.stringContaining('Signing key not yet readable')]);
      expect(await typesOf(store)).toEqual(expect.arrayContaining(['SigningKeyCreated', 'SigningKeyRotated']));
    }));

  it('given the signing keys projection lags, when a public key is registered (no secret in the answer), then the call fails with 503 as any other command does', () =>
    withCore(async (core, readers, store) => {
      const { orgId } = await core.createOrg('Acme');
      readers.orgs.doc = await folded(store, orgsProjection);
      readers.signingKeys.lagging = true;
      const { publicKey } = await generateKeyPair('RS256');

      await expect(core.createSigningKey(orgId, { alg: 'RS256', publicKey: await exportSPKI(publicKey) })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    }));
});
