import { VERIFICATION_FAILURE_REASONS, type VerificationFailureReason } from '@svp/contracts';
import fc from 'fast-check';
import { CompactSign, exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { generateHs256Secret, parsePublicKey, type PublicJwk } from './key-material.js';
import {
  verifyToken,
  type KeyLookup,
  type VerificationFailure,
  type VerificationKey,
  type VerificationSuccess,
  type VerifyOptions,
} from './verifier.js';

// Given an org's signing keys (a lookup scoped to that org), when a token is verified, then it is
// accepted with its metadata and typed custom claims, or refused with exactly one reason. The negative
// suite is the security contract: each case must be refused with its reason, and no detail may hold the
// token or a secret. A fuzz test at the end throws random input and mutated real tokens at it.

const NOW = new Date('2026-11-21T10:00:00.000Z');
const NOW_S = NOW.getTime() / 1000;
const SKEW = 60;
const GRACE_UNTIL = '2026-11-21T11:00:00.000Z';

const HS_SECRET = generateHs256Secret();
const OTHER_ORG_SECRET = generateHs256Secret();
const hmacKey = (secret: string) => new TextEncoder().encode(secret);
const enc = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** What a messaging token usually holds. */
const claims = (extra: Record<string, unknown> = {}): JWTPayload => ({ external_id: 'visitor-42', iat: NOW_S, exp: NOW_S + 300, ...extra });

type Signer = { kid: string; alg: 'RS256' | 'ES256'; privateKey: CryptoKey; pem: string; jwk: PublicJwk };
const signers: Record<'rsPem' | 'rsJwk' | 'esPem' | 'esJwk' | 'rsStranger', Signer> = {} as never;
const keys = new Map<string, VerificationKey>();
const lookup: KeyLookup = async (kid) => keys.get(kid);

const hsKey = (kid: string, more: Partial<VerificationKey> = {}): VerificationKey => ({
  kid,
  alg: 'HS256',
  status: 'active',
  material: { kind: 'hmac', secret: HS_SECRET },
  ...more,
});

async function newSigner(kid: string, alg: 'RS256' | 'ES256', via: 'pem' | 'jwk'): Promise<Signer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const pem = await exportSPKI(publicKey);
  const parsed =
    via === 'pem'
      ? await parsePublicKey(alg, { publicKey: pem })
      : await parsePublicKey(alg, { jwks: { keys: [{ ...(await exportJWK(publicKey)), kid, use: 'sig' }] } });
  if (!parsed.ok) throw new Error(parsed.message);
  return { kid, alg, privateKey, pem, jwk: parsed.jwk };
}

beforeAll(async () => {
  signers.rsPem = await newSigner('rs-pem', 'RS256', 'pem');
  signers.rsJwk = await newSigner('rs-jwk', 'RS256', 'jwk');
  signers.esPem = await newSigner('es-pem', 'ES256', 'pem');
  signers.esJwk = await newSigner('es-jwk', 'ES256', 'jwk');
  signers.rsStranger = await newSigner('rs-pem', 'RS256', 'pem'); // another RSA key, same kid: not this org's
  for (const signer of [signers.rsPem, signers.rsJwk, signers.esPem, signers.esJwk])
    keys.set(signer.kid, { kid: signer.kid, alg: signer.alg, status: 'active', material: { kind: 'jwk', jwk: signer.jwk } });
  for (const key of [
    hsKey('hs-1'),
    hsKey('hs-revoked', { status: 'revoked', revokedAt: '2026-11-20T09:00:00.000Z' }),
    hsKey('hs-retiring', { status: 'retiring', graceUntil: GRACE_UNTIL }),
    hsKey('hs-retired', { status: 'retired', graceUntil: '2026-11-20T10:00:00.000Z' }),
    hsKey('hs-brand-a', { brandId: 'brand_a' }),
    hsKey('hs-brand-b', { brandId: 'brand_b' }),
  ])
    keys.set(key.kid, key);
});

const hs = (payload: JWTPayload, header: { kid?: string; [name: string]: unknown } = { kid: 'hs-1' }, secret = HS_SECRET) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256', ...header }).sign(hmacKey(secret));

const signed = (signer: Signer, payload: JWTPayload, kid = signer.kid) =>
  new SignJWT(payload).setProtectedHeader({ alg: signer.alg, kid }).sign(signer.privateKey);

