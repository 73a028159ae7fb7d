import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningPlatform, banner, startPlatform } from './platform.js';
import { checkOperability, checkSlice } from './slice-checks.js';
import { call } from './slice.js';

describe('embedded mode (npm start): one process, PGlite, in-process bus', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'svp-embedded-'));
  const env = { PGLITE_DATA_DIR: dataDir, LOG_LEVEL: 'silent', HOST: '127.0.0.1', GATEWAY_PORT: '0', IDENTITY_PORT: '0', SESSIONS_PORT: '0', VARIABLES_PORT: '0' };
  let platform: RunningPlatform;

  beforeAll(async () => {
    platform = await startPlatform({ env });
  }, 120_000);
  afterAll(async () => {
    await platform?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URLs, a generated root token and a demo org API key that works', async () => {
    const text = banner(platform);
    for (const url of Object.values(platform.urls)) expect(text).toContain(url);
    expect(platform.rootTokenGenerated).toBe(true);
    expect(text).toContain(platform.rootToken);
    expect(text).toContain(platform.demoOrg.apiKey);
    const answer = await call(`${platform.urls.variables}/v1/sessions/demo-check/variables`, { key: platform.demoOrg.apiKey });
    expect(answer.status).toBe(200);
  });

  it('serves health, readiness, metrics and docs on every service', async () => {
    await checkOperability(platform.urls);
  });

  it('runs the slice: PUT appends, the projection serves the GET, the event reaches the sessions service', async () => {
    await checkSlice(platform.urls, platform.rootToken);
  });

  it('keeps its data across a restart (PGlite files under the data directory)', async () => {
    const key = platform.demoOrg.apiKey;
    const url = (p: RunningPlatform) => `${p.urls.variables}/v1/sessions/restart-check/variables`;
    expect((await call(url(platform), { method: 'PUT', key, body: { sessionVariableValues: [{ name: 'plan', value: 'gold' }] } })).status).toBe(200);
    await platform.close();
    platform = await startPlatform({ env });
    expect(platform.demoOrg.apiKey).toBe(key);
    const answer = await call(url(platform), { key });
    expect(answer.body.variables).toEqual([expect.objectContaining({ name: 'plan', value: 'gold', version: 1 })]);
  }, 120_000);
});
