import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import type { ServiceName } from '@svp/contracts';
import { HttpSignatureVerifier } from '@svp/service-kit';
import { eventually } from '@svp/testing';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { call, createOrg } from './slice.js';

/**
 * Identity over the real HTTP API, shared by the embedded and the distributed test: orgs, brands,
 * API keys with scopes, signing keys (HS256 generated, RS256 PEM, ES256 JWK set), verification with
 * reasons recorded on the session, verified metadata reaching the variables service over the bus,
 * claim mapping, rotation, revocation, the key limit, quotas. Returns every secret and token it saw,
 * so the caller can check that none reached the logs.
 */
export async function checkIdentity(urls: Record<ServiceName, string>, rootToken: string): Promise<{ secrets: string[] }> {
  const secrets: string[] = [];
  const org = await createOrg(urls.identity, rootToken, 'Identity Co');
  const other = await createOrg(urls.identity, rootToken, 'Other Co');
  secrets.push(org.apiKey, other.apiKey);
  const id = (path: string) => `${urls.identity}${path}`;
  const now = () => Math.floor(Date.now() / 1000);

  // ── brands ──
  const brand = await call(id(`/v1/orgs/${org.orgId}/brands`), { method: 'POST', key: org.apiKey, body: { name: 'shop-eu' } });
  expect(brand.status).toBe(201);
  expect(brand.body).toEqual({ brandId: expect.stringMatching(/^brand_/), name: 'shop-eu' });
  const clash = await call(id(`/v1/orgs/${org.orgId}/brands`), { method: 'POST', key: org.apiKey, body: { name: 'SHOP-EU' } });
  expect([clash.status, clash.body.error.code]).toEqual([409, 'CONFLICT']);
  const foreignBrand = await call(id(`/v1/orgs/${org.orgId}/brands`), { method: 'POST', key: other.apiKey, body: { name: 'x' } });
  expect([foreignBrand.status, foreignBrand.body.error.code]).toEqual([404, 'NOT_FOUND']);
  const orgView = await call(id(`/v1/orgs/${org.orgId}`), { key: org.apiKey });
  expect(orgView.body).toEqual({ orgId: org.orgId, name: 'Identity Co', linkBrands: false, brands: [brand.body], requestsPerMinute: null });

  // ── API keys with scopes: 403 without the scope, 401 once revoked (on another service, within a second) ──
  const reader = await call(id('/v1/api-keys'), { method: 'POST', key: org.apiKey, body: { name: 'bot reader', scopes: ['variables:read'] } });
  expect(reader.status).toBe(201);
  expect(reader.body).toMatchObject({ keyId: expect.any(String), apiKey: expect.stringMatching(/^svp_/), scopes: ['variables:read'], name: 'bot reader' });
  secrets.push(reader.body.apiKey);
  const vars = (sessionId: string) => `${urls.variables}/v1/sessions/${sessionId}/variables`;
  expect((await call(vars('k1'), { key: reader.body.apiKey })).status).toBe(200);
  const forbidden = await call(vars('k1'), { method: 'PUT', key: reader.body.apiKey, body: { sessionVariableValues: [{ name: 'a', value: 1 }] } });
  expect([forbidden.status, forbidden.body.error.code]).toEqual([403, 'FORBIDDEN']);
  expect(forbidden.body.error.details).toEqual({ missing: ['variables:write'] });
  const listed = await call(id('/v1/api-keys'), { key: org.apiKey });
  expect(listed.body.apiKeys).toHaveLength(2);
  expect(JSON.stringify(listed.body)).not.toContain('svp_');
  const revoked = await call(id(`/v1/api-keys/${reader.body.keyId}`), { method: 'DELETE', key: org.apiKey });
  expect([revoked.status, revoked.body.revoked]).toEqual([200, true]);
  const revokedAt = Date.now();
  await eventually(async () => ((await call(vars('k1'), { key: reader.body.apiKey })).status === 401 ? true : undefined), 'the revoked key refused by variables', 3000);
  expect(Date.now() - revokedAt).toBeLessThan(2000);
  const myKeyId = listed.body.apiKeys.find((k: { name?: string }) => !k.name).keyId;
  const lastAdmin = await call(id(`/v1/api-keys/${myKeyId}`), { method: 'DELETE', key: org.apiKey });
  expect([lastAdmin.status, lastAdmin.body.error.code]).toEqual([409, 'CONFLICT']);

  // ── signing keys ──
  const hs = await call(id('/v1/signing-keys'), { method: 'POST', key: org.apiKey, body: { alg: 'HS256' } });
  expect(hs.status).toBe(201);
  expect(hs.body).toMatchObject({ kid: expect.any(String), alg: 'HS256', secret: expect.any(String) });
  expect(Buffer.byteLength(hs.body.secret, 'utf8') * 6).toBeGreaterThanOrEqual(256); // at least 256 bits of base64url
  secrets.push(hs.body.secret);
  const keyList = await call(id('/v1/signing-keys'), { key: org.apiKey });
  expect(keyList.body.signingKeys).toEqual([expect.objectContaining({ kid: hs.body.kid, alg: 'HS256', status: 'active' })]);
  expect(JSON.stringify(keyList.body)).not.toContain(hs.body.secret);

  const hmac = (secret: string) => new TextEncoder().encode(secret);
  const messagingToken = (claims: Record<string, unknown>, kid: string, secret: string, exp = now() + 300) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).setIssuedAt().setExpirationTime(exp).sign(hmac(secret));

  // Claim mapping: custom claims become typed, verified session variables.
  const mapping = await call(id('/v1/identity/claim-mapping'), {
    method: 'PUT',
    key: org.apiKey,
    body: {
      mappings: [
        { claim: 'plan', variable: 'plan', scope: 'session', type: 'string' },
        { claim: 'cart_value', variable: 'cartValue', scope: 'session', type: 'number' },
        { claim: 'c3', variable: 'tier', scope: 'visitor', type: 'number' },
      ],
    },
  });
  expect(mapping.status).toBe(200);
  const reservedMapping = await call(id('/v1/identity/claim-mapping'), {
    method: 'PUT',
    key: org.apiKey,
    body: { mappings: [{ claim: 'x', variable: 'authenticatedStatus', scope: 'session', type: 'boolean' }] },
  });
  expect([reservedMapping.status, reservedMapping.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);

  // A never-authenticated session reads authenticatedStatus false, never empty.
  const anonymous = await call(vars(`anon-${randomUUID()}`), { key: org.apiKey });
  const meta = (variables: { name: string; scope: string }[]) =>
    Object.fromEntries(variables.filter((v) => v.scope === 'metadata').map((v) => [v.name, v]));
  expect(meta(anonymous.body.variables)).toMatchObject({
    authenticatedStatus: { value: false, verified: false },
    providedName: { value: null },
    providedEmail: { value: null },
    authenticatedExternalId: { value: null },
  });

  // Verify with a sessionId: the answer, the identity record, and the metadata in the variables service.
  const sessionId = `auth-${randomUUID()}`;
  const visitorId = `v-${randomUUID()}`;
  const extra = Object.fromEntries(Array.from({ length: 18 }, (_, i) => [`c${i}`, i]));
  const token = await messagingToken(
    { external_id: 'cust-42', name: 'Ada Lovelace', email: 'ada@example.com', email_verified: true, scope: 'read', plan: 'gold', cart_value: '99.5', ...extra },
    hs.body.kid,
    hs.body.secret,
  );
  secrets.push(token);
  const verified = await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token, sessionId, visitorId, brandId: brand.body.brandId } });
  expect(verified.status).toBe(200);
  expect(verified.body).toMatchObject({
    authenticated: true,
    externalId: 'cust-42',
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    emailVerified: true,
    scope: 'read',
    kid: hs.body.kid,
    externalIdScope: `brand:${brand.body.brandId}`,
    variables: [
      { name: 'plan', value: 'gold', scope: 'session', claim: 'plan' },
      { name: 'cartValue', value: 99.5, scope: 'session', claim: 'cart_value' },
      { name: 'tier', value: 3, scope: 'visitor', claim: 'c3' },
    ],
  });
  expect(Object.keys(verified.body.claims)).toHaveLength(20); // plan, cart_value and 18 more custom claims
  expect(verified.body.claims.c7).toBe(7);
  const metadata = await eventually(async () => {
    const answer = await call(vars(sessionId), { key: org.apiKey });
    const m = meta(answer.body.variables ?? []);
    return m.authenticatedStatus?.value === true ? answer.body.variables : undefined;
  }, 'the verified identity to reach the variables service as metadata');
  expect(meta(metadata)).toMatchObject({
    providedName: { value: 'Ada Lovelace', source: 'claim', verified: true, version: 1 },
    providedEmail: { value: 'ada@example.com', verified: true },
    authenticatedExternalId: { value: 'cust-42', verified: true },
    authenticatedStatus: { value: true, verified: true },
  });
  const byName = Object.fromEntries(metadata.map((v: { name: string }) => [v.name, v]));
  expect(byName.plan).toMatchObject({ value: 'gold', scope: 'session', source: 'claim', verified: true });
  expect(byName.cartValue).toMatchObject({ value: 99.5, scope: 'session', source: 'claim', verified: true });
  // A visitor-scope mapping lands on the visitor named in the verification.
  const visitor = await eventually(async () => {
    const answer = await call(`${urls.variables}/v1/visitors/${visitorId}`, { key: org.apiKey });
    return answer.body.variables?.length ? answer.body : undefined;
  }, 'the mapped visitor variable');
  expect(visitor.variables).toEqual([expect.objectContaining({ name: 'tier', value: 3, scope: 'visitor', source: 'claim', verified: true })]);
  // A widget or API write never overwrites metadata.
  const overwrite = await call(vars(sessionId), { method: 'PUT', key: org.apiKey, body: { sessionVariableValues: [{ name: 'providedName', value: 'Mallory' }] } });
  expect([overwrite.status, overwrite.body.error.code]).toEqual([403, 'FORBIDDEN']);

  // A failed verification says why, to the caller and on the session's identity record.
  const expired = await messagingToken({ external_id: 'cust-42' }, hs.body.kid, hs.body.secret, now() - 3600);
  secrets.push(expired);
  const refused = await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: expired, sessionId } });
  expect(refused.status).toBe(200);
  expect(refused.body).toMatchObject({ authenticated: false, reason: 'TOKEN_EXPIRED', externalId: null, claims: {} });
  const record = await call(id(`/v1/identity/sessions/${sessionId}`), { key: org.apiKey });
  expect(record.status).toBe(200);
  expect(record.body).toMatchObject({
    sessionId,
    authenticated: true,
    externalId: 'cust-42',
    kid: hs.body.kid,
    lastFailure: { authenticated: false, reason: 'TOKEN_EXPIRED', kid: hs.body.kid },
  });
  expect(record.body.attempts.map((a: { authenticated: boolean }) => a.authenticated)).toEqual([true, false]);
  const unknownSession = await call(id(`/v1/identity/sessions/nobody-${randomUUID()}`), { key: org.apiKey });
  expect(unknownSession.body).toMatchObject({ authenticated: false, externalId: null, attempts: [] });

  // Another org's key: its kid is unknown here (keys are looked up only in the caller's org).
  const otherHs = await call(id('/v1/signing-keys'), { method: 'POST', key: other.apiKey, body: { alg: 'HS256' } });
  secrets.push(otherHs.body.secret);
  const foreignToken = await messagingToken({ external_id: 'x' }, otherHs.body.kid, otherHs.body.secret);
  const foreign = await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: foreignToken } });
  expect(foreign.body).toMatchObject({ authenticated: false, reason: 'KID_UNKNOWN' });

  // RS256 as PEM and ES256 as an inline JWK set.
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const rs = await call(id('/v1/signing-keys'), { method: 'POST', key: org.apiKey, body: { alg: 'RS256', publicKey: await exportSPKI(rsa.publicKey) } });
  expect(rs.status).toBe(201);
  expect(rs.body.secret).toBeUndefined();
  const rsToken = await new SignJWT({ external_id: 'rs-user' }).setProtectedHeader({ alg: 'RS256', kid: rs.body.kid }).setExpirationTime('5m').sign(rsa.privateKey);
  expect((await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: rsToken } })).body).toMatchObject({ authenticated: true, externalId: 'rs-user' });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const es = await call(id('/v1/signing-keys'), {
    method: 'POST',
    key: org.apiKey,
    body: { alg: 'ES256', jwks: { keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'my-ec-key', use: 'sig' }] } },
  });
  expect([es.status, es.body.kid]).toEqual([201, 'my-ec-key']);
  const esToken = await new SignJWT({ external_id: 'es-user' }).setProtectedHeader({ alg: 'ES256', kid: 'my-ec-key' }).setExpirationTime('5m').sign(ec.privateKey);
  expect((await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: esToken } })).body).toMatchObject({ authenticated: true, externalId: 'es-user' });
  // Key confusion: an HS256 token "signed" with the RS256 key's public PEM is refused, not HMAC-checked.
  const pem = await exportSPKI(rsa.publicKey);
  const confused = await new SignJWT({ external_id: 'evil' }).setProtectedHeader({ alg: 'HS256', kid: rs.body.kid }).setExpirationTime('5m').sign(new TextEncoder().encode(pem));
  expect((await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: confused } })).body).toMatchObject({ authenticated: false, reason: 'ALG_NOT_ALLOWED' });
  const badJwkKid = await call(id('/v1/signing-keys'), {
    method: 'POST',
    key: org.apiKey,
    body: { alg: 'ES256', jwks: { keys: [{ ...(await exportJWK(ec.publicKey)), kid: 'not a valid kid' }] } },
  });
  expect([badJwkKid.status, badJwkKid.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  const oversized = await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: `${'a'.repeat(20_000)}.b.c` } });
  expect([oversized.status, oversized.body.authenticated, oversized.body.reason]).toEqual([200, false, 'MALFORMED']);
  const unknownBrand = await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: esToken, brandId: 'brand_nope' } });
  expect([unknownBrand.status, unknownBrand.body.error.code]).toEqual([404, 'NOT_FOUND']);
  const privatePem = await call(id('/v1/signing-keys'), { method: 'POST', key: org.apiKey, body: { alg: 'RS256', publicKey: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----' } });
  expect([privatePem.status, privatePem.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);

  // The signature check the variables service uses for signed visitor data: claims less the registered ones.
  const visitorData = await new SignJWT({ username: 'ada', tier: 3 }).setProtectedHeader({ alg: 'HS256', kid: hs.body.kid }).setIssuedAt().setExpirationTime('5m').sign(hmac(hs.body.secret));
  const signature = await call(id('/internal/v1/signatures/verify'), { method: 'POST', key: org.apiKey, body: { token: visitorData, alg: 'HS256' } });
  expect(signature.body).toEqual({ valid: true, kid: hs.body.kid, alg: 'HS256', data: { username: 'ada', tier: 3 } });
  // A signed visitor submit (giosg style) through the variables service, checked by identity.
  const signedVisitor = `sv-${randomUUID()}`;
  const submitted = await call(`${urls.variables}/v1/visitors/${signedVisitor}/variables`, {
    method: 'POST',
    key: org.apiKey,
    body: { signing: 'HS256', token: visitorData, replaceExisting: false },
  });
  expect(submitted.status).toBe(200);
  expect(submitted.body.displayName).toBe('ada');
  expect(submitted.body.variables).toEqual(
    expect.arrayContaining([expect.objectContaining({ name: 'username', value: 'ada', source: 'signed', verified: true })]),
  );
  // The client the variables service uses for signed visitor submits, over the same HTTP API.
  const signatures = new HttpSignatureVerifier(urls.identity);
  expect(await signatures.verifySignature(org.apiKey, visitorData, 'HS256')).toMatchObject({ valid: true, data: { username: 'ada', tier: 3 } });
  expect(await signatures.verifySignature(org.apiKey, visitorData, 'RS256')).toMatchObject({ valid: false, reason: 'ALG_NOT_ALLOWED' });
  await expect(signatures.verifySignature(other.apiKey.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), visitorData)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

  // Rotation: the old key verifies during its grace period, then is refused; the new one verifies.
  const rotated = await call(id(`/v1/signing-keys/${hs.body.kid}/rotate`), { method: 'POST', key: org.apiKey, body: { graceSeconds: 2 } });
  expect(rotated.status).toBe(201);
  expect(rotated.body).toMatchObject({ alg: 'HS256', replaces: hs.body.kid, secret: expect.any(String), graceUntil: expect.any(String) });
  secrets.push(rotated.body.secret);
  const oldToken = await messagingToken({ external_id: 'old' }, hs.body.kid, hs.body.secret);
  expect((await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: oldToken } })).body).toMatchObject({ authenticated: true });
  const newToken = await messagingToken({ external_id: 'new' }, rotated.body.kid, rotated.body.secret);
  expect((await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: newToken } })).body).toMatchObject({ authenticated: true });
  await eventually(async () => {
    const answer = await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: oldToken } });
    return answer.body.reason === 'KID_REVOKED' ? true : undefined;
  }, 'the rotated key to be refused after its grace period', 10_000);

  // Revocation: refused by the very next verification, here and for the variables service's check.
  const revokedKey = await call(id(`/v1/signing-keys/${rotated.body.kid}`), { method: 'DELETE', key: org.apiKey });
  expect([revokedKey.status, revokedKey.body.status]).toEqual([200, 'revoked']);
  expect((await call(id('/v1/identity/verify'), { method: 'POST', key: org.apiKey, body: { token: newToken } })).body).toMatchObject({ authenticated: false, reason: 'KID_REVOKED' });
  const signedWithRevoked = await new SignJWT({ a: 1 }).setProtectedHeader({ alg: 'HS256', kid: rotated.body.kid }).setExpirationTime('5m').sign(hmac(rotated.body.secret));
  expect((await call(id('/internal/v1/signatures/verify'), { method: 'POST', key: org.apiKey, body: { token: signedWithRevoked } })).body).toMatchObject({ valid: false, reason: 'KID_REVOKED' });
  // The same through the client the variables service uses (no cache: refused at once there too).
  expect(await signatures.verifySignature(org.apiKey, signedWithRevoked)).toMatchObject({ valid: false, reason: 'KID_REVOKED' });
  const refusedSubmit = await call(`${urls.variables}/v1/visitors/${signedVisitor}/variables`, {
    method: 'POST',
    key: org.apiKey,
    body: { signing: 'HS256', token: signedWithRevoked, replaceExisting: true },
  });
  expect([refusedSubmit.status, refusedSubmit.body.error.code, refusedSubmit.body.error.details.reason]).toEqual([401, 'INVALID_TOKEN', 'KID_REVOKED']);
  expect((await call(`${urls.variables}/v1/visitors/${signedVisitor}`, { key: org.apiKey })).body.displayName).toBe('ada'); // nothing stored

  // At most SIGNING_KEYS_MAX_ACTIVE (10) active keys; a clear 422 past it.
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) {
    const made = await call(id('/v1/signing-keys'), { method: 'POST', key: org.apiKey, body: { alg: 'HS256' } });
    statuses.push(made.status);
    if (made.body.secret) secrets.push(made.body.secret);
    if (made.status !== 201) {
      expect(made.body.error).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { maxActive: 10 } });
      break;
    }
  }
  expect(statuses.filter((s) => s === 201)).toHaveLength(8); // RS256 and ES256 are active too: 2 + 8 = 10
  expect(statuses.at(-1)).toBe(422);

  // Per-org metering: the operator sets a quota of 5 requests a minute; the 6th call is 429.
  const small = await createOrg(urls.identity, rootToken, 'Small Co');
  secrets.push(small.apiKey);
  const quota = await call(id(`/v1/orgs/${small.orgId}/quota`), { method: 'PUT', key: rootToken, body: { requestsPerMinute: 5 } });
  expect([quota.status, quota.body.requestsPerMinute]).toEqual([200, 5]);
  const limited = await eventually(async () => {
    const answer = await call(vars('quota-check'), { key: small.apiKey });
    return answer.status === 429 ? answer : undefined;
  }, 'the quota of 5 requests a minute to be enforced', 5000);
  expect(limited.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 5 } });
  expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  const orgUsage = await call(`${urls.variables}/v1/usage`, { key: org.apiKey });
  expect(orgUsage.status).toBe(200);
  expect(orgUsage.body).toMatchObject({ orgId: org.orgId, service: 'variables', requestsPerMinute: 6000 });
  expect(orgUsage.body.total.requests).toBeGreaterThan(5);

  return { secrets };
}
