import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ConfigEnv, type ServiceName, parseConfigEnv } from '@svp/contracts';
import { PostgresEventStore } from '@svp/event-store';
import { type DemoConfig, gatewayService } from '@svp/gateway-service';
import { identityService } from '@svp/identity-service';
import { InProcessMessageBus, SqlMessageLog } from '@svp/messaging';
import { PGliteSqlClient } from '@svp/postgres';
import {
  HttpApiKeyIntrospector,
  HttpSignatureVerifier,
  type RunningService,
  type ServiceDefinition,
  ServiceMetrics,
  createLogger,
  portOf,
  runService,
  startTracing,
} from '@svp/service-kit';
import { sessionsService } from '@svp/sessions-service';
import { variablesService } from '@svp/variables-service';
import type { Logger } from 'pino';
import { ensureDemoSetup } from './demo-setup.js';

export interface PlatformOptions {
  /** Environment to read (defaults to process.env); ports 0 pick free ports (tests). */
  env?: Record<string, string | undefined>;
  logger?: Logger;
}

export interface RunningPlatform {
  env: ConfigEnv;
  urls: Record<ServiceName, string>;
  rootToken: string;
  rootTokenGenerated: boolean;
  demoOrg: { orgId: string; apiKey: string };
  /** The demo's keys (DEMO_ENABLED, on by default here): the page at /demo on the gateway. */
  demo?: DemoConfig;
  services: RunningService[];
  close(): Promise<void>;
}

/**
 * The embedded mode: every service in one process, sharing one embedded PostgreSQL (PGlite files
 * under PGLITE_DATA_DIR, ./.data by default) as event store and read-model database, and an
 * in-process bus instead of Kafka. Nothing to install.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<RunningPlatform> {
  const env = parseConfigEnv({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true', DEMO_ENABLED: 'true', ...(options.env ?? process.env) });
  const logger = options.logger ?? createLogger(env.LOG_LEVEL);
  // OpenTelemetry when the OTEL_* environment asks for it (docs/tracing.md): one SDK for the process.
  const tracing = await startTracing({ serviceName: 'platform', env: options.env ?? process.env, logger });
  const dataDir = resolve(env.PGLITE_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });

  const sql = await PGliteSqlClient.open({ dataDir: join(dataDir, 'pglite') });
  const store = await PostgresEventStore.create(sql);
  const bus = new InProcessMessageBus({ log: await SqlMessageLog.create(sql, { logger }), logger });
  const rootTokenGenerated = !env.PLATFORM_ROOT_TOKEN;
  const rootToken = env.PLATFORM_ROOT_TOKEN ?? `root_${randomBytes(24).toString('base64url')}`;

  const services: RunningService[] = [];
  const closeAll = async () => {
    for (const service of services.reverse()) await service.close().catch((err) => logger.error({ err }, 'closing a service failed'));
    await bus.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    await sql.close().catch(() => undefined);
    await tracing.shutdown().catch((err) => logger.warn({ err }, 'exporting the last spans failed'));
  };

  try {
    const start = async (definition: ServiceDefinition, identityUrl: string) => {
      const serviceLogger = logger.child({ service: definition.name });
      const service = await runService(
        definition,
        {
          env,
          logger: serviceLogger,
          metrics: new ServiceMetrics(definition.name, { logger: serviceLogger }),
          sql,
          store,
          bus,
          introspector: new HttpApiKeyIntrospector(identityUrl),
          signatures: new HttpSignatureVerifier(identityUrl),
          rootToken,
        },
        { host: env.HOST, port: portOf(env, definition.name) },
      );
      services.push(service);
      return service;
    };
    // Identity first: the others authenticate API keys against it.
    const secretsKey = env.SIGNING_SECRETS_KEY ?? localSecretsKey(join(dataDir, 'signing-secrets.key'));
    const identity = await start(identityService({ rootToken, secretsKey }), `http://127.0.0.1:${env.IDENTITY_PORT}`);
    // Variables before sessions: the sessions service asks it to check initial variables.
    const variables = await start(variablesService, identity.url);
    const sessions = await start(sessionsService({ secretsKey, variablesUrl: variables.url, identityUrl: identity.url }), identity.url);
    // The demo's keys are made once the gateway listens (its webhook receiver is the gateway's); until then /demo says so.
    const demo: { config?: DemoConfig } = {};
    const gateway = await start(
      gatewayService({
        urls: { identity: identity.url, variables: variables.url, sessions: sessions.url },
        ...(env.DEMO_ENABLED ? { demo: { config: () => demo.config } } : {}),
      }),
      identity.url,
    );

    const demoOrg = await ensureDemoOrg(identity.url, rootToken, join(dataDir, 'demo-org.json'));
    if (env.DEMO_ENABLED)
      demo.config = await ensureDemoSetup({ urls: { identity: identity.url, sessions: sessions.url, gateway: gateway.url }, org: demoOrg, file: join(dataDir, 'demo-keys.json') });
    const urls = Object.fromEntries(services.map((s) => [s.name, s.url])) as Record<ServiceName, string>;
    return { env, urls, rootToken, rootTokenGenerated, demoOrg, ...(demo.config ? { demo: demo.config } : {}), services, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The key that seals HS256 signing secrets at rest in embedded mode: generated once and kept in the
 * data directory (the root token may change between starts, so it cannot be derived from it here).
 */
