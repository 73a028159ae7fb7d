/**
 * Finds (or starts) the real PostgreSQL and Kafka the integration tests run against.
 *
 * For each dependency the sources are tried in this order, and the first that answers wins:
 *   1. environment     DATABASE_URL / KAFKA_BROKERS. When set they must answer: a set but dead value
 *                      is an error (no silent fallback to some other server).
 *   2. testcontainers  only when a container engine answers (detected in milliseconds when there is
 *                      none): postgres:16-alpine and apache/kafka:3.9.1 via GenericContainer.
 *                      TEST_INFRA_NO_CONTAINERS=1 skips this step.
 *   3. local           PostgreSQL on 127.0.0.1:5432 (started with pg_ctlcluster when down and that
 *                      command exists; database `test` created when missing); Kafka on
 *                      127.0.0.1:9092 (started with `bash tools/kafka/kafka.sh start` when down).
 *   4. otherwise       an Error that says what to install or run.
 *
 * The selection logic (`resolveFirst`, `postgresCandidates`, `kafkaCandidates`, `resolveInfra`) takes
 * its side effects through the `InfraIo` interface so that the order is unit-tested with fakes;
 * `realInfraIo()` is the implementation the Jest global setup uses.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import pg from 'pg';

export type InfraSource = 'environment' | 'testcontainers' | 'local';

/** What one source produced: a value, "not here, try the next source", or "stop, this is wrong". */
export type Attempt<T> =
  | { kind: 'ok'; value: T; detail: string }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'fatal'; reason: string };

export interface Candidate<T> {
  source: InfraSource;
  attempt: () => Promise<Attempt<T>>;
}

export interface Resolved<T> {
  dependency: string;
  source: InfraSource;
  value: T;
  detail: string;
  /** Sources tried before the chosen one, with the reason each was passed over. */
  skipped: { source: InfraSource; reason: string }[];
}

export interface ResolvedInfra {
  postgres: Resolved<string>;
  kafka: Resolved<string[]>;
}

export const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const LOCAL_KAFKA_BROKERS = ['127.0.0.1:9092'];
export const POSTGRES_IMAGE = 'postgres:16-alpine';
/** Same version as tools/kafka/kafka.sh (3.9.x accepts every protocol version kafkajs 2.2.4 sends; 4.x removed old ones, KIP-896). */
export const KAFKA_IMAGE = 'apache/kafka:3.9.1';

export const POSTGRES_HELP = [
  'No PostgreSQL for the integration tests. Do one of:',
  '  - export DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DB pointing at a running PostgreSQL 14+;',
  `  - run a Docker engine (testcontainers then starts ${POSTGRES_IMAGE});`,
  '  - install PostgreSQL listening on 127.0.0.1:5432 with trust auth for user postgres, e.g. on Debian:',
  '      apt-get install -y postgresql',
  '      pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  "      (pg_hba.conf: 'host all all 127.0.0.1/32 trust'; the harness creates database `test`).",
].join('\n');

export const KAFKA_HELP = [
  'No Kafka for the integration tests. Do one of:',
  '  - export KAFKA_BROKERS=HOST:PORT[,HOST:PORT] pointing at a running Kafka 3.x broker;',
  `  - run a Docker engine (testcontainers then starts ${KAFKA_IMAGE});`,
  '  - install Java 17+ and Maven (apt-get install -y openjdk-17-jre-headless maven; Maven Central must be',
  '    reachable) and run `bash tools/kafka/kafka.sh start` (Kafka 3.9.1 on 127.0.0.1:9092).',
].join('\n');

