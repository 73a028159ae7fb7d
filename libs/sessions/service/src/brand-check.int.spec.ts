import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError } from '@svp/service-kit';
import { BRAND_LIST_BUDGET, HttpBrandCheck } from './brand-check.js';

// The client of identity's list of an org's brands against a real HTTP server: a brand of the org
// passes (and is then remembered), any other is 404, and an identity that cannot answer is a 503,
// never a silent pass.
let server: Server;
let url: string;
const seen: { path?: string; authorization?: string }[] = [];
let answer: { status: number; body: unknown; headers?: Record<string, string>; delayMs?: number } = { status: 200, body: { brands: [] } };

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push({ path: request.url, authorization: request.headers.authorization });
    const { status, headers, body, delayMs } = answer;
    setTimeout(() => response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body)), delayMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

describe('HttpBrandCheck', () => {
  it("given a brand of the caller's org, then it resolves, having asked identity with the caller's key; a second check of it asks nothing", async () => {
    answer = { status: 200, body: { brands: [{ brandId: 'brd_1', name: 'shop' }, { brandId: 'brd_2', name: 'shop-eu' }] } };
    const check = new HttpBrandCheck(url);
    const before = seen.length;
    await check.assertOwnBrand('svp_key', 'org_a', 'brd_2');
    expect(seen.slice(before)).toEqual([{ path: '/v1/orgs/org_a/brands', authorization: 'Bearer svp_key' }]);
    await check.assertOwnBrand('svp_key', 'org_a', 'brd_2');
    await check.assertOwnBrand('svp_key', 'org_a', 'brd_1');
    expect(seen.length).toBe(before + 1);
  });

  it("given a brand the org does not have (another org's), then it throws 404 NOT_FOUND naming the field, and asks again next time", async () => {
    answer = { status: 200, body: { brands: [{ brandId: 'brd_1', name: 'shop' }] } };
    const check = new HttpBrandCheck(url);
    const error = await check.assertOwnBrand('svp_key', 'org_b', 'brd_of_a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', status: 404, details: { field: 'brandId', brandId: 'brd_of_a' } });
    // A brand known to org A is not known to org B.
    await check.assertOwnBrand('svp_key', 'org_b', 'brd_1');
    answer = { status: 200, body: { brands: [] } };
    await expect(check.assertOwnBrand('svp_key', 'org_c', 'brd_1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Created meanwhile: the next check asks again and finds it.
    answer = { status: 200, body: { brands: [{ brandId: 'brd_of_a', name: 'new' }] } };
    await expect(check.assertOwnBrand('svp_key', 'org_b', 'brd_of_a')).resolves.toBeUndefined();
  });

  it('given identity answers 5xx, something not a brand list, or cannot be reached, then it throws 503 SERVICE_UNAVAILABLE', async () => {
    answer = { status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE', message: 'down' } } };
    await expect(new HttpBrandCheck(url).assertOwnBrand('svp_key', 'org_a', 'brd_1')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    answer = { status: 200, body: { nope: true } };
    await expect(new HttpBrandCheck(url).assertOwnBrand('svp_key', 'org_a', 'brd_1')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    await expect(new HttpBrandCheck('http://127.0.0.1:1').assertOwnBrand('svp_key', 'org_a', 'brd_1')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
  });

  it("given the org's quota on identity is spent (429), then it throws 429 RATE_LIMITED with the wait", async () => {
    answer = { status: 429, body: { error: { code: 'RATE_LIMITED', message: 'slow down' } }, headers: { 'retry-after': '7' } };
    await expect(new HttpBrandCheck(url).assertOwnBrand('svp_key', 'org_a', 'brd_1')).rejects.toMatchObject({ code: 'RATE_LIMITED', status: 429, details: { retryAfterSeconds: 7 } });
  });

  it('given a 429 without Retry-After, then RATE_LIMITED names no wait', async () => {
    answer = { status: 429, body: { error: { code: 'RATE_LIMITED', message: 'slow down' } } };
    const error = await new HttpBrandCheck(url).assertOwnBrand('svp_key', 'org_a', 'brd_1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', details: { field: 'brandId' } });
    expect((error as AppError).details).not.toHaveProperty('retryAfterSeconds');
  });

  it('given identity refuses the key (401: revoked a moment ago), then it throws 401 UNAUTHENTICATED, not a 503 to retry', async () => {
    answer = { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'revoked' } } };
    await expect(new HttpBrandCheck(url).assertOwnBrand('svp_key', 'org_a', 'brd_1')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });

  it('given the lists kept at their bound, then a new org is answered from its own list (the brand asked for is found)', async () => {
    const check = new HttpBrandCheck(url);
    // Fill the kept lists to their bound: the next org's list clears them as it is stored.
    const lists = (check as unknown as { lists: Map<string, unknown> }).lists;
    for (let i = 0; i < 100_000; i++) lists.set(`org_fill_${i}`, { brands: new Set(), tokens: 0, countedAt: 0 });
    answer = { status: 200, body: { brands: [{ brandId: 'brd_a', name: 'a' }, { brandId: 'brd_b', name: 'b' }] } };
    await expect(check.assertOwnBrand('svp_key', 'org_z', 'brd_a')).resolves.toBeUndefined();
  });

  it('given concurrent checks of unknown brands with one key, then they share one call to identity', async () => {
    answer = { status: 200, body: { brands: [{ brandId: 'brd_1', name: 'shop' }] }, delayMs: 50 };
    const check = new HttpBrandCheck(url);
    const before = seen.length;
    const results = await Promise.allSettled([check.assertOwnBrand('svp_key', 'org_s', 'brd_1'), check.assertOwnBrand('svp_key', 'org_s', 'nope_1'), check.assertOwnBrand('svp_key', 'org_s', 'nope_2')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(seen.length).toBe(before + 1);
  });

  it("given random unknown brand ids (a public widget key abused), then identity is asked at most the org's burst, then once a second; meanwhile they are judged from the last list", async () => {
    answer = { status: 200, body: { brands: [{ brandId: 'brd_1', name: 'shop' }] } };
    let now = 1_000_000;
    const check = new HttpBrandCheck(url, () => now);
    const before = seen.length;
    for (let i = 0; i < 50; i++) await expect(check.assertOwnBrand('svp_widget', 'org_w', `random_${i}`)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The first list, then the burst.
    expect(seen.length - before).toBe(1 + BRAND_LIST_BUDGET.burst - 1);
    // A brand of the org is still found (remembered), without a call.
    await expect(check.assertOwnBrand('svp_widget', 'org_w', 'brd_1')).resolves.toBeUndefined();
    expect(seen.length - before).toBe(BRAND_LIST_BUDGET.burst);
    // A second later one more list may be asked for: a brand created meanwhile is found.
    now += 1_000;
    answer = { status: 200, body: { brands: [{ brandId: 'brd_1', name: 'shop' }, { brandId: 'brd_new', name: 'new' }] } };
    await expect(check.assertOwnBrand('svp_widget', 'org_w', 'brd_new')).resolves.toBeUndefined();
    expect(seen.length - before).toBe(BRAND_LIST_BUDGET.burst + 1);
    // Another org has a budget of its own.
    await expect(check.assertOwnBrand('svp_other', 'org_v', 'brd_1')).resolves.toBeUndefined();
    expect(seen.length - before).toBe(BRAND_LIST_BUDGET.burst + 2);
  });
});
