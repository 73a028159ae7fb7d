/**
 * Whether the KurrentDB contract suite can run here, decided in well under a second: with
 * KURRENTDB_URL set, whether its first node accepts a TCP connection; without it, whether
 * testcontainers finds a container runtime (it gives up within milliseconds when there is none).
 * jest.config.js uses it to leave the suite out, saying so in one line, instead of letting it fail
 * or pass silently.
 *
 * Self-contained on purpose (no relative imports, only erasable TypeScript syntax), so tooling can
 * load it on its own.
 */
import { Socket } from 'node:net';

export type KurrentDbAvailability =
  | { available: true; url?: string; via: 'env' | 'docker' }
  | { available: false; reason: string };

export interface KurrentDbAvailabilityOptions {
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** TCP connect timeout for KURRENTDB_URL (default 1,500 ms). */
  connectTimeoutMs?: number;
  /** How long to wait for testcontainers to find a container runtime (default 5,000 ms). */
  dockerTimeoutMs?: number;
}

export interface Endpoint {
  host: string;
  port: number;
}

const DEFAULT_PORT = 2113;

/**
 * The first node of a KurrentDB connection string (`kurrentdb://`, `kdb://`, `esdb://`, with
 * `+discover`, credentials, several comma-separated hosts, IPv6 in brackets), or undefined.
 */
export function firstEndpoint(connectionString: string): Endpoint | undefined {
  const match = /^(?:kurrentdb|kurrent|kdb|esdb|eventstore)(?:\+discover)?:\/\/(.*)$/i.exec(connectionString.trim());
  if (!match) return undefined;
  let rest = match[1]!;
  rest = rest.split(/[/?#]/, 1)[0]!;
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = rest.slice(at + 1);
  const first = rest.split(',', 1)[0]!.trim();
  if (first === '') return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(first);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : DEFAULT_PORT };
  const hostPort = /^([^:]+)(?::(\d+))?$/.exec(first);
  if (!hostPort) return undefined;
  return { host: hostPort[1]!, port: hostPort[2] ? Number(hostPort[2]) : DEFAULT_PORT };
}

/** The connection string with any password replaced, for messages. */
export function redactConnectionString(connectionString: string): string {
  return connectionString.replace(/(:\/\/[^:/@]+:)[^@/]*@/, '$1***@');
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n', 1)[0]!.trim() || 'unknown error';
}

/** Resolves when `endpoint` accepts a TCP connection within `timeoutMs`, else rejects. */
export function checkTcp(endpoint: Endpoint, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = new Socket();
    const finish = (error?: Error): void => {
      socket.removeAllListeners();
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.setTimeout(timeoutMs);
    socket.once('connect', () => finish());
    socket.once('timeout', () => finish(new Error(`no answer within ${timeoutMs} ms`)));
    socket.once('error', (error) => finish(error));
    socket.connect(endpoint.port, endpoint.host);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} gave no answer within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function kurrentDbAvailability(options: KurrentDbAvailabilityOptions = {}): Promise<KurrentDbAvailability> {
  const env = options.env ?? process.env;
  const url = env['KURRENTDB_URL']?.trim();
  if (url) {
    const shown = redactConnectionString(url);
    const endpoint = firstEndpoint(url);
    if (!endpoint) {
      return { available: false, reason: `KURRENTDB_URL (${shown}) is not a KurrentDB connection string` };
    }
    try {
      await checkTcp(endpoint, options.connectTimeoutMs ?? 1_500);
      return { available: true, url, via: 'env' };
    } catch (error) {
      return {
        available: false,
        reason: `KURRENTDB_URL (${shown}) is not reachable at ${endpoint.host}:${endpoint.port}: ${messageOf(error)}`,
      };
    }
  }
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withTimeout(getContainerRuntimeClient(), options.dockerTimeoutMs ?? 5_000, 'testcontainers');
    return { available: true, via: 'docker' };
  } catch (error) {
    return { available: false, reason: `no KURRENTDB_URL and no Docker engine: ${messageOf(error)}` };
  }
}