/** The side effects the resolution needs; `realInfraIo()` implements them, unit tests fake them. */
export interface InfraIo {
  /** Resolves when a real query succeeds; rejects with the reason otherwise. */
  probePostgres(url: string): Promise<void>;
  /** Resolves when a kafkajs admin can list topics; rejects with the reason otherwise. */
  probeKafka(brokers: string[]): Promise<void>;
  /** Whether a container engine answers (fast when there is none). */
  containerRuntime(): Promise<{ ok: true; host: string } | { ok: false; reason: string }>;
  startPostgresContainer(): Promise<string>;
  startKafkaContainer(host: string): Promise<string[]>;
  /** Brings up the local PostgreSQL (pg_ctlcluster, create database); resolves with what it did. */
  startLocalPostgres(url: string): Promise<string>;
  /** Runs tools/kafka/kafka.sh start; resolves with what it did. */
  startLocalKafka(): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

export function parseBrokers(value: string): string[] {
  return value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

/** The URL with its password hidden, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(errorMessage).join('; ');
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** testcontainers' message when no Docker/Podman socket exists. */
export function isNoContainerRuntimeError(err: unknown): boolean {
  return /could not find a working container runtime strategy/i.test(errorMessage(err));
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function postgresContainerUrl(host: string, port: number): string {
  return `postgres://postgres:postgres@${host}:${port}/test`;
}

/**
 * Environment of the apache/kafka image for a single KRaft node whose client listener is reachable
 * from the host as `host:hostPort` (the container's 9092 is bound to that same host port, so the
 * advertised address is known before the start). Inter-broker traffic uses an internal listener.
 */
export function kafkaContainerEnvironment(host: string, hostPort: number): Record<string, string> {
  return {
    CLUSTER_ID: 'svp-test-kraft-cluster01',
    KAFKA_NODE_ID: '1',
    KAFKA_PROCESS_ROLES: 'broker,controller',
    KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:9094,CONTROLLER://0.0.0.0:9093',
    KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${hostPort},BROKER://localhost:9094`,
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT',
    KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
    KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
    KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
    KAFKA_NUM_PARTITIONS: '3',
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '10',
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    KAFKA_HEAP_OPTS: '-Xms256m -Xmx512m',
  };
}

/** One line per dependency: which source, which settings, and why earlier sources were passed over. */
export function describeResolution(r: Resolved<string> | Resolved<string[]>): string {
  const value = Array.isArray(r.value) ? r.value.join(',') : redactUrl(r.value);
  const skipped = r.skipped.length ? `; skipped ${r.skipped.map((s) => `${s.source} (${s.reason})`).join(', ')}` : '';
  return `[test-infra] ${r.dependency}: ${r.source} — ${value} — ${r.detail}${skipped}`;
}

export function applyToEnv(infra: ResolvedInfra, env: NodeJS.ProcessEnv = process.env): void {
  env.DATABASE_URL = infra.postgres.value;
  env.KAFKA_BROKERS = infra.kafka.value.join(',');
}

const firstLine = (s: string) => s.split('\n')[0]!.trim();

// ---------------------------------------------------------------------------------------------
// Selection

/** Tries the candidates in order; the first `ok` wins, `fatal` stops, otherwise throws `help`. */
export async function resolveFirst<T>(dependency: string, candidates: Candidate<T>[], help: string): Promise<Resolved<T>> {
  const skipped: { source: InfraSource; reason: string }[] = [];
  for (const candidate of candidates) {
    let attempt: Attempt<T>;
    try {
      attempt = await candidate.attempt();
    } catch (err) {
      attempt = { kind: 'unavailable', reason: firstLine(errorMessage(err)) };
    }
    if (attempt.kind === 'ok') {
      return { dependency, source: candidate.source, value: attempt.value, detail: attempt.detail, skipped };
    }
    if (attempt.kind === 'fatal') throw new Error(`${dependency}: ${attempt.reason}`);
    skipped.push({ source: candidate.source, reason: attempt.reason });
  }
  const tried = skipped.map((s) => `  ${s.source}: ${s.reason}`).join('\n');
  throw new Error(`${dependency}: no source answered.\nTried:\n${tried}\n${help}`);
}

/** Remembers the container-runtime answer so PostgreSQL and Kafka ask only once. */
function memo<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

function containersDisabled(env: NodeJS.ProcessEnv): boolean {
  return /^(1|true|yes)$/i.test(env.TEST_INFRA_NO_CONTAINERS ?? '');
}

export function postgresCandidates(env: NodeJS.ProcessEnv, io: InfraIo): Candidate<string>[] {
  return [
    {
      source: 'environment',
      attempt: async () => {
        const url = env.DATABASE_URL?.trim();
        if (!url) return { kind: 'unavailable', reason: 'DATABASE_URL not set' };
        try {
          await io.probePostgres(url);
          return { kind: 'ok', value: url, detail: 'DATABASE_URL answered' };
        } catch (err) {
          return {
            kind: 'fatal',
            reason: `DATABASE_URL=${redactUrl(url)} is set but does not answer (${firstLine(errorMessage(err))}). Fix it, or unset it to let the harness choose.`,
          };
        }
      },
    },
    {
      source: 'testcontainers',
      attempt: async () => {
        if (containersDisabled(env)) return { kind: 'unavailable', reason: 'TEST_INFRA_NO_CONTAINERS is set' };
        const runtime = await io.containerRuntime();
        if (!runtime.ok) return { kind: 'unavailable', reason: runtime.reason };
        const url = await io.startPostgresContainer();
        await io.probePostgres(url);
        return { kind: 'ok', value: url, detail: `started ${POSTGRES_IMAGE}` };
      },
    },
    {
      source: 'local',
      attempt: async () => {
        const url = LOCAL_DATABASE_URL;
        try {
          await io.probePostgres(url);
          return { kind: 'ok', value: url, detail: '127.0.0.1:5432 answered' };
        } catch (err) {
          const before = firstLine(errorMessage(err));
          let did: string;
          try {
            did = await io.startLocalPostgres(url);
          } catch (startErr) {
            return { kind: 'unavailable', reason: `${before}; ${firstLine(errorMessage(startErr))}` };
          }
          await io.probePostgres(url);
          return { kind: 'ok', value: url, detail: did };
        }
      },
    },
  ];
}

export function kafkaCandidates(env: NodeJS.ProcessEnv, io: InfraIo): Candidate<string[]>[] {
  return [
    {
      source: 'environment',
      attempt: async () => {
        const brokers = parseBrokers(env.KAFKA_BROKERS ?? '');
        if (brokers.length === 0) return { kind: 'unavailable', reason: 'KAFKA_BROKERS not set' };
        try {
          await io.probeKafka(brokers);
          return { kind: 'ok', value: brokers, detail: 'KAFKA_BROKERS answered' };
        } catch (err) {
          return {
            kind: 'fatal',
            reason: `KAFKA_BROKERS=${brokers.join(',')} is set but does not answer (${firstLine(errorMessage(err))}). Fix it, or unset it to let the harness choose.`,
          };
        }
      },
    },
    {
      source: 'testcontainers',
      attempt: async () => {
        if (containersDisabled(env)) return { kind: 'unavailable', reason: 'TEST_INFRA_NO_CONTAINERS is set' };
        const runtime = await io.containerRuntime();
        if (!runtime.ok) return { kind: 'unavailable', reason: runtime.reason };
        const brokers = await io.startKafkaContainer(runtime.host);
        await io.probeKafka(brokers);
        return { kind: 'ok', value: brokers, detail: `started ${KAFKA_IMAGE}` };
      },
    },
    {
      source: 'local',
      attempt: async () => {
        const brokers = LOCAL_KAFKA_BROKERS;
        try {
          await io.probeKafka(brokers);
          return { kind: 'ok', value: brokers, detail: '127.0.0.1:9092 answered' };
        } catch (err) {
          const before = firstLine(errorMessage(err));
          let did: string;
          try {
            did = await io.startLocalKafka();
          } catch (startErr) {
            return { kind: 'unavailable', reason: `${before}; ${firstLine(errorMessage(startErr))}` };
          }
          await io.probeKafka(brokers);
          return { kind: 'ok', value: brokers, detail: did };
        }
      },
    },
  ];
}

/** Resolves both dependencies (concurrently); throws one Error naming every dependency that failed. */
export async function resolveInfra(env: NodeJS.ProcessEnv = process.env, io: InfraIo = realInfraIo()): Promise<ResolvedInfra> {
  const shared: InfraIo = { ...io, containerRuntime: memo(() => io.containerRuntime()) };
  const [postgres, kafka] = await Promise.allSettled([
    resolveFirst('PostgreSQL', postgresCandidates(env, shared), POSTGRES_HELP),
    resolveFirst('Kafka', kafkaCandidates(env, shared), KAFKA_HELP),
  ]);
  const failures = [postgres, kafka].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    throw new Error(`Integration-test infrastructure is missing.\n\n${failures.map((f) => errorMessage(f.reason)).join('\n\n')}`);
  }
  return {
    postgres: (postgres as PromiseFulfilledResult<Resolved<string>>).value,
    kafka: (kafka as PromiseFulfilledResult<Resolved<string[]>>).value,
  };
}

// ---------------------------------------------------------------------------------------------
// The real side effects

/** The repository root (libs/testing/src/../../..). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const KAFKA_SCRIPT = join(REPO_ROOT, 'tools/kafka/kafka.sh');

function which(cmd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const full = join(dir, cmd);
    try {
      accessSync(full, fsConstants.X_OK);
      return full;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Runs a command, forwarding its output to stderr with a prefix; rejects on a non-zero exit or timeout. */
function run(cmd: string, args: string[], timeoutMs: number, prefix: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      for (const line of text.split('\n')) if (line.trim()) process.stderr.write(`${prefix} ${line}\n`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`\`${cmd} ${args.join(' ')}\` did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(output);
      else reject(new Error(`\`${cmd} ${args.join(' ')}\` exited with ${code}: ${output.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

async function pgQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => undefined);
  try {
    await withTimeout(client.connect(), 5_000, `connecting to ${redactUrl(url)}`);
    await withTimeout(client.query(sql), 5_000, `${sql} on ${redactUrl(url)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function probePostgres(url: string): Promise<void> {
  await pgQuery(url, 'SELECT 1');
}

async function probeKafka(brokers: string[]): Promise<void> {
  const kafka = new kafkajs.Kafka({
    clientId: 'svp-test-infra-probe',
    brokers,
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 5_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 },
  });
  const admin = kafka.admin();
  try {
    await withTimeout(
      (async () => {
        await admin.connect();
        await admin.listTopics();
      })(),
      20_000,
      `kafkajs admin listTopics on ${brokers.join(',')}`,
    );
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function portAnswers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePromise(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolvePromise(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Containers this process started; Ryuk (testcontainers' reaper) also removes them when it exits. */
const startedContainers: { stop(): Promise<unknown> }[] = [];

export async function stopTestContainers(): Promise<void> {
  await Promise.allSettled(startedContainers.splice(0).map((c) => c.stop()));
}

export function realInfraIo(): InfraIo {
  return {
    probePostgres,
    probeKafka,

    async containerRuntime() {
      try {
        const { getContainerRuntimeClient } = await import('testcontainers');
        const client = await withTimeout(getContainerRuntimeClient(), 15_000, 'looking for a container runtime');
        return { ok: true, host: client.info.containerRuntime.host };
      } catch (err) {
        return {
          ok: false,
          reason: isNoContainerRuntimeError(err) ? 'no container runtime (no Docker engine)' : firstLine(errorMessage(err)),
        };
      }
    },

    async startPostgresContainer() {
      const { GenericContainer, Wait } = await import('testcontainers');
      const container = await new GenericContainer(POSTGRES_IMAGE)
        .withEnvironment({ POSTGRES_USER: 'postgres', POSTGRES_PASSWORD: 'postgres', POSTGRES_DB: 'test' })
        .withExposedPorts(5432)
        .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
        .withStartupTimeout(120_000)
        .start();
      startedContainers.push(container);
      return postgresContainerUrl(container.getHost(), container.getMappedPort(5432));
    },

    async startKafkaContainer(host: string) {
      const { GenericContainer, Wait } = await import('testcontainers');
      const hostPort = await freePort();
      const container = await new GenericContainer(KAFKA_IMAGE)
        .withEnvironment(kafkaContainerEnvironment(host, hostPort))
        .withExposedPorts({ container: 9092, host: hostPort })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .withStartupTimeout(120_000)
        .start();
      startedContainers.push(container);
      return [`${host}:${hostPort}`];
    },

    async startLocalPostgres(url: string) {
      const did: string[] = [];
      if (!(await portAnswers('127.0.0.1', 5432))) {
        const pgCtlCluster = which('pg_ctlcluster');
        if (!pgCtlCluster) throw new Error('127.0.0.1:5432 does not answer and pg_ctlcluster is not installed');
        const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
        if (versions.length === 0) throw new Error('127.0.0.1:5432 does not answer and /etc/postgresql has no cluster');
        const failures: string[] = [];
        for (const version of versions) {
          await run(pgCtlCluster, ['--skip-systemctl-redirect', version, 'main', 'start'], 60_000, '[pg_ctlcluster]').catch((err) =>
            failures.push(errorMessage(err)),
          );
        }
        if (failures.length === versions.length) throw new Error(failures.join('; '));
        for (let i = 0; i < 60 && !(await portAnswers('127.0.0.1', 5432)); i++) await sleep(500);
        if (!(await portAnswers('127.0.0.1', 5432))) throw new Error('pg_ctlcluster ran but 127.0.0.1:5432 still does not answer');
        did.push(`started with pg_ctlcluster ${versions.join(',')} main`);
      }
      // The server answers; create the database when it is the one thing missing.
      try {
        await probePostgres(url);
      } catch (err) {
        if ((err as { code?: string }).code !== '3D000') throw err;
        const database = new URL(url).pathname.slice(1);
        const admin = new URL(url);
        admin.pathname = '/postgres';
        await pgQuery(admin.toString(), `CREATE DATABASE "${database.replace(/"/g, '""')}"`);
        did.push(`created database ${database}`);
      }
      return did.join(', ') || '127.0.0.1:5432 answered';
    },

    async startLocalKafka() {
      if (!existsSync(KAFKA_SCRIPT)) throw new Error(`${KAFKA_SCRIPT} not found`);
      if (!which('java')) throw new Error('127.0.0.1:9092 does not answer and java is not installed (needed by tools/kafka/kafka.sh)');
      // The first start downloads the jars with Maven: allow it several minutes.
      await run('bash', [KAFKA_SCRIPT, 'start'], 10 * 60_000, '[kafka.sh]');
      return 'started with bash tools/kafka/kafka.sh start';
    },
  };
}