/** Signs raw payload text (JSON that SignJWT would not produce, like a "__proto__" member). */
const hsRaw = (payloadText: string, kid = 'hs-1') =>
  new CompactSign(new TextEncoder().encode(payloadText)).setProtectedHeader({ alg: 'HS256', kid }).sign(hmacKey(HS_SECRET));

const verify = (token: string, options: Partial<VerifyOptions> = {}) =>
  verifyToken(token, lookup, { now: NOW, clockSkewSeconds: SKEW, purpose: 'messaging', ...options });

function accepted(result: VerificationSuccess | VerificationFailure): VerificationSuccess {
  if (!result.ok) throw new Error(`expected acceptance, got ${result.reason}: ${result.detail}`);
  return result;
}

/** The token is refused with `reason`, and the detail holds neither the token (nor a part of it) nor a secret. */
async function expectRefused(token: string, reason: VerificationFailureReason, options: Partial<VerifyOptions> = {}): Promise<VerificationFailure> {
  const result = await verify(token, options);
  if (result.ok) throw new Error(`expected ${reason}, the token was accepted`);
  expect({ reason: result.reason, detail: result.detail }).toEqual({ reason, detail: expect.any(String) });
  expect(result.detail.length).toBeGreaterThan(0);
  for (const part of token.split('.').filter((p) => p.length >= 12)) expect(result.detail).not.toContain(part);
  for (const secret of [HS_SECRET, OTHER_ORG_SECRET]) expect(result.detail).not.toContain(secret);
  return result;
}

