import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { type RunningPlatform, startPlatform } from './platform.js';

/**
 * The demo in a real browser: Debian's headless Chromium driven by playwright-core (no browser
 * download), against the embedded platform. Chromium is CHROMIUM_PATH, else the system's; .ci/run
 * installs it. Without one this suite fails and says how to get it: it never passes by not running.
 */
const ROOT = resolve(import.meta.dirname, '../../..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const BUNDLE = join(ROOT, 'libs/widget/dist/widget.bundle.js');

function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`No Chromium found (tried ${candidates.join(', ')}): install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH`);
  return found;
}

describe('the demo in headless Chromium: the shop with the widget, the agent console live', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'svp-demo-'));
  const env = {
    PGLITE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    GATEWAY_PORT: '0',
    IDENTITY_PORT: '0',
    SESSIONS_PORT: '0',
    VARIABLES_PORT: '0',
    WEBHOOK_RETRY_DELAYS: '100ms,200ms,300ms',
    WEBHOOK_RETRY_EVERY: '300ms',
  };
  let platform: RunningPlatform;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // The page imports the widget bundle the gateway serves: built by `npm run build` and `npm test`; built here when missing.
    if (!existsSync(BUNDLE)) {
      const built = spawnSync(process.execPath, [join(ROOT, 'libs/widget/build-bundle.mjs')], { stdio: 'inherit' });
      if (built.status !== 0) throw new Error('Building the widget bundle failed');
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    platform = await startPlatform({ env });
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await platform?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const text = (selector: string) => page.locator(selector).textContent();
  const row = (name: string, scope: string) => page.locator(`#console-variables tr[data-name="${name}"][data-scope="${scope}"]`);
  const valueOf = async (name: string, scope: string) => JSON.parse((await row(name, scope).locator('td.value').textContent()) ?? 'undefined');
  const waitText = (selector: string, expected: string) =>
    page.waitForFunction(([s, e]) => document.querySelector(s!)?.textContent === e, [selector, expected], { timeout: 10_000 });
  const liveEvents = async () => {
    const metrics = await (await fetch(`${platform.urls.gateway}/metrics`)).text();
    return [...metrics.matchAll(/^svp_gateway_live_events_total\{[^}]*type="(\w+)"[^}]*\} (\d+)/gm)].reduce<Record<string, number>>((acc, m) => ({ ...acc, [m[1]!]: Number(m[2]) }), {});
  };
  let sessionId: string;
  let visitorId: string;

  it('loads the demo: the widget starts a session with the widget key and the console follows it live', async () => {
    expect(platform.demo).toBeDefined();
    await page.goto(`${platform.urls.gateway}/demo`);
    await page.waitForFunction(() => !!document.getElementById('widget-status')?.dataset.sessionId, undefined, { timeout: 15_000 });
    sessionId = (await page.locator('#widget-status').getAttribute('data-session-id'))!;
    visitorId = (await page.locator('#widget-status').getAttribute('data-visitor-id'))!;
    expect(sessionId).toMatch(/^ses_/);
    expect(visitorId).toBeTruthy();
    await waitText('#console-live', 'live');
    expect(await text('#console-session')).toBe(sessionId);
    expect(await text('#console-status')).toBe('CREATED');
    // The initial variables the page passed on first render (Zoho's sessionVariableValues).
    await row('page', 'session').waitFor();
    expect(await valueOf('page', 'session')).toBe('/demo');
    // The page itself never held an org key: its visitor token is scoped to this session.
    const stored = await page.evaluate(() => Object.entries(localStorage).map(([k, v]) => [k, v]));
    expect(JSON.stringify(stored)).toContain(sessionId);
    expect(JSON.stringify(stored)).toContain('svpv_');
    expect(JSON.stringify(stored)).not.toContain(platform.demo!.consoleKey);
  }, 30_000);

  it('sets variables from the page and the agent panel updates through the subscription', async () => {
    const before = (await liveEvents()).SessionVariablesChanged ?? 0;
    await page.locator('.add-to-cart[data-item="grinder"]').click();
    await row('cartValue', 'session').waitFor({ timeout: 10_000 });
    expect(await valueOf('cartValue', 'session')).toBe(89);
    expect(await valueOf('lastItem', 'session')).toBe('grinder');
    await page.fill('#var-name', 'customerId');
    await page.fill('#var-value', '6320834868293');
    await page.click('#set-var');
    await row('customerId', 'session').waitFor({ timeout: 10_000 });
    // Typed as given: a string of digits stays a string.
    expect(await valueOf('customerId', 'session')).toBe('6320834868293');
    expect(await row('customerId', 'session').locator('td').nth(3).textContent()).toBe('widget');
    // The console read nothing itself: the changes reached it as integration events through the gateway's hub.
    expect((await liveEvents()).SessionVariablesChanged ?? 0).toBeGreaterThan(before);

    // A visitor variable (giosg): username becomes the display name.
    await page.fill('#username', 'Jane');
    await page.click('#submit-name');
    await waitText('#console-display-name', 'Jane');
    expect(await valueOf('username', 'visitor')).toBe('Jane');
    expect(await row('username', 'visitor').getAttribute('data-verified')).toBe('false');
  }, 30_000);

  it('signs in with a JWT: authenticatedStatus turns true, verified, with the provided name and email', async () => {
    expect(await text('#console-authenticated')).toBe('false');
    await page.click('#signin');
    await waitText('#signin-result', 'Signed in as cust-42');
    await waitText('#console-authenticated', 'true');
    expect(await row('authenticatedStatus', 'metadata').getAttribute('data-verified')).toBe('true');
    expect(await valueOf('providedName', 'metadata')).toBe('Jane Doe');
    expect(await valueOf('providedEmail', 'metadata')).toBe('jane@example.com');
    expect(await valueOf('authenticatedExternalId', 'metadata')).toBe('cust-42');
  }, 30_000);

  it('shows status changes and the webhook deliveries live, their signatures checked', async () => {
    await page.click('#agent-route');
    await waitText('#console-status', 'OPEN');
    await page.click('#agent-assign');
    await waitText('#console-status', 'ON_HOLD');
    expect(await text('#console-assignee')).toBe('agent-1 (AGENT)');
    await page.click('#agent-reply');
    await waitText('#console-status', 'ON_PROGRESS');
    expect(await text('#console-old-status')).toBe('ON_HOLD');
    expect(await text('#console-messages')).toBe('1');
    await page.locator('#console-deliveries li[data-status="ON_PROGRESS"][data-signature-valid="true"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#console-deliveries li[data-signature-valid="false"]').count()).toBe(0);
  }, 30_000);

  it('survives a reload: the same session resumes, its variables still there', async () => {
    await page.reload();
    await page.waitForFunction(() => !!document.getElementById('widget-status')?.dataset.sessionId, undefined, { timeout: 15_000 });
    expect(await page.locator('#widget-status').getAttribute('data-session-id')).toBe(sessionId);
    expect(await page.locator('#widget-status').getAttribute('data-visitor-id')).toBe(visitorId);
    await waitText('#console-live', 'live');
    await waitText('#console-status', 'ON_PROGRESS');
    await waitText('#console-display-name', 'Jane');
    await row('cartValue', 'session').waitFor();
    expect(await valueOf('cartValue', 'session')).toBe(89);
    expect(await text('#console-authenticated')).toBe('true');
    // The shop read its cart back from the resumed session's variables.
    await waitText('#cart-items', '1');
    expect(await text('#cart-total')).toBe('89');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-live.png'), fullPage: true });
  }, 30_000);

  it('ends the session on logout: the console sees ENDED and the session variables discarded; nothing survives for the next user', async () => {
    await page.click('#logout');
    await waitText('#console-status', 'ENDED');
    await page.waitForFunction(() => document.querySelectorAll('#console-variables tr[data-scope="session"]').length === 0, undefined, { timeout: 10_000 });
    await waitText('#console-authenticated', 'false');
    await page.locator('#console-deliveries li[data-status="ENDED"][data-signature-valid="true"]').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-after-logout.png'), fullPage: true });
    // The stored session is gone from the page, and the variables service no longer has its variables.
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('svp-widget')).map((k) => localStorage.getItem(k)))).toEqual([]);
    const read = await fetch(`${platform.urls.variables}/v1/sessions/${sessionId}/variables`, { headers: { authorization: `Bearer ${platform.demoOrg.apiKey}` } });
    const { variables } = (await read.json()) as { variables: { scope: string; name: string; value: unknown }[] };
    expect(variables.filter((v) => v.scope === 'session')).toEqual([]);
    expect(variables.find((v) => v.name === 'authenticatedStatus')?.value).toBe(false);

    // The next visitor on this browser gets a new session, with none of the previous user's data.
    await page.reload();
    await page.waitForFunction((old) => !!document.getElementById('widget-status')?.dataset.sessionId && document.getElementById('widget-status')?.dataset.sessionId !== old, sessionId, {
      timeout: 15_000,
    });
    await waitText('#console-live', 'live');
    // Another visitor: logout left the page no token to resume with (and a copy of it would be refused,
    // LOGGED_OUT: checked in visitor-checks.ts), so neither their visitor variables nor their display
    // name come back.
    expect(await page.locator('#widget-status').getAttribute('data-visitor-id')).not.toBe(visitorId);
    await waitText('#console-display-name', 'Visitor');
    expect(await row('username', 'visitor').count()).toBe(0);
    expect(await row('cartValue', 'session').count()).toBe(0);
    expect(await text('#console-authenticated')).toBe('false');
    expect(pageErrors).toEqual([]);
  }, 45_000);
});
