import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { resolve } from 'node:path';
import type { ServiceName } from '@svp/contracts';

export interface DistributedOptions {
  /** Repository root (where apps/<service>/dist/main.js are). */
  root?: string;
  databaseUrl?: string;
  kafkaBrokers?: string;
  rootToken?: string;
  /** Ports of gateway, identity, sessions, variables. */
  ports?: Record<ServiceName, number>;
  /** A schema prefix, so several runs can share one database (tests). */
  schemaPrefix?: string;
  /** Extra environment for every service (LOG_LEVEL, …; NODE_OPTIONS replaces SERVICE_NODE_OPTIONS and the default). */
  env?: Record<string, string>;
  onOutput?: (service: ServiceName, line: string) => void;
  /** Node options for every service process, before its script (`--cpu-prof`: a profile on exit). */
  nodeArgs?: string[];
}

export interface RunningDistributed {
  urls: Record<ServiceName, string>;
  rootToken: string;
  processes: Record<ServiceName, ChildProcess>;
  /**
   * Starts a stopped service again with the same settings; `env` adds to (or overrides) its
   * environment for this start only (a crash point for a drill, say).
   */
  restart(service: ServiceName, env?: Record<string, string>): Promise<void>;
  /** SIGKILLs one service (fault drills). */
  kill(service: ServiceName): Promise<void>;
  /** Stops one service gracefully (SIGTERM; SIGKILL after 15 s), waiting for its exit. */
  stopService(service: ServiceName): Promise<void>;
  stop(): Promise<void>;
  /**
   * Starts one more process of a service (another instance: same settings, schema, Kafka consumer
   * groups, only its own port), answered once it is healthy; the platform's own process of that
   * service is untouched. `stop()` is SIGTERM (SIGKILL after 15 s), `kill()` SIGKILL; both wait for
   * the exit. `stop()` of the platform does not stop instances: the caller does.
   */
  spawnInstance(service: ServiceName, options: { port: number; env?: Record<string, string> }): Promise<ServiceInstance>;
}

