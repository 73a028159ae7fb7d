import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { hostname } from 'node:os';
import { type Client, createClient } from 'graphql-ws';
import { type CryptoKey, type JWTPayload, SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import WebSocket from 'ws';
import type { VerificationFailureReason } from '@svp/contracts';

/**
 * The JWT negative suite of drill 9 (the cases of libs/identity's verifier tests, as tokens a client
 * could send), graphql-ws helpers and the SSRF target list.
 */

export interface SigningKeys {
  hs: { kid: string; secret: string };
  rs: { kid: string; privateKey: CryptoKey; pem: string };
  es: { kid: string; privateKey: CryptoKey };
  revoked: { kid: string; secret: string };
  /** Another org's HS256 key. */
  foreign: { kid: string; secret: string };
}

export interface NegativeToken {
  what: string;
  token: string;
  reason: VerificationFailureReason;
  /** The `signing` a visitor submit names with it. */
  signing: 'HS256' | 'RS256' | 'ES256';
  /** Only a messaging token needs external_id: this case does not apply to signed visitor data. */
  messagingOnly?: boolean;
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const hmacKey = (secret: string) => new TextEncoder().encode(secret);

/** A token assembled by hand (header and payload as given, HS256 signature with `secret`, or the given signature). */
export function handMade(header: Record<string, unknown>, payload: unknown, secret?: string, signature?: string): string {
  const signingInput = `${b64(header)}.${b64(payload)}`;
  const sig = signature ?? (secret ? createHmac('sha256', secret).update(signingInput).digest('base64url') : '');
  return `${signingInput}.${sig}`;
}

export async function makeKeys() {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  return { rsa, ec, rsPem: await exportSPKI(rsa.publicKey), ecJwk: await exportJWK(ec.publicKey) };
}

/** Every negative case, with the reason the platform must give. `claims` are the data (external_id added for messaging). */
export async function negativeTokens(keys: SigningKeys, claims: Record<string, unknown>): Promise<NegativeToken[]> {
  const base: JWTPayload = { external_id: 'drill9-user', ...claims };
  const hs = (payload: JWTPayload, header: Record<string, unknown> = {}, secret = keys.hs.secret) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: keys.hs.kid, ...header }).sign(hmacKey(secret));
  const exp = now() + 300;
  const valid = await hs({ ...base, exp });
  const [vh, , vs] = valid.split('.');
  const out: NegativeToken[] = [
    { what: 'expired', token: await hs({ ...base, exp: now() - 3600 }), reason: 'TOKEN_EXPIRED', signing: 'HS256' },
    { what: 'nbf in the future', token: await hs({ ...base, exp: now() + 7200, nbf: now() + 3600 }), reason: 'TOKEN_NOT_YET_VALID', signing: 'HS256' },
    { what: 'iat in the future', token: await hs({ ...base, exp: now() + 7200, iat: now() + 3600 }), reason: 'TOKEN_NOT_YET_VALID', signing: 'HS256' },
    { what: 'bad signature (another secret)', token: await hs({ ...base, exp }, {}, `${keys.hs.secret}x`), reason: 'SIGNATURE_INVALID', signing: 'HS256' },
    { what: 'tampered payload', token: `${vh}.${b64({ ...base, exp, external_id: 'mallory' })}.${vs}`, reason: 'SIGNATURE_INVALID', signing: 'HS256' },
    { what: 'empty signature', token: `${vh}.${b64({ ...base, exp })}.`, reason: 'SIGNATURE_INVALID', signing: 'HS256' },
    { what: 'unknown kid', token: await hs({ ...base, exp }, { kid: 'drill9-no-such-kid' }), reason: 'KID_UNKNOWN', signing: 'HS256' },
    { what: "another org's key", token: await new SignJWT({ ...base, exp }).setProtectedHeader({ alg: 'HS256', kid: keys.foreign.kid }).sign(hmacKey(keys.foreign.secret)), reason: 'KID_UNKNOWN', signing: 'HS256' },
    { what: 'revoked kid', token: await new SignJWT({ ...base, exp }).setProtectedHeader({ alg: 'HS256', kid: keys.revoked.kid }).sign(hmacKey(keys.revoked.secret)), reason: 'KID_REVOKED', signing: 'HS256' },
    { what: 'alg none', token: handMade({ alg: 'none', kid: keys.hs.kid, typ: 'JWT' }, { ...base, exp }), reason: 'ALG_NOT_ALLOWED', signing: 'HS256' },
    { what: 'alg None (case)', token: handMade({ alg: 'None', kid: keys.hs.kid }, { ...base, exp }), reason: 'ALG_NOT_ALLOWED', signing: 'HS256' },
    { what: 'alg HS512', token: await new SignJWT({ ...base, exp }).setProtectedHeader({ alg: 'HS512', kid: keys.hs.kid }).sign(hmacKey(keys.hs.secret)), reason: 'ALG_NOT_ALLOWED', signing: 'HS256' },
    { what: 'HS/RS confusion (HS256 keyed with the RS256 public PEM)', token: await new SignJWT({ ...base, exp }).setProtectedHeader({ alg: 'HS256', kid: keys.rs.kid }).sign(hmacKey(keys.rs.pem)), reason: 'ALG_NOT_ALLOWED', signing: 'RS256' },
    { what: 'ES256 signature on the RS256 kid', token: await new SignJWT({ ...base, exp }).setProtectedHeader({ alg: 'ES256', kid: keys.rs.kid }).sign(keys.es.privateKey), reason: 'ALG_NOT_ALLOWED', signing: 'RS256' },
    { what: 'RS256 signature on the ES256 kid', token: await new SignJWT({ ...base, exp }).setProtectedHeader({ alg: 'RS256', kid: keys.es.kid }).sign(keys.rs.privateKey), reason: 'ALG_NOT_ALLOWED', signing: 'ES256' },
    { what: 'RS256 signed with another private key', token: await new SignJWT({ ...base, exp }).setProtectedHeader({ alg: 'RS256', kid: keys.rs.kid }).sign((await generateKeyPair('RS256')).privateKey), reason: 'SIGNATURE_INVALID', signing: 'RS256' },
    { what: 'ES256 signed with another private key', token: await new SignJWT({ ...base, exp }).setProtectedHeader({ alg: 'ES256', kid: keys.es.kid }).sign((await generateKeyPair('ES256')).privateKey), reason: 'SIGNATURE_INVALID', signing: 'ES256' },
    { what: 'no exp', token: await hs({ ...base }), reason: 'CLAIM_MISSING', signing: 'HS256' },
    { what: 'no kid header', token: await new SignJWT({ ...base, exp }).setProtectedHeader({ alg: 'HS256' }).sign(hmacKey(keys.hs.secret)), reason: 'CLAIM_MISSING', signing: 'HS256' },
    { what: 'no external_id', token: await hs({ ...claims, exp }), reason: 'CLAIM_MISSING', signing: 'HS256', messagingOnly: true },
    { what: 'not a JWT', token: 'a.b.c', reason: 'MALFORMED', signing: 'HS256' },
    { what: 'oversized (20 KB)', token: `${'a'.repeat(20_000)}.b.c`, reason: 'MALFORMED', signing: 'HS256' },
    { what: 'payload not JSON', token: handMade({ alg: 'HS256', kid: keys.hs.kid }, 'not json', keys.hs.secret), reason: 'MALFORMED', signing: 'HS256' },
    { what: 'exp not a number', token: await hs({ ...base, exp: 'tomorrow' as unknown as number }), reason: 'MALFORMED', signing: 'HS256' },
    { what: '__proto__ claim', token: handMade({ alg: 'HS256', kid: keys.hs.kid }, JSON.parse(`{"__proto__":{"isAdmin":true},"external_id":"x","exp":${exp}}`) as unknown, keys.hs.secret), reason: 'MALFORMED', signing: 'HS256' },
  ];
  // handMade stringified the parsed object above, which dropped the __proto__ key: write it by hand.
  const protoPayload = `{"__proto__":{"isAdmin":true},"external_id":"x","tier":"stolen","exp":${exp}}`;
  const protoInput = `${b64({ alg: 'HS256', kid: keys.hs.kid })}.${Buffer.from(protoPayload).toString('base64url')}`;
  out.find((t) => t.what === '__proto__ claim')!.token = `${protoInput}.${createHmac('sha256', keys.hs.secret).update(protoInput).digest('base64url')}`;
  return out;
}