describe('verifyToken', () => {
  describe('refuses, with its reason', () => {
    describe('ALG_NOT_ALLOWED', () => {
      it('given alg none (an unsigned token crafted by hand), then it is refused before any key is looked up', async () => {
        const calls: string[] = [];
        const spy: KeyLookup = async (kid) => (calls.push(kid), keys.get(kid));
        for (const alg of ['none', 'None', 'NONE']) {
          const token = `${enc({ alg, kid: 'hs-1', typ: 'JWT' })}.${enc(claims())}.`;
          const result = await verifyToken(token, spy, { now: NOW, clockSkewSeconds: SKEW, purpose: 'messaging' });
          expect(result).toEqual({ ok: false, reason: 'ALG_NOT_ALLOWED', detail: 'Unsigned tokens (alg none) are not accepted' });
        }
        expect(calls).toEqual([]);
      });

      it('given an HS256 token "signed" with an RS256 key\'s public PEM as the HMAC secret (key confusion), then it is refused', async () => {
        const { pem, kid } = signers.rsPem;
        const forged = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid }).sign(hmacKey(pem));
        const result = await expectRefused(forged, 'ALG_NOT_ALLOWED');
        expect(result).toMatchObject({ kid: 'rs-pem', detail: 'Signing key "rs-pem" is an RS256 key: a token signed with HS256 is refused' });
        // The same with the key's JWK text, or with a public ES256 key: never HMAC-checked with public material.
        await expectRefused(await hs(claims(), { kid }, JSON.stringify(signers.rsPem.jwk)), 'ALG_NOT_ALLOWED');
        await expectRefused(await hs(claims(), { kid: signers.esPem.kid }, signers.esPem.pem), 'ALG_NOT_ALLOWED');
      });

      it('given a token whose alg is not the key\'s (ES256 signature on an RS256 kid, HS256 on an ES256 kid), then it is refused', async () => {
        await expectRefused(await signed(signers.esPem, claims(), 'rs-pem'), 'ALG_NOT_ALLOWED');
        await expectRefused(await signed(signers.rsPem, claims(), 'hs-1'), 'ALG_NOT_ALLOWED');
      });

      it('given no alg, or an alg outside HS256/RS256/ES256, then it is refused', async () => {
        await expectRefused(`${enc({ kid: 'hs-1' })}.${enc(claims())}.c2ln`, 'ALG_NOT_ALLOWED');
        for (const alg of ['HS512', 'RS384', 'PS256', 'EdDSA', 'hs256', 42, '<script>'])
          expect(await expectRefused(`${enc({ alg, kid: 'hs-1' })}.${enc(claims())}.c2ln`, 'ALG_NOT_ALLOWED')).not.toHaveProperty('kid');
      });

      it('given expectedAlg RS256 and a valid HS256 token, then it is refused', async () => {
        const result = await expectRefused(await hs(claims()), 'ALG_NOT_ALLOWED', { expectedAlg: 'RS256' });
        expect(result.detail).toBe('The token is signed with HS256 where RS256 is expected');
      });

      it('given a key whose stored material does not fit its alg, then it is refused rather than used', async () => {
        const misfit: KeyLookup = async (kid) => ({ kid, alg: 'HS256', status: 'active', material: { kind: 'jwk', jwk: signers.rsPem.jwk } });
        const result = await verifyToken(await hs(claims()), misfit, { now: NOW, clockSkewSeconds: SKEW, purpose: 'messaging' });
        expect(result).toMatchObject({ ok: false, reason: 'ALG_NOT_ALLOWED', detail: 'Signing key "hs-1" holds no HS256 key material' });
      });
    });

    describe('time claims', () => {
      it('given an expired token, then TOKEN_EXPIRED', async () => {
        const result = await expectRefused(await hs(claims({ iat: NOW_S - 7200, exp: NOW_S - 3600 })), 'TOKEN_EXPIRED');
        expect(result.detail).toBe('The token expired at 2026-11-21T09:00:00.000Z (allowed clock skew: 60s)');
      });

      it('given nbf in the future, then TOKEN_NOT_YET_VALID', async () => {
        const result = await expectRefused(await hs(claims({ nbf: NOW_S + 3600 })), 'TOKEN_NOT_YET_VALID');
        expect(result.detail).toBe('The token is not valid before 2026-11-21T11:00:00.000Z (allowed clock skew: 60s)');
      });

      it('given iat in the future beyond the skew, then TOKEN_NOT_YET_VALID', async () => {
        const result = await expectRefused(await hs(claims({ iat: NOW_S + SKEW + 1 })), 'TOKEN_NOT_YET_VALID');
        expect(result.detail).toMatch(/issued in the future \(iat 2026-11-21T10:01:01.000Z\), beyond the allowed clock skew of 60s/);
        accepted(await verify(await hs(claims({ iat: NOW_S + SKEW }))));
      });

      it('given exp one second past the skew bound, then TOKEN_EXPIRED; one second inside it, then accepted', async () => {
        await expectRefused(await hs(claims({ iat: NOW_S - 600, exp: NOW_S - SKEW - 1 })), 'TOKEN_EXPIRED');
        await expectRefused(await hs(claims({ iat: NOW_S - 600, exp: NOW_S - SKEW })), 'TOKEN_EXPIRED');
        accepted(await verify(await hs(claims({ iat: NOW_S - 600, exp: NOW_S - SKEW + 1 }))));
      });

      it('given nbf one second past the skew bound, then TOKEN_NOT_YET_VALID; at the bound, then accepted', async () => {
        await expectRefused(await hs(claims({ nbf: NOW_S + SKEW + 1 })), 'TOKEN_NOT_YET_VALID');
        accepted(await verify(await hs(claims({ nbf: NOW_S + SKEW }))));
        accepted(await verify(await hs(claims({ nbf: NOW_S + SKEW - 1 }))));
      });

      it('given a skew of 0, then the bounds are exact', async () => {
        await expectRefused(await hs(claims({ exp: NOW_S })), 'TOKEN_EXPIRED', { clockSkewSeconds: 0 });
        await expectRefused(await hs(claims({ nbf: NOW_S + 1 })), 'TOKEN_NOT_YET_VALID', { clockSkewSeconds: 0 });
        accepted(await verify(await hs(claims({ exp: NOW_S + 1, nbf: NOW_S, iat: NOW_S })), { clockSkewSeconds: 0 }));
      });
    });

    describe('CLAIM_MISSING', () => {
      it('given no exp, then CLAIM_MISSING', async () => {
        const result = await expectRefused(await hs({ external_id: 'visitor-42', iat: NOW_S }), 'CLAIM_MISSING');
        expect(result.detail).toBe('The exp claim is required');
      });

      it('given no kid header, then CLAIM_MISSING saying the kid header is required', async () => {
        const result = await expectRefused(await hs(claims(), {}), 'CLAIM_MISSING');
        expect(result.detail).toBe('The kid header is required: it names the signing key');
        await expectRefused(await hs(claims(), { kid: '' }), 'CLAIM_MISSING');
      });

      it('given a messaging token without external_id, then CLAIM_MISSING; the same token for purpose signature is accepted', async () => {
        const token = await hs({ exp: NOW_S + 300, plan: 'gold' });
        const result = await expectRefused(token, 'CLAIM_MISSING');
        expect(result.detail).toMatch(/^The external_id claim is required/);
        expect(accepted(await verify(token, { purpose: 'signature' }))).toMatchObject({ externalId: null, claims: { plan: 'gold' } });
      });

      it.each([
        ['an empty string', ''],
        ['blank text', '   '],
        ['a fraction', 1.5],
        ['an object', { id: 1 }],
        ['a boolean', true],
        ['null', null],
      ])('given external_id as %s, then CLAIM_MISSING', async (_what, external_id) => {
        await expectRefused(await hs(claims({ external_id })), 'CLAIM_MISSING');
      });
    });

    describe('KID_UNKNOWN and KID_REVOKED', () => {
      it('given a kid the org does not have, then KID_UNKNOWN', async () => {
        const result = await expectRefused(await hs(claims(), { kid: 'nobody' }), 'KID_UNKNOWN');
        expect(result).toMatchObject({ kid: 'nobody', detail: 'No signing key has kid "nobody"' });
      });

      it('given a kid that cannot be a kid (too long, odd characters), then KID_UNKNOWN without looking it up or echoing it', async () => {
        const calls: string[] = [];
        const spy: KeyLookup = async (kid) => (calls.push(kid), undefined);
        for (const kid of ['k'.repeat(65), 'a/b', "x' OR 1=1"]) {
          const result = await verifyToken(await hs(claims(), { kid }), spy, { now: NOW, clockSkewSeconds: SKEW, purpose: 'messaging' });
          expect(result).toMatchObject({ ok: false, reason: 'KID_UNKNOWN' });
          expect(JSON.stringify(result)).not.toContain(kid);
        }
        expect(calls).toEqual([]);
      });

      it('given a token signed by another org\'s key (a kid this org\'s lookup does not know), then KID_UNKNOWN', async () => {
        const token = await hs(claims(), { kid: 'org-b-key' }, OTHER_ORG_SECRET);
        const otherOrg: KeyLookup = async (kid) => (kid === 'org-b-key' ? { ...hsKey(kid), material: { kind: 'hmac', secret: OTHER_ORG_SECRET } } : undefined);
        accepted(await verifyToken(token, otherOrg, { now: NOW, clockSkewSeconds: SKEW, purpose: 'messaging' }));
        await expectRefused(token, 'KID_UNKNOWN');
      });

      it('given another org\'s key that happens to have one of this org\'s kids, then SIGNATURE_INVALID', async () => {
        await expectRefused(await hs(claims(), { kid: 'hs-1' }, OTHER_ORG_SECRET), 'SIGNATURE_INVALID');
        await expectRefused(await signed(signers.rsStranger, claims()), 'SIGNATURE_INVALID');
      });

      it('given a key of another brand, then KID_UNKNOWN saying it belongs to another brand', async () => {
        const result = await expectRefused(await hs(claims(), { kid: 'hs-brand-b' }), 'KID_UNKNOWN', { brandId: 'brand_a' });
        expect(result.detail).toBe('Signing key "hs-brand-b" belongs to another brand');
        expect(accepted(await verify(await hs(claims(), { kid: 'hs-brand-a' }), { brandId: 'brand_a' })).brandId).toBe('brand_a');
        expect(accepted(await verify(await hs(claims(), { kid: 'hs-1' }), { brandId: 'brand_a' })).brandId).toBeUndefined();
      });

      it('given a revoked key, then KID_REVOKED naming when', async () => {
        const result = await expectRefused(await hs(claims(), { kid: 'hs-revoked' }), 'KID_REVOKED');
        expect(result.detail).toBe('Signing key "hs-revoked" was revoked at 2026-11-20T09:00:00.000Z');
      });

      it('given a retired key, or a retiring key at or past graceUntil, then KID_REVOKED saying the grace period ended', async () => {
        const retired = await expectRefused(await hs(claims(), { kid: 'hs-retired' }), 'KID_REVOKED');
        expect(retired.detail).toBe('Signing key "hs-retired" was rotated and its grace period ended at 2026-11-20T10:00:00.000Z');
        const at = new Date(GRACE_UNTIL);
        const token = await hs(claims({ iat: at.getTime() / 1000, exp: at.getTime() / 1000 + 300 }), { kid: 'hs-retiring' });
        const ended = await expectRefused(token, 'KID_REVOKED', { now: at });
        expect(ended.detail).toBe(`Signing key "hs-retiring" was rotated and its grace period ended at ${GRACE_UNTIL}`);
        const noGrace: KeyLookup = async (kid) => hsKey(kid, { status: 'retiring' });
        expect(await verifyToken(await hs(claims()), noGrace, { now: NOW, clockSkewSeconds: SKEW, purpose: 'messaging' })).toMatchObject({
          reason: 'KID_REVOKED',
        });
      });
    });

    describe('SIGNATURE_INVALID', () => {
      it('given a tampered payload, then SIGNATURE_INVALID', async () => {
        const [header, , signature] = (await hs(claims())).split('.');
        const tampered = `${header}.${enc(claims({ external_id: 'admin' }))}.${signature}`;
        const result = await expectRefused(tampered, 'SIGNATURE_INVALID');
        expect(result).toMatchObject({ kid: 'hs-1', detail: 'The signature does not match signing key "hs-1"' });
        const [rsHeader, , rsSignature] = (await signed(signers.rsPem, claims())).split('.');
        await expectRefused(`${rsHeader}.${enc(claims({ external_id: 'admin' }))}.${rsSignature}`, 'SIGNATURE_INVALID');
      });

      it('given a wrong secret, then SIGNATURE_INVALID', async () => {
        await expectRefused(await hs(claims(), { kid: 'hs-1' }, generateHs256Secret()), 'SIGNATURE_INVALID');
      });

      it('given an empty signature on a signed alg, then SIGNATURE_INVALID', async () => {
        const [header, payload] = (await hs(claims())).split('.');
        await expectRefused(`${header}.${payload}.`, 'SIGNATURE_INVALID');
      });
    });

    describe('MALFORMED', () => {
      it.each([
        ['an empty token', ''],
        ['two parts', 'a.b'],
        ['four parts', 'a.b.c.d'],
        ['five parts (a JWE)', 'a.b.c.d.e'],
        ['non-base64url characters', '%%%.%%%.%%%'],
        ['padding', `${enc({ alg: 'HS256', kid: 'hs-1' })}=.${enc(claims())}.c2ln`],
        ['whitespace', ` ${enc({ alg: 'HS256', kid: 'hs-1' })}.${enc(claims())}.c2ln`],
        ['a header that is not JSON', `${enc('not json')}.${enc(claims())}.c2ln`],
        ['a header that is a JSON array', `${enc(['HS256'])}.${enc(claims())}.c2ln`],
        ['a header that is a JSON string', `${enc('"HS256"')}.${enc(claims())}.c2ln`],
        ['an empty payload part', `${enc({ alg: 'HS256', kid: 'hs-1' })}..c2ln`],
      ])('given %s, then MALFORMED', async (_what, token) => {
        await expectRefused(token, 'MALFORMED');
      });

      it('given a token over 16 KB (20 KB), then MALFORMED before anything is decoded; the limit can be set', async () => {
        const big = await hs(claims({ filler: 'x'.repeat(20_000) }));
        expect(big.length).toBeGreaterThan(20_000);
        expect((await expectRefused(big, 'MALFORMED')).detail).toBe('The token is larger than 16384 bytes');
        accepted(await verify(big, { maxTokenBytes: 64 * 1024 }));
        await expectRefused(await hs(claims()), 'MALFORMED', { maxTokenBytes: 100 });
      });

      it('given a claim (its value or its name) holding a NUL character or an unpaired surrogate, which cannot be stored, then MALFORMED naming it', async () => {
        for (const extra of [{ name: 'Ann\u0000' }, { external_id: 'cust\u0000' }, { plan: '\ud800' }, { 'bad\u0000name': 1 }]) {
          const refused = await expectRefused(await hs(claims(extra)), 'MALFORMED');
          expect(refused.detail).toContain('cannot be stored');
          // The detail itself is storable (the name is quoted as JSON text).
          expect(refused.detail).not.toContain('\u0000');
        }
        // Nested values are kept as JSON text, which escapes them: storable.
        accepted(await verify(await hs(claims({ profile: { note: 'a\u0000b' } }))));
      });

      it('given a kid header that is not a string, then MALFORMED', async () => {
        await expectRefused(await hs(claims(), { kid: 7 as unknown as string }), 'MALFORMED');
      });

      it('given a signed payload that is not a JSON object, then MALFORMED', async () => {
        for (const text of ['not json', '[1,2]', '"text"', '42'])
          await expectRefused(await new CompactSign(new TextEncoder().encode(text)).setProtectedHeader({ alg: 'HS256', kid: 'hs-1' }).sign(hmacKey(HS_SECRET)), 'MALFORMED');
      });

      it('given exp, nbf or iat that is not a finite number, then MALFORMED', async () => {
        await expectRefused(await hs(claims({ exp: String(NOW_S + 300) })), 'MALFORMED');
        await expectRefused(await hs(claims({ nbf: 'yesterday' })), 'MALFORMED');
        await expectRefused(await hs(claims({ iat: true })), 'MALFORMED');
        // 1e999 is JSON for Infinity: jose would let it through as "never expires".
        await expectRefused(await hsRaw(`{"external_id":"v","exp":1e999}`), 'MALFORMED');
        await expectRefused(await hsRaw(`{"external_id":"v","exp":${NOW_S + 300},"nbf":-1e999}`), 'MALFORMED');
      });

      it('given a __proto__ claim (prototype pollution), then MALFORMED and nothing is polluted', async () => {
        const result = await expectRefused(await hsRaw(`{"external_id":"v","exp":${NOW_S + 300},"__proto__":{"polluted":true}}`), 'MALFORMED');
        expect(result.detail).toBe('The claim name "__proto__" is not allowed');
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        for (const name of ['constructor', 'prototype'])
          await expectRefused(await hsRaw(`{"external_id":"v","exp":${NOW_S + 300},"${name}":{"prototype":{"polluted":true}}}`), 'MALFORMED');
        await expectRefused(await hsRaw(`{"exp":${NOW_S + 300},"__proto__":"x"}`), 'MALFORMED', { purpose: 'signature' });
      });

      it('given more custom claims than allowed, then MALFORMED', async () => {
        const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`c${i}`, i]));
        expect((await expectRefused(await hs(claims(many)), 'MALFORMED')).detail).toBe('The token has 101 custom claims: at most 100 are accepted');
        await expectRefused(await hs(claims({ a: 1, b: 2, c: 3 })), 'MALFORMED', { maxCustomClaims: 2 });
      });

      it('given a messaging metadata claim of the wrong type, then MALFORMED naming it', async () => {
        expect((await expectRefused(await hs(claims({ name: { first: 'Ada' } })), 'MALFORMED')).detail).toBe('The name claim must be a string');
        await expectRefused(await hs(claims({ email: 42 })), 'MALFORMED');
        await expectRefused(await hs(claims({ email_verified: 'yes' })), 'MALFORMED');
        await expectRefused(await hs(claims({ scope: [1, 2] })), 'MALFORMED');
      });

      it('given a lookup that fails, then MALFORMED and no exception', async () => {
        const broken: KeyLookup = async () => {
          throw new Error(`database down ${HS_SECRET}`);
        };
        const result = await verifyToken(await hs(claims()), broken, { now: NOW, clockSkewSeconds: SKEW, purpose: 'messaging' });
        expect(result).toEqual({ ok: false, reason: 'MALFORMED', detail: 'The token could not be verified' });
      });

      it('given input that is not a string at all, then MALFORMED and no exception', async () => {
        for (const input of [undefined, null, 42, {}, ['a.b.c']])
          expect(await verifyToken(input as unknown as string, lookup, { now: NOW, clockSkewSeconds: SKEW, purpose: 'messaging' })).toMatchObject({
            ok: false,
            reason: 'MALFORMED',
          });
      });
    });
  });

  describe('accepts', () => {
    const full = claims({
      iss: 'https://idp.example',
      sub: 'user-1',
      aud: 'svp',
      jti: 'token-1',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      email_verified: true,
      scope: 'chat history',
      plan: 'gold',
      phone: '6320834868293',
      seats: 5,
      ratio: 0.25,
      vip: false,
      note: null,
      address: { city: 'London', zip: 'N1' },
      tags: ['a', 'b'],
    });
    const expected = (kid: string, alg: string): VerificationSuccess => ({
      ok: true,
      kid,
      alg: alg as VerificationSuccess['alg'],
      externalId: 'visitor-42',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      emailVerified: true,
      scope: 'chat history',
      claims: {
        plan: 'gold',
        phone: '6320834868293',
        seats: 5,
        ratio: 0.25,
        vip: false,
        note: null,
        address: '{"city":"London","zip":"N1"}',
        tags: '["a","b"]',
      },
      expiresAt: '2026-11-21T10:05:00.000Z',
    });

    it('given an HS256 token, then metadata and typed custom claims (objects as JSON text, registered claims left out)', async () => {
      expect(await verify(await hs(full))).toEqual(expected('hs-1', 'HS256'));
    });

    it.each([
      ['RS256 from a PEM', 'rsPem'],
      ['RS256 from a JWK', 'rsJwk'],
      ['ES256 from a PEM', 'esPem'],
      ['ES256 from a JWK', 'esJwk'],
    ] as const)('given %s, then the same result', async (_what, name) => {
      const signer = signers[name];
      expect(await verify(await signed(signer, full))).toEqual(expected(signer.kid, signer.alg));
      // Again, from the imported-key cache.
      expect(await verify(await signed(signer, full))).toEqual(expected(signer.kid, signer.alg));
      expect(await verify(await signed(signer, full), { expectedAlg: signer.alg })).toEqual(expected(signer.kid, signer.alg));
    });

    it('given a token of 20 custom claims, then all 20 are kept', async () => {
      const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`claim_${i}`, i % 2 ? `value-${i}` : i]));
      const result = accepted(await verify(await hs(claims(twenty))));
      expect(Object.keys(result.claims)).toHaveLength(20);
      expect(result.claims).toEqual(twenty);
    });

    it('given only the required claims, then the optional metadata is null and there are no custom claims', async () => {
      expect(await verify(await hs({ external_id: 'visitor-42', exp: NOW_S + 300 }))).toEqual({
        ok: true,
        kid: 'hs-1',
        alg: 'HS256',
        externalId: 'visitor-42',
        name: null,
        email: null,
        emailVerified: null,
        scope: null,
        claims: {},
        expiresAt: '2026-11-21T10:05:00.000Z',
      });
    });

    it('given an integer external_id, email_verified as text and scope as a list, then they are read in their usual form', async () => {
      const result = accepted(await verify(await hs(claims({ external_id: 6320834868293, email_verified: 'false', scope: ['chat', 'history'] }))));
      expect(result).toMatchObject({ externalId: '6320834868293', emailVerified: false, scope: 'chat history' });
    });

    it('gives claims with no prototype: a claim name never resolves to an inherited member', async () => {
      const result = accepted(await verify(await hs(claims({ plan: 'gold' }))));
      expect(Object.getPrototypeOf(result.claims)).toBeNull();
      expect(result.claims.toString).toBeUndefined();
      expect(JSON.parse(JSON.stringify(result.claims))).toEqual({ plan: 'gold' });
    });

    it('given purpose signature, then the data is every claim but the registered ones (external_id, name… included)', async () => {
      const result = accepted(await verify(await hs(full), { purpose: 'signature' }));
      expect(result.claims).toEqual({
        external_id: 'visitor-42',
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        email_verified: true,
        scope: 'chat history',
        ...expected('hs-1', 'HS256').claims,
      });
      // Metadata of the wrong type is only data there, never a refusal.
      expect(accepted(await verify(await hs(claims({ name: { first: 'Ada' } })), { purpose: 'signature' })).claims.name).toBe('{"first":"Ada"}');
    });

    it('given a retiring key, then it verifies before graceUntil and is KID_REVOKED after', async () => {
      const token = await hs(claims({ exp: NOW_S + 7200 }), { kid: 'hs-retiring' });
      expect(accepted(await verify(token)).kid).toBe('hs-retiring');
      accepted(await verify(token, { now: new Date(Date.parse(GRACE_UNTIL) - 1000) }));
      await expectRefused(token, 'KID_REVOKED', { now: new Date(Date.parse(GRACE_UNTIL) + 1000) });
    });

    it('given a kid whose public key was replaced, then the new key is used, not a cached import of the old one', async () => {
      const signer = signers.rsPem;
      const token = await signed(signer, claims());
      accepted(await verify(token));
      const replacement = await newSigner('rs-pem', 'RS256', 'pem');
      keys.set('rs-pem', { kid: 'rs-pem', alg: 'RS256', status: 'active', material: { kind: 'jwk', jwk: replacement.jwk } });
      try {
        await expectRefused(token, 'SIGNATURE_INVALID');
        accepted(await verify(await signed(replacement, claims())));
      } finally {
        keys.set('rs-pem', { kid: 'rs-pem', alg: 'RS256', status: 'active', material: { kind: 'jwk', jwk: signer.jwk } });
      }
    });
  });

  describe('fuzz', () => {
    /** The same token, written differently only in bits base64url ignores (the mutation changed nothing). */
    const sameToken = (mutated: string, original: string): boolean => {
      const a = mutated.split('.');
      const b = original.split('.');
      return (
        a.length === b.length &&
        a.every((part, i) => /^[A-Za-z0-9_-]*$/.test(part) && Buffer.from(part, 'base64url').equals(Buffer.from(b[i]!, 'base64url')))
      );
    };

    it('given 2,000 random strings, bytes, crafted parts and mutated real tokens, then it never throws and refuses with a known reason', async () => {
      const real = [await hs(claims()), await signed(signers.rsJwk, claims()), await signed(signers.esJwk, claims())];
      const base64url = fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes).toString('base64url'));
      const mutated = fc
        .tuple(fc.constantFrom(...real), fc.nat(), fc.nat({ max: 3 }), fc.oneof(
            fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 1, maxLength: 4 }),
            fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }),
          ),
        )
        .map(([token, at, cut, insert]) => {
          const i = at % token.length;
          return { token: token.slice(0, i) + insert + token.slice(i + cut), original: token };
        });
      const header = fc.record(
        {
          alg: fc.oneof(fc.constantFrom('HS256', 'RS256', 'ES256', 'none', 'HS512'), fc.jsonValue()),
          kid: fc.oneof(fc.constantFrom('hs-1', 'rs-jwk', 'es-jwk', 'hs-revoked', 'nobody', ''), fc.jsonValue()),
          crit: fc.constant(['b64']),
          b64: fc.boolean(),
        },
        { requiredKeys: [] },
      );
      const crafted = fc
        .tuple(header, fc.oneof(fc.jsonValue(), fc.dictionary(fc.string(), fc.jsonValue())), fc.oneof(base64url, fc.constant('')))
        .map(([h, p, s]) => `${enc(h)}.${enc(p)}.${s}`);
      const input = fc.oneof(
        fc.string().map((token) => ({ token })),
        fc.string({ unit: 'binary', maxLength: 200 }).map((token) => ({ token })),
        fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ token: Buffer.from(bytes).toString('latin1') })),
        fc.array(base64url, { maxLength: 6 }).map((parts) => ({ token: parts.join('.') })),
        crafted.map((token) => ({ token })),
        mutated,
      );

      let runs = 0;
      await fc.assert(
        fc.asyncProperty(input, async ({ token, original }: { token: string; original?: string }) => {
          runs++;
          let result: VerificationSuccess | VerificationFailure;
          try {
            result = await verify(token);
          } catch (error) {
            throw new Error(`verifyToken threw: ${String(error)}`);
          }
          if (result.ok) {
            // Only a "mutation" that left every decoded byte as it was may pass.
            expect(original !== undefined && sameToken(token, original)).toBe(true);
            return;
          }
          expect(VERIFICATION_FAILURE_REASONS).toContain(result.reason);
          expect(typeof result.detail).toBe('string');
          expect(result.detail).not.toContain(HS_SECRET);
          if (token.length >= 24) expect(result.detail).not.toContain(token);
        }),
        { numRuns: 2000 },
      );
      expect(runs).toBeGreaterThanOrEqual(2000);
    });
  });
});
