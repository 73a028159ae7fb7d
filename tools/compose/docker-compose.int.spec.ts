// Validates docker-compose.yml without a Docker engine (none runs on the development machines):
// Debian's `docker-compose config` checks it against the Compose schema and resolves it, and the
// resolved file is held to the platform's contract: service environments use only ConfigEnv's keys
// and parse with parseConfigEnv, the ports are those of DESIGN.md §5, and every service that others
// wait for has a health check. See docs/docker-compose.md.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CONFIG_ENV_KEYS, parseConfigEnv } from '@svp/contracts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const composeFile = join(repoRoot, 'docker-compose.yml');

/** DESIGN.md §5: gateway 4000, identity 4001, sessions 4002, variables 4003. */
const APP_PORTS = { gateway: 4000, identity: 4001, sessions: 4002, variables: 4003 } as const;
type App = keyof typeof APP_PORTS;
const APPS = Object.keys(APP_PORTS) as App[];
const PORT_KEY = { gateway: 'GATEWAY_PORT', identity: 'IDENTITY_PORT', sessions: 'SESSIONS_PORT', variables: 'VARIABLES_PORT' } as const;
const INFRA = ['kafka', 'kurrentdb', 'postgres'] as const;
/** Optional, behind the `monitoring` profile: `docker compose up` leaves them out. */
const MONITORING = ['prometheus', 'grafana'] as const;
/** The services with their own event store (the gateway keeps none). */
const EVENT_SOURCED: App[] = ['identity', 'sessions', 'variables'];

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: Record<string, string> };
  environment?: Record<string, string | number | null>;
  ports?: Array<string | { published?: number | string; target?: number | string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  profiles?: string[];
  volumes?: string[];
  command?: string[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

/** Debian's docker-compose (apt-get install docker-compose), found on PATH or where apt puts it. */
function findDockerCompose(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'docker-compose');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  throw new Error(
    'docker-compose is not installed, so docker-compose.yml cannot be validated: ' +
      'run `apt-get install docker-compose` (Debian package; no Docker engine is needed for `docker-compose config`)',
  );
}

/**
 * `docker-compose config` on the file: schema validation and interpolation. The environment is
 * reduced to PATH and HOME and an env file holding only a test PLATFORM_ROOT_TOKEN is passed, so
 * the file's own defaults (${LOG_LEVEL:-…}) are what gets checked, whatever the shell or a local
 * .env holds.
 */
const TEST_ROOT_TOKEN = 'compose-test-root-token-0123456789';

function composeConfig(envFileText = `PLATFORM_ROOT_TOKEN=${TEST_ROOT_TOKEN}\n`): string {
  const bin = findDockerCompose();
  const scratch = mkdtempSync(join(tmpdir(), 'svp-compose-'));
  try {
    const envFile = join(scratch, 'test.env');
    writeFileSync(envFile, envFileText);
    return execFileSync(
      bin,
      ['--file', composeFile, '--project-directory', repoRoot, '--env-file', envFile, 'config'],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      },
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    throw new Error(`docker-compose config rejected docker-compose.yml:\n${stderr || String(error)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) throw new Error('expected the resolved environment as a mapping');
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

function portsOf(service: ComposeService): Array<{ published: number; target: number }> {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'string') {
      const [published, target] = p.replace(/\/(tcp|udp)$/, '').split(':').slice(-2).map(Number);
      return { published, target };
    }
    return { published: Number(p.published), target: Number(p.target) };
  });
}

function dependenciesOf(service: ComposeService): Record<string, string | undefined> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d?.condition]));
}

function hasHealthcheck(service: ComposeService | undefined): boolean {
  const test = service?.healthcheck?.test;
  return !!service?.healthcheck && !service.healthcheck.disable && !!test && test.length > 0 && test[0] !== 'NONE';
}

let resolved: ComposeFile;
let source: ComposeFile;

beforeAll(() => {
  resolved = parse(composeConfig()) as ComposeFile;
  source = parse(readFileSync(composeFile, 'utf8')) as ComposeFile;
}, 90_000);

describe('docker-compose.yml', () => {
  it('is accepted by docker-compose config and declares the infrastructure and the four services', () => {
    expect(Object.keys(resolved.services).sort()).toEqual([...INFRA, ...APPS, ...MONITORING].sort());
  });

  it('keeps Prometheus and Grafana behind the monitoring profile, mounting files that exist (docs/metrics.md)', () => {
    for (const name of MONITORING) {
      expect({ name, profiles: source.services[name]?.profiles }).toEqual({ name, profiles: ['monitoring'] });
      for (const volume of source.services[name]?.volumes ?? []) {
        const host = volume.split(':')[0]!;
        expect({ name, host, exists: existsSync(join(repoRoot, host)) }).toEqual({ name, host, exists: true });
      }
    }
    expect(source.services.prometheus?.command).toEqual(['--config.file=/etc/prometheus/prometheus.compose.yml']);
  });

  describe.each(INFRA)('infrastructure service %s', (name) => {
    it('has a health check, so the services can wait until it is healthy', () => {
      expect(hasHealthcheck(resolved.services[name])).toBe(true);
    });
  });

  it('pins the infrastructure images of the design', () => {
    expect(resolved.services.kafka.image).toBe('apache/kafka:3.9.1');
    expect(resolved.services.kurrentdb.image).toBe('docker.kurrent.io/kurrent-latest/kurrentdb:25.1');
    expect(resolved.services.postgres.image).toMatch(/^postgres:16(\b|$)/);
  });

  describe.each(APPS)('service %s', (name) => {
    const service = () => resolved.services[name];

    it('uses only environment variables that ConfigEnv knows', () => {
      const unknown = Object.keys(environmentOf(service())).filter((key) => !CONFIG_ENV_KEYS.includes(key));
      expect(unknown).toEqual([]);
    });

    it('has an environment that parseConfigEnv accepts, for the distributed mode', () => {
      const config = parseConfigEnv(environmentOf(service()));
      expect(config.BUS).toBe('kafka');
      expect(config.KAFKA_BROKERS).toEqual(['kafka:9092']);
      expect(config.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\//);
      expect(config.DATABASE_SCHEMA).toBe(name);
      if (EVENT_SOURCED.includes(name)) {
        expect(config.EVENT_STORE).toBe('kurrentdb');
        expect(config.KURRENTDB_URL).toBe('kurrentdb://kurrentdb:2113?tls=false');
      }
      for (const [other, key] of [['identity', 'IDENTITY_URL'], ['sessions', 'SESSIONS_URL'], ['variables', 'VARIABLES_URL']] as const) {
        if (config[key] !== undefined) expect(config[key]).toBe(`http://${other}:${APP_PORTS[other]}`);
      }
    });

    it(`listens on and publishes port ${APP_PORTS[name]} (DESIGN.md §5)`, () => {
      const config = parseConfigEnv(environmentOf(service()));
      expect(config[PORT_KEY[name]]).toBe(APP_PORTS[name]);
      expect(portsOf(service())).toEqual([{ published: APP_PORTS[name], target: APP_PORTS[name] }]);
    });

    it('is built from the one Dockerfile, for this service', () => {
      const build = service().build;
      expect(build).toBeDefined();
      expect(resolve(repoRoot, build?.context ?? '.')).toBe(repoRoot);
      expect(build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
      expect(build?.args?.SERVICE).toBe(name);
    });

    it('has a health check on GET /healthz of its own port', () => {
      expect(hasHealthcheck(service())).toBe(true);
      expect([service().healthcheck?.test].flat().join(' ')).toContain(`127.0.0.1:${APP_PORTS[name]}/healthz`);
    });

    it('starts only after what it depends on is healthy', () => {
      const deps = dependenciesOf(service());
      const expected = EVENT_SOURCED.includes(name) ? ['kafka', 'kurrentdb', 'postgres'] : ['kafka', 'postgres'];
      expect(Object.keys(deps)).toEqual(expect.arrayContaining(expected));
      for (const [dep, condition] of Object.entries(deps)) {
        expect({ dep, condition }).toEqual({ dep, condition: 'service_healthy' });
        expect(hasHealthcheck(resolved.services[dep])).toBe(true);
      }
    });
  });

  it('requires PLATFORM_ROOT_TOKEN from the environment (no well-known default) and gives it to every event-sourced service', () => {
    for (const name of EVENT_SOURCED) {
      expect(source.services[name].environment?.PLATFORM_ROOT_TOKEN).toMatch(/^\$\{PLATFORM_ROOT_TOKEN:\?.+\}$/);
      expect(environmentOf(resolved.services[name]).PLATFORM_ROOT_TOKEN).toBe(TEST_ROOT_TOKEN);
    }
    expect(() => composeConfig('')).toThrow(/PLATFORM_ROOT_TOKEN/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');

  it('builds on node:22-slim, with the lock file, and prunes the dev dependencies', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:22-slim$/m);
    expect(dockerfile).toContain('COPY --from=manifests /manifests/ ./');
    expect(dockerfile).toMatch(/^RUN npm (ci|install)$/m);
    expect(dockerfile).toContain('npm run build');
    expect(dockerfile).toContain('npm prune --omit=dev');
  });

  it('runs the chosen service as a non-root user, with a health check', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK [^\n]*\\\n\s*CMD [^\n]*\/healthz/m);
    expect(dockerfile).toContain('exec node apps/${SERVICE}/dist/main.js');
  });
});