function localSecretsKey(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** The demo org and its API key, created once and kept in the data directory (local use only). */
async function ensureDemoOrg(identityUrl: string, rootToken: string, file: string): Promise<{ orgId: string; apiKey: string }> {
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { orgId: string; apiKey: string };
    const check = await fetch(`${identityUrl}/internal/v1/api-keys/introspect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${saved.apiKey}` },
    });
    if (check.ok && ((await check.json()) as { active: boolean }).active) return saved;
  }
  const response = await fetch(`${identityUrl}/v1/orgs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${rootToken}` },
    body: JSON.stringify({ name: 'Demo org' }),
  });
  if (response.status !== 201) throw new Error(`Creating the demo org failed: ${response.status} ${await response.text()}`);
  const org = (await response.json()) as { orgId: string; apiKey: string };
  writeFileSync(file, JSON.stringify(org, null, 2), { mode: 0o600 });
  return org;
}

export function banner(platform: RunningPlatform): string {
  const { urls } = platform;
  return [
    '',
    'Session & visitor variables platform: embedded mode (one process, PGlite, in-process bus)',
    '',
    `  gateway    ${urls.gateway}      GraphQL: ${urls.gateway}/graphql (HTTP and graphql-ws)   docs: ${urls.gateway}/docs`,
    ...(platform.demo ? [`  demo       ${urls.gateway}/demo   (a shop with the widget beside a live agent console)`] : []),
    `  identity   ${urls.identity}     docs: ${urls.identity}/docs`,
    `  sessions   ${urls.sessions}     docs: ${urls.sessions}/docs`,
    `  variables  ${urls.variables}    docs: ${urls.variables}/docs`,
    '',
    `  root token ${platform.rootToken}${platform.rootTokenGenerated ? '   (generated; set PLATFORM_ROOT_TOKEN to choose one)' : ''}`,
    `  demo org   ${platform.demoOrg.orgId}`,
    `  API key    ${platform.demoOrg.apiKey}`,
    '',
    'Try:',
    `  curl -X PUT ${urls.variables}/v1/sessions/s1/variables -H 'authorization: Bearer ${platform.demoOrg.apiKey}' \\`,
    `       -H 'content-type: application/json' -d '{"sessionVariableValues":[{"name":"UserName","value":"John"}]}'`,
    `  curl ${urls.variables}/v1/sessions/s1/variables -H 'authorization: Bearer ${platform.demoOrg.apiKey}'`,
    `  curl ${urls.gateway}/graphql -H 'authorization: Bearer ${platform.demoOrg.apiKey}' -H 'content-type: application/json' \\`,
    `       -d '{"query":"mutation { startSession(channelId: \\"web\\") { sessionId visitorToken } }"}'`,
    '',
  ].join('\n');
}
