/**
 * Server-side request forgery guard for webhook targets (DESIGN.md section 5, "Authentication"):
 * a target on a loopback, private or otherwise non-public address is refused unless
 * WEBHOOKS_ALLOW_PRIVATE_TARGETS=true (`allowPrivate`).
 *
 * Where it runs:
 * - `checkWebhookTarget` when a subscription is created (a clear 4xx reason), and again before every
 *   delivery attempt (the name may resolve elsewhere by then);
 * - `guardedLookup` inside the HTTP agent of the dispatcher, for every connection it opens: the
 *   socket connects only to an address that this guard accepted in that very lookup, so a name that
 *   answers a public address to the check and a private one to the connection (DNS rebinding)
 *   cannot reach the private one. IP-literal URLs are not looked up by the socket; the check
 *   before the attempt covers them (a literal cannot change).
 *
 * Rules: http or https only; no user name or password in the URL; every address the host resolves
 * to must be a public unicast address. Refused: loopback (127/8, ::1), private (10/8, 172.16/12,
 * 192.168/16, fc00::/7), link-local (169.254/16 with the cloud metadata address 169.254.169.254,
 * fe80::/10), carrier-grade NAT (100.64/10), unspecified (0/8, ::), multicast, broadcast, reserved
 * and documentation ranges, and IPv6 forms that embed an IPv4 address (IPv4-mapped ::ffff:0:0/96,
 * NAT64 64:ff9b::/96, 6to4 2002::/16) judged by the embedded address. Classification is by
 * ipaddr.js, the range tables fastify's trust-proxy also uses.
 */
import { promises as dns } from 'node:dns';
import type { LookupAddress, LookupOneOptions, LookupAllOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface WebhookTargetOptions {
  /** Accept loopback and private targets (WEBHOOKS_ALLOW_PRIVATE_TARGETS=true). The URL rules still apply. */
  allowPrivate?: boolean;
  /** Resolves a host name to every address (default: `dns.promises.lookup(host, { all: true })`). */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

export type WebhookTargetCheck =
  | { ok: true; url: URL; addresses: ResolvedAddress[] }
  | { ok: false; reason: string };

export const CLOUD_METADATA_ADDRESSES = ['169.254.169.254', 'fd00:ec2::254'];

/** Checks a webhook target URL: its form, then every address its host resolves to. */
export async function checkWebhookTarget(target: string | URL, options: WebhookTargetOptions = {}): Promise<WebhookTargetCheck> {
  let url: URL;
  try {
    url = new URL(String(target));
  } catch {
    return refused('the target is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return refused(`the target must use http or https, not ${url.protocol.slice(0, -1)}`);
  if (url.username || url.password) return refused('the target URL must not carry credentials');
  const hostname = bareHostname(url);
  if (!hostname) return refused('the target URL has no host');
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolveHost(hostname, options.resolve);
  } catch (error) {
    return refused(`the target host ${hostname} does not resolve (${errorCode(error)})`);
  }
  if (addresses.length === 0) return refused(`the target host ${hostname} does not resolve`);
  if (!options.allowPrivate) {
    for (const { address } of addresses) {
      const range = nonPublicRange(address);
      if (range) return refused(describeRefusal(hostname, address, range));
    }
  }
  return { ok: true, url, addresses };
}

/**
 * Why an address is not a public unicast address (`loopback`, `private`, `linkLocal`,
 * `cloudMetadata`, `carrierGradeNat`, …), or undefined when it is public. Unparseable → `invalid`.
 */
export function nonPublicRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'invalid';
  if (CLOUD_METADATA_ADDRESSES.includes(ipaddr.process(address).toString())) return 'cloudMetadata';
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6') {
    const embedded = embeddedIPv4(ip as ipaddr.IPv6);
    if (embedded) {
      if (CLOUD_METADATA_ADDRESSES.includes(embedded.toString())) return 'cloudMetadata';
      ip = embedded;
    }
  }
  const range = ip.range();
  return range === 'unicast' ? undefined : range;
}

/** The IPv4 address inside IPv4-mapped, IPv4-translated, NAT64 and 6to4 IPv6 addresses. */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const bytes = ip.toByteArray();
  switch (ip.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
    case 'rfc6052':
      return new ipaddr.IPv4(bytes.slice(12, 16));
    case '6to4':
      return new ipaddr.IPv4(bytes.slice(2, 6));
    default:
      return undefined;
  }
}

/** Thrown (as the lookup error) when a connection would go to a refused address. */
export class WebhookTargetRefusedError extends Error {
  readonly code = 'EWEBHOOKTARGETREFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'WebhookTargetRefusedError';
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect`/`tls.connect` (and undici's `connect` options): resolves the host,
 * refuses the connection unless every address passes the guard, and connects to those addresses.
 */
export function guardedLookup(options: WebhookTargetOptions = {}) {
  return (hostname: string, lookupOptions: LookupOneOptions | LookupAllOptions | number, callback: LookupCallback): void => {
    const all = typeof lookupOptions === 'object' && lookupOptions.all === true;
    const family = typeof lookupOptions === 'number' ? lookupOptions : (lookupOptions.family ?? 0);
    resolveHost(hostname, options.resolve)
      .then((resolved) => {
        const addresses = family === 4 || family === 6 ? resolved.filter((a) => a.family === family) : resolved;
        if (addresses.length === 0) {
          callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '');
          return;
        }
        if (!options.allowPrivate) {
          for (const { address } of resolved) {
            const range = nonPublicRange(address);
            if (range) {
              callback(new WebhookTargetRefusedError(describeRefusal(hostname, address, range)), '');
              return;
            }
          }
        }
        if (all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      })
      .catch((error: NodeJS.ErrnoException) => callback(error, ''));
  };
}

async function resolveHost(hostname: string, resolve?: WebhookTargetOptions['resolve']): Promise<ResolvedAddress[]> {
  if (ipaddr.isValid(hostname)) return [{ address: hostname, family: ipaddr.parse(hostname).kind() === 'ipv4' ? 4 : 6 }];
  if (resolve) return resolve(hostname);
  const found = await dns.lookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

/** The URL's host without IPv6 brackets. */
function bareHostname(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

const RANGE_NAMES: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  uniqueLocal: 'a private (unique local) address',
  linkLocal: 'a link-local address',
  cloudMetadata: 'the cloud metadata address',
  carrierGradeNat: 'a carrier-grade NAT address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
};

function describeRefusal(hostname: string, address: string, range: string): string {
  const what = RANGE_NAMES[range] ?? `a non-public address (${range})`;
  const where = hostname === address ? address : `${hostname} (${address})`;
  return `the target ${where} is ${what}; private targets are refused unless WEBHOOKS_ALLOW_PRIVATE_TARGETS=true`;
}

function errorCode(error: unknown): string {
  return (error as { code?: string }).code ?? (error instanceof Error ? error.message : String(error));
}

function refused(reason: string): WebhookTargetCheck {
  return { ok: false, reason };
}