// ── graphql-ws ──────────────────────────────────────────────────────────────────────────────────────

export interface Subscriber {
  client: Client;
  events: unknown[];
  errors: unknown[];
  closes: { code: number; reason: string }[];
  subscribe(query: string, variables: Record<string, unknown>): () => void;
}

export function subscriber(gatewayUrl: string, authorization: string | undefined): Subscriber {
  const closes: { code: number; reason: string }[] = [];
  const events: unknown[] = [];
  const errors: unknown[] = [];
  const client = createClient({
    url: `${gatewayUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: authorization === undefined ? {} : { Authorization: authorization },
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => void closes.push({ code: (event as { code: number }).code, reason: (event as { reason: string }).reason }) },
  });
  return {
    client,
    events,
    errors,
    closes,
    subscribe: (query, variables) => client.subscribe({ query, variables }, { next: (value) => void events.push(value), error: (error) => void errors.push(error), complete: () => undefined }),
  };
}

// ── SSRF ────────────────────────────────────────────────────────────────────────────────────────────

/** Webhook targets that must be refused by default (WEBHOOKS_ALLOW_PRIVATE_TARGETS unset). */
export const SSRF_TARGETS: { what: string; url: string }[] = [
  { what: 'loopback', url: 'http://127.0.0.1:4002/v1/sessions' },
  { what: 'loopback, other address', url: 'http://127.9.9.9/x' },
  { what: 'loopback, short form', url: 'http://127.1/x' },
  { what: 'unspecified', url: 'http://0.0.0.0/x' },
  { what: 'zero', url: 'http://0/x' },
  { what: 'localhost', url: 'http://localhost/x' },
  { what: 'localhost.', url: 'http://localhost./x' },
  { what: 'LOCALHOST upper case', url: 'http://LOCALHOST:80/x' },
  { what: 'private 10/8', url: 'http://10.0.0.1/x' },
  { what: 'private 172.16/12', url: 'http://172.16.5.4/x' },
  { what: 'private 192.168/16', url: 'https://192.168.1.1/x' },
  { what: 'carrier-grade NAT', url: 'http://100.64.0.1/x' },
  { what: 'link-local', url: 'http://169.254.1.1/x' },
  { what: 'cloud metadata', url: 'http://169.254.169.254/latest/meta-data/' },
  { what: 'cloud metadata, decimal', url: 'http://2852039166/latest/meta-data/' },
  { what: 'multicast', url: 'http://224.0.0.1/x' },
  { what: 'broadcast', url: 'http://255.255.255.255/x' },
  { what: 'IPv6 loopback', url: 'http://[::1]/x' },
  { what: 'IPv6 unspecified', url: 'http://[::]/x' },
  { what: 'IPv6 ULA', url: 'http://[fc00::1]/x' },
  { what: 'IPv6 ULA metadata (fd00:ec2::254)', url: 'http://[fd00:ec2::254]/x' },
  { what: 'IPv6 link-local', url: 'http://[fe80::1]/x' },
  { what: 'IPv4-mapped IPv6 loopback', url: 'http://[::ffff:127.0.0.1]/x' },
  { what: 'IPv4-mapped IPv6 loopback, hex', url: 'http://[::ffff:7f00:1]/x' },
  { what: 'IPv4-mapped IPv6 metadata', url: 'http://[::ffff:169.254.169.254]/x' },
  { what: 'IPv4-mapped IPv6 private, long form', url: 'http://[0:0:0:0:0:ffff:10.0.0.1]/x' },
  { what: 'NAT64 loopback', url: 'http://[64:ff9b::7f00:1]/x' },
  { what: '6to4 loopback', url: 'http://[2002:7f00:1::]/x' },
  { what: 'decimal 127.0.0.1', url: 'http://2130706433/x' },
  { what: 'hex 127.0.0.1', url: 'http://0x7f000001/x' },
  { what: 'dotted hex', url: 'http://0x7f.0x0.0x0.0x1/x' },
  { what: 'octal', url: 'http://0177.0.0.1/x' },
  { what: 'octal, whole', url: 'http://017700000001/x' },
  { what: 'zero-padded', url: 'http://127.000.000.001/x' },
  { what: 'credentials in the URL', url: 'http://user:pass@1.1.1.1/x' },
  { what: 'ftp scheme', url: 'ftp://1.1.1.1/x' },
  { what: 'file scheme', url: 'file:///etc/passwd' },
  { what: 'gopher to a local Redis', url: 'gopher://127.0.0.1:6379/_INFO' },
  { what: 'a name that does not resolve', url: 'http://drill9.invalid/x' },
  { what: 'not a URL', url: 'http//127.0.0.1' },
];

/** Loopback, private, link-local, CGNAT, unspecified (IPv4 and IPv6, IPv4-mapped included). */
const PRIVATE = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) PRIVATE.addSubnet(net, prefix, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  const family = isIP(address);
  return family === 4 ? PRIVATE.check(address, 'ipv4') : family === 6 ? PRIVATE.check(address, 'ipv6') : false;
}

/**
 * This machine's own names that resolve, now, to loopback or private addresses only: os.hostname() and
 * every name in /etc/hosts (but localhost, which the fixed list always holds), each looked up with
 * dns.lookup (what the platform's resolver does too). `candidates` is how many names were looked up.
 */
export async function privateHostNames(): Promise<{ candidates: number; names: string[]; addresses: string[] }> {
  let hosts = '';
  try {
    hosts = readFileSync('/etc/hosts', 'utf8');
  } catch {
    // no /etc/hosts: the host name alone
  }
  const fromHosts = hosts
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .filter((fields) => fields.length > 1)
    .flatMap((fields) => fields.slice(1));
  const candidates = [...new Set([hostname(), ...fromHosts].map((n) => n.toLowerCase()).filter((n) => n && !/^localhost\.?$/.test(n) && isIP(n) === 0))];
  const names: string[] = [];
  const addresses: string[] = [];
  for (const name of candidates) {
    const resolved = await lookup(name, { all: true }).catch(() => []);
    if (resolved.length > 0 && resolved.every((r) => isPrivateAddress(r.address))) {
      names.push(name);
      addresses.push(resolved.map((r) => r.address).join(' '));
    }
  }
  return { candidates: candidates.length, names, addresses };
}
