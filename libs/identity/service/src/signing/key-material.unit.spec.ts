import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { fingerprint, generateHs256Secret, parsePublicKey, type ParsedPublicKey, type PublicJwk } from './key-material.js';

/** A self-signed P-256 certificate (public material only) and the key it holds. */
const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIUObZnBteLMyJzb5dAv+YqcJ1xXngwCgYIKoZIzj0EAwIw
EzERMA8GA1UEAwwIc3ZwLXRlc3QwIBcNMjYxMTIxMjAxNDI4WhgPMjEyNjEwMjgy
MDE0MjhaMBMxETAPBgNVBAMMCHN2cC10ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAEvquHEjFkIZErbztPlP9MkQAPuUQFzDkWMzYYJbqrSaVdEEc0Zm/FvwDQ
BNj1TItnGs7+AXeQ00EcXAp07qUaYqNTMFEwHQYDVR0OBBYEFIO/VdTgJaq8p6aI
bGnqXY40utIKMB8GA1UdIwQYMBaAFIO/VdTgJaq8p6aIbGnqXY40utIKMA8GA1Ud
EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhANwG1C4L0didjYgwVEZxHO0a
up1buC80GddgRC7KS2RdAiBY1nY8tlM1hWULY++o7lIDoLJCxaq45d73PxIfSRN6
ug==
-----END CERTIFICATE-----`;
const CERTIFICATE_JWK: PublicJwk = {
  kty: 'EC',
  crv: 'P-256',
  x: 'vquHEjFkIZErbztPlP9MkQAPuUQFzDkWMzYYJbqrSaU',
  y: 'XRBHNGZvxb8A0ATY9UyLZxrO_gF3kNNBHFwKdO6lGmI',
};

const pemOf = (key: KeyObject, type: 'spki' | 'pkcs1' | 'pkcs8' | 'sec1') => key.export({ type, format: 'pem' }) as string;
const jwkOf = (key: KeyObject) => key.export({ format: 'jwk' }) as Record<string, unknown>;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsaJwk = { kty: 'RSA', n: jwkOf(rsa.publicKey).n, e: 'AQAB' } as PublicJwk;
const ecJwk = { kty: 'EC', crv: 'P-256', x: jwkOf(ec.publicKey).x, y: jwkOf(ec.publicKey).y } as PublicJwk;

function refusal(parsed: ParsedPublicKey): string {
  if (parsed.ok) throw new Error(`expected a refusal, got ${JSON.stringify(parsed)}`);
  return parsed.message;
}

describe('generateHs256Secret', () => {
  it('gives 256 random bits as base64url text, different every time', () => {
    const secrets = new Set(Array.from({ length: 50 }, () => generateHs256Secret()));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    }
  });
});

describe('parsePublicKey', () => {
  describe('reads and normalises', () => {
    it('given an RS256 SPKI PEM, then the JWK is exactly kty, n, e', async () => {
      const parsed = await parsePublicKey('RS256', { publicKey: pemOf(rsa.publicKey, 'spki') });
      expect(parsed).toEqual({ ok: true, jwk: rsaJwk });
      expect(Object.keys(parsed.ok ? parsed.jwk : {})).toEqual(['kty', 'n', 'e']);
    });

    it('given an RS256 PKCS#1 "RSA PUBLIC KEY" PEM, then it reads the same key', async () => {
      expect(await parsePublicKey('RS256', { publicKey: pemOf(rsa.publicKey, 'pkcs1') })).toEqual({ ok: true, jwk: rsaJwk });
    });

    it('given an ES256 SPKI PEM (from jose), then the JWK is exactly kty, crv, x, y', async () => {
      const { publicKey } = await generateKeyPair('ES256', { extractable: true });
      const exported = await exportJWK(publicKey);
      const parsed = await parsePublicKey('ES256', { publicKey: await exportSPKI(publicKey) });
      expect(parsed).toEqual({ ok: true, jwk: { kty: 'EC', crv: 'P-256', x: exported.x, y: exported.y } });
    });

    it('given an X.509 certificate, then it reads the public key it holds', async () => {
      expect(await parsePublicKey('ES256', { publicKey: CERTIFICATE })).toEqual({ ok: true, jwk: CERTIFICATE_JWK });
    });

    it('given a PEM whose line breaks were escaped twice in JSON ("\\n" as text), then it still reads it', async () => {
      const escaped = pemOf(ec.publicKey, 'spki').trim().replace(/\n/g, '\\n');
      expect(await parsePublicKey('ES256', { publicKey: escaped })).toEqual({ ok: true, jwk: ecJwk });
    });

    it('given a JWK set with one key carrying extra members, then only the public members remain and its kid is kept', async () => {
      const key = { ...ecJwk, kid: 'key-2026', alg: 'ES256', use: 'sig', key_ops: ['verify'], x5t: 'abc', ext: true };
      expect(await parsePublicKey('ES256', { jwks: { keys: [key] } })).toEqual({ ok: true, jwk: ecJwk, kid: 'key-2026' });
    });

    it('given a JWK set of several keys and a kid, then the key with that kid is taken', async () => {
      const other = jwkOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
      const parsed = await parsePublicKey('RS256', { jwks: { keys: [{ ...other, kid: 'a' }, { ...rsaJwk, kid: 'b' }] }, kid: 'b' });
      expect(parsed).toEqual({ ok: true, jwk: rsaJwk, kid: 'b' });
    });

    it('given a single JWK without a kid and a kid in the request, then that key is taken (the request names it)', async () => {
      expect(await parsePublicKey('RS256', { jwks: { keys: [{ ...rsaJwk }] }, kid: 'chosen' })).toEqual({ ok: true, jwk: rsaJwk });
    });

    it('given n with a leading zero octet, then n is normalised to its minimal form', async () => {
      const n = Buffer.concat([Buffer.alloc(1), Buffer.from((rsaJwk as { n: string }).n, 'base64url')]).toString('base64url');
      expect(await parsePublicKey('RS256', { jwks: { keys: [{ kty: 'RSA', n, e: 'AQAB' }] } })).toEqual({ ok: true, jwk: rsaJwk });
    });
  });

  describe('refuses', () => {
    it('both publicKey and jwks, or neither', async () => {
      const pem = pemOf(rsa.publicKey, 'spki');
      expect(refusal(await parsePublicKey('RS256', { publicKey: pem, jwks: { keys: [rsaJwk] } }))).toMatch(/either publicKey .* or jwks, not both/);
      expect(refusal(await parsePublicKey('RS256', {}))).toBe('RS256 needs a public key: give publicKey (PEM) or jwks');
    });

    it.each([
      ['a PKCS#8 RSA private key', 'RS256', () => pemOf(rsa.privateKey, 'pkcs8')],
      ['a PKCS#1 RSA private key', 'RS256', () => pemOf(rsa.privateKey, 'pkcs1')],
      ['a SEC1 EC private key', 'ES256', () => pemOf(ec.privateKey, 'sec1')],
      ['a public key followed by its private key', 'ES256', () => pemOf(ec.publicKey, 'spki') + pemOf(ec.privateKey, 'pkcs8')],
    ] as const)('%s as publicKey, without echoing it', async (_what, alg, pem) => {
      const text = pem();
      const message = refusal(await parsePublicKey(alg, { publicKey: text }));
      expect(message).toMatch(/publicKey is a private key: give the public key only/);
      for (const line of text.split('\n').filter((l) => l.length > 20)) expect(message).not.toContain(line);
    });

    it('a private JWK (the "d" member) anywhere in the set, without echoing it', async () => {
      const privateJwk = jwkOf(ec.privateKey);
      const message = refusal(await parsePublicKey('ES256', { jwks: { keys: [{ ...ecJwk, kid: 'pub' }, { ...privateJwk, kid: 'priv' }] }, kid: 'pub' }));
      expect(message).toBe('jwks.keys[1] holds private key material (the "d" member): give public keys only');
      expect(message).not.toContain(privateJwk.d as string);
    });

    it('a symmetric (oct) JWK', async () => {
      const message = refusal(await parsePublicKey('RS256', { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ' }] } }));
      expect(message).toMatch(/symmetric key \(kty "oct"\)/);
      expect(message).not.toContain('c2VjcmV0');
    });

    it('an RSA key for ES256 and an EC key for RS256 (PEM and JWK)', async () => {
      expect(refusal(await parsePublicKey('ES256', { publicKey: pemOf(rsa.publicKey, 'spki') }))).toBe(
        'publicKey: an RSA key cannot verify ES256 (ES256 needs an EC key on curve P-256)',
      );
      expect(refusal(await parsePublicKey('RS256', { publicKey: pemOf(ec.publicKey, 'spki') }))).toBe(
        'publicKey: an EC key cannot verify RS256 (RS256 needs an RSA key of 2048 bits or more)',
      );
      expect(refusal(await parsePublicKey('ES256', { jwks: { keys: [rsaJwk] } }))).toMatch(/^jwks: an RSA key cannot verify ES256/);
      expect(refusal(await parsePublicKey('RS256', { jwks: { keys: [ecJwk] } }))).toMatch(/^jwks: an EC key cannot verify RS256/);
    });

    it('EC curves other than P-256, and other key types', async () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
      expect(refusal(await parsePublicKey('ES256', { publicKey: pemOf(p384, 'spki') }))).toBe(
        'publicKey: ES256 needs an EC key on curve P-256 (this one is on "P-384")',
      );
      expect(refusal(await parsePublicKey('ES256', { jwks: { keys: [jwkOf(p384)] } }))).toMatch(/on curve P-256 \(this one is on "P-384"\)/);
      const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
      expect(refusal(await parsePublicKey('ES256', { publicKey: pemOf(secp256k1, 'spki') }))).toMatch(/this one is on "secp256k1"/);
      const ed25519 = generateKeyPairSync('ed25519').publicKey;
      expect(refusal(await parsePublicKey('ES256', { publicKey: pemOf(ed25519, 'spki') }))).toMatch(/"ed25519" keys are not supported/);
      expect(refusal(await parsePublicKey('ES256', { jwks: { keys: [jwkOf(ed25519)] } }))).toMatch(/"OKP" keys are not supported/);
    });

    it('RSA keys shorter than 2048 bits', async () => {
      const short = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
      expect(refusal(await parsePublicKey('RS256', { publicKey: pemOf(short, 'spki') }))).toBe(
        'publicKey: RSA keys need 2048 bits or more (this one has 1024)',
      );
      expect(refusal(await parsePublicKey('RS256', { jwks: { keys: [jwkOf(short)] } }))).toMatch(/2048 bits or more \(this one has 1024\)/);
    });

    it('a JWK whose alg differs, whose use is "enc", or whose key_ops leave out "verify"', async () => {
      expect(refusal(await parsePublicKey('RS256', { jwks: { keys: [{ ...rsaJwk, alg: 'RS512' }] } }))).toBe(
        'jwks: the key is for alg "RS512" and cannot verify RS256',
      );
      expect(refusal(await parsePublicKey('RS256', { jwks: { keys: [{ ...rsaJwk, use: 'enc' }] } }))).toMatch(/"use" is "enc"/);
      expect(refusal(await parsePublicKey('RS256', { jwks: { keys: [{ ...rsaJwk, key_ops: ['encrypt'] }] } }))).toMatch(/key_ops/);
    });

    it('several keys and no kid, or a kid the set does not hold, naming the kids it has', async () => {
      const keys = [{ ...rsaJwk, kid: 'one' }, { ...rsaJwk, kid: 'two' }];
      expect(refusal(await parsePublicKey('RS256', { jwks: { keys } }))).toBe(
        'jwks holds 2 keys: name the one to use with kid (kids: "one", "two")',
      );
      expect(refusal(await parsePublicKey('RS256', { jwks: { keys }, kid: 'three' }))).toBe('jwks has no key with kid "three" (kids: "one", "two")');
      expect(refusal(await parsePublicKey('RS256', { jwks: { keys: [{ ...rsaJwk, kid: 'one' }] }, kid: 'three' }))).toMatch(/no key with kid "three"/);
      expect(refusal(await parsePublicKey('RS256', { jwks: { keys: [...keys, { ...rsaJwk, kid: 'one' }] }, kid: 'one' }))).toMatch(
        /2 keys with kid "one": kids must be unique/,
      );
    });

    it.each([
      ['garbage text', 'not a key at all'],
      ['a PEM header with a broken body', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'],
      ['a broken certificate', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
      ['another kind of PEM block', '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----'],
    ])('%s as publicKey', async (_what, publicKey) => {
      expect(refusal(await parsePublicKey('ES256', { publicKey }))).toMatch(/^publicKey (is not a PEM public key|could not be read|holds a "EC PARAMETERS")/);
    });

    it.each([
      ['not a set', { keys: 'nope' }, /^jwks must be a JWK set/],
      ['an empty set', { keys: [] }, /^jwks must be a JWK set/],
      ['a key that is not an object', { keys: ['nope'] }, /^jwks.keys\[0\] is not a JSON object$/],
      ['a key without kty', { keys: [{ n: 'AQAB', e: 'AQAB' }] }, /^jwks: the key has no "kty"/],
      ['a kid that is not a string', { keys: [{ ...ecJwk, kid: 7 }] }, /^jwks.keys\[0\].kid must be a string$/],
      ['an RSA key without n', { keys: [{ kty: 'RSA', e: 'AQAB' }] }, /^jwks: an RSA key needs "n" and "e" as base64url$/],
      ['an EC key with a short x', { keys: [{ ...ecJwk, x: 'AAAA' }] }, /^jwks: a P-256 key needs "x" and "y" as 32 bytes/],
      ['an EC key with padded base64', { keys: [{ ...ecJwk, x: `${(ecJwk as { x: string }).x}=` }] }, /^jwks: a P-256 key needs "x" and "y"/],
      ['an EC point not on the curve', { keys: [{ ...ecJwk, y: (ecJwk as { x: string }).x }] }, /^jwks: not a valid P-256 public key/],
      ['an RSA key with an even exponent', { keys: [{ ...rsaJwk, e: 'AQAA' }] }, /^jwks: the RSA public exponent "e" is not a usual one/],
    ])('a JWK set with %s', async (_what, jwks, expected) => {
      const alg = (jwks.keys[0] as { kty?: string } | undefined)?.kty === 'RSA' ? 'RS256' : 'ES256';
      expect(refusal(await parsePublicKey(alg, { jwks: jwks as { keys: Record<string, unknown>[] } }))).toMatch(expected);
    });
  });
});

describe('fingerprint', () => {
  it('of a public key is its RFC 7638 SHA-256 thumbprint, as jose computes it', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const full = await exportJWK(publicKey);
    const parsed = await parsePublicKey('RS256', { publicKey: await exportSPKI(publicKey) });
    if (!parsed.ok) throw new Error(parsed.message);
    expect(await fingerprint({ kind: 'jwk', jwk: parsed.jwk })).toBe(await calculateJwkThumbprint(full, 'sha256'));
    expect(await fingerprint({ kind: 'jwk', jwk: ecJwk })).toBe(await calculateJwkThumbprint(jwkOf(ec.publicKey), 'sha256'));
  });

  it('of an HS256 secret is base64url HMAC-SHA256(secret, "svp-fingerprint") cut to 22 characters, never the secret', async () => {
    const secret = generateHs256Secret();
    const print = await fingerprint({ kind: 'hmac', secret });
    expect(print).toBe(createHmac('sha256', secret).update('svp-fingerprint').digest('base64url').slice(0, 22));
    expect(print).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(secret).not.toContain(print);
    expect(await fingerprint({ kind: 'hmac', secret: `${secret}x` })).not.toBe(print);
  });
});
