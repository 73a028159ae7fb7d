import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError } from '@svp/service-kit';
import { HttpBrandCheck } from './brand-check.js';

// The client of identity's list of an org's brands against a real HTTP server: a brand of the org
// passes (and is then remembered), any other is 404, and an identity that cannot answer is a 503,
// never a silent pass.
let server: Server;
let url: string;
const seen: { path?: string; authorization?: string }[] = [];
let answer: { status: number; body: unknown; headers?: Record<string, string> } = { status: 200, body: { brands: [] } };

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push({ path: request.url, authorization: request.headers.authorization });
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(JSON.stringify(answer.body));
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
});