export interface ServiceInstance {
  service: ServiceName;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

const ORDER: ServiceName[] = ['identity', 'sessions', 'variables', 'gateway'];

/**
 * NODE_OPTIONS of every service process unless SERVICE_NODE_OPTIONS (or `env.NODE_OPTIONS`) says
 * otherwise: a young generation of 4 MB per semi-space instead of V8's 16 MB. Node keeps both
 * semi-spaces of the young generation resident once start-up has grown them (32 MB a process) until
 * V8 finds the process idle some 15 s later; at 4 MB an idle service stays near 95-115 MB from its
 * start, and a busy one (reads) grows less, for reads within a few per cent of the default
 * (docs/configuration.md, "Service processes").
 */
export const DEFAULT_SERVICE_NODE_OPTIONS = '--max-semi-space-size=4';
export const DEFAULT_PORTS: Record<ServiceName, number> = { gateway: 4000, identity: 4001, sessions: 4002, variables: 4003 };

/**
 * The distributed mode on one machine: each service its own Node process (the built apps), with
 * PostgreSQL (a schema per service, event store included) and Kafka. Services find each other by URL.
 */
export async function startDistributed(options: DistributedOptions = {}): Promise<RunningDistributed> {
  const root = options.root ?? process.cwd();
  const ports = options.ports ?? DEFAULT_PORTS;
  const rootToken = options.rootToken ?? `root_${randomBytes(24).toString('base64url')}`;
  const databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const kafkaBrokers = options.kafkaBrokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  const urls = Object.fromEntries(ORDER.map((s) => [s, `http://127.0.0.1:${ports[s]}`])) as Record<ServiceName, string>;
  const envFor = (service: ServiceName, extra: Record<string, string> = {}): Record<string, string> => ({
    ...(process.env as Record<string, string>),
    // Not the launcher's own NODE_OPTIONS (a test runner's --experimental-vm-modules, say).
    NODE_OPTIONS: process.env.SERVICE_NODE_OPTIONS ?? DEFAULT_SERVICE_NODE_OPTIONS,
    LOG_LEVEL: 'info',
    ...options.env,
    HOST: '127.0.0.1',
    GATEWAY_PORT: String(ports.gateway),
    IDENTITY_PORT: String(ports.identity),
    SESSIONS_PORT: String(ports.sessions),
    VARIABLES_PORT: String(ports.variables),
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: `${options.schemaPrefix ?? ''}${service}`,
    EVENT_STORE: 'postgres',
    BUS: 'kafka',
    KAFKA_BROKERS: kafkaBrokers,
    KAFKA_CLIENT_ID: `svp-${service}`,
    IDENTITY_URL: urls.identity,
    SESSIONS_URL: urls.sessions,
    VARIABLES_URL: urls.variables,
    PLATFORM_ROOT_TOKEN: rootToken,
    ...extra,
  });

  const processes = {} as Record<ServiceName, ChildProcess>;
  const spawnService = (service: ServiceName, env: Record<string, string>) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), resolve(root, `apps/${service}/dist/main.js`)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Whole lines only: a pipe chunk may end inside a line (a secret split there would escape a search of the lines).
    const forwarder = () => {
      let partial = '';
      return {
        data: (chunk: string) => {
          const lines = (partial + chunk).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) if (line.trim()) options.onOutput?.(service, line);
        },
        end: () => {
          if (partial.trim()) options.onOutput?.(service, partial);
          partial = '';
        },
      };
    };
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      const forward = forwarder();
      stream.setEncoding('utf8'); // characters split across chunks stay whole
      stream.on('data', forward.data);
      stream.on('end', forward.end);
    }
    return child;
  };
  const launch = async (service: ServiceName, extra?: Record<string, string>) => {
    const child = spawnService(service, envFor(service, extra));
    processes[service] = child;
    await waitForHealthy(urls[service], child, service);
  };
  const stopChild = async (child: ChildProcess | undefined, signal: NodeJS.Signals) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  const stopOne = (service: ServiceName, signal: NodeJS.Signals) => stopChild(processes[service], signal);

  try {
    for (const service of ORDER) await launch(service);
  } catch (error) {
    await Promise.all(ORDER.map((s) => stopOne(s, 'SIGTERM')));
    throw error;
  }
  return {
    urls,
    rootToken,
    processes,
    restart: (service, env) => launch(service, env),
    kill: (service) => stopOne(service, 'SIGKILL'),
    stopService: (service) => stopOne(service, 'SIGTERM'),
    spawnInstance: async (service, { port, env }) => {
      const url = `http://127.0.0.1:${port}`;
      const child = spawnService(service, envFor(service, { ...env, [`${service.toUpperCase()}_PORT`]: String(port) }));
      try {
        await waitForHealthy(url, child, `${service} (instance on port ${port})`);
      } catch (error) {
        await stopChild(child, 'SIGKILL');
        throw error;
      }
      return { service, url, process: child, stop: () => stopChild(child, 'SIGTERM'), kill: () => stopChild(child, 'SIGKILL') };
    },
    stop: async () => {
      for (const service of [...ORDER].reverse()) await stopOne(service, 'SIGTERM');
    },
  };
}

async function waitForHealthy(url: string, child: ChildProcess, service: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${service} exited (${child.exitCode ?? child.signalCode}) during start-up`);
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${service} did not answer ${url}/healthz within ${timeoutMs} ms`);
}

/** True when something accepts TCP connections at host:port. */
export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** Starts the local Kafka broker (tools/kafka/kafka.sh) and PostgreSQL when they are not running. */
export async function ensureLocalInfrastructure(root: string): Promise<void> {
  if (!process.env.KAFKA_BROKERS && !(await reachable('127.0.0.1', 9092))) {
    const result = spawnSync('bash', [resolve(root, 'tools/kafka/kafka.sh'), 'start'], { stdio: 'inherit' });
    if (result.status !== 0) throw new Error('Could not start Kafka with tools/kafka/kafka.sh (needs Java 17 and Maven)');
  }
  if (!process.env.DATABASE_URL && !(await reachable('127.0.0.1', 5432))) {
    const versions = spawnSync('ls', ['/etc/postgresql'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
    if (versions) spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', versions, 'main', 'start'], { stdio: 'inherit' });
    if (!(await reachable('127.0.0.1', 5432))) throw new Error('PostgreSQL is not running on 127.0.0.1:5432; start it or set DATABASE_URL');
  }
}

/** A TCP port free on 127.0.0.1 right now (for services started side by side). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
