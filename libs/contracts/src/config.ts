import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(0).max(65535);
const list = z
  .string()
  .min(1)
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

export const SERVICE_NAMES = ['identity', 'sessions', 'variables', 'gateway'] as const;
export const ServiceName = z.enum(SERVICE_NAMES);
export type ServiceName = z.infer<typeof ServiceName>;

/**
 * Every environment variable a service reads, validated at start-up: a bad value stops the service
 * with a message naming the variable. docker-compose.yml is checked against this schema by a test.
 */
export const ConfigEnv = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    HOST: z.string().min(1).default('0.0.0.0'),
    GATEWAY_PORT: port.default(4000),
    IDENTITY_PORT: port.default(4001),
    SESSIONS_PORT: port.default(4002),
    VARIABLES_PORT: port.default(4003),
    /** Where read models, checkpoints, the outbox and the inbox live (and the event store when EVENT_STORE=postgres). */
    DATABASE_URL: z.string().url().optional(),
    /** The schema a service keeps its tables in; defaults to the service's name. */
    DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).optional(),
    /** Embedded PostgreSQL (PGlite) data directory; used when DATABASE_URL is unset. */
    PGLITE_DATA_DIR: z.string().min(1).default('./.data'),
    EVENT_STORE: z.enum(['postgres', 'pglite', 'kurrentdb']).optional(),
    KURRENTDB_URL: z.string().min(1).optional(),
    BUS: z.enum(['kafka', 'in-process']).optional(),
    KAFKA_BROKERS: list.optional(),
    KAFKA_CLIENT_ID: z.string().min(1).optional(),
    /** The Kafka client behind the bus (docs/messaging.md, "Two Kafka clients"); default kafkajs. */
    KAFKA_CLIENT: z
      .enum(['kafkajs', 'platformatic'], { error: () => 'must be kafkajs or platformatic (the Kafka client library; see docs/messaging.md)' })
      .optional(),
    PLATFORM_ROOT_TOKEN: z.string().min(16).optional(),
    IDENTITY_URL: z.string().url().optional(),
    SESSIONS_URL: z.string().url().optional(),
    VARIABLES_URL: z.string().url().optional(),
    WEBHOOKS_ALLOW_PRIVATE_TARGETS: bool.default(false),
    BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    /** Webhook delivery: time allowed per attempt. */
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
    /** Webhook retries: the first delays (comma-separated durations: 500ms, 1s, 2m, 3h, 3d), then every WEBHOOK_RETRY_EVERY, until WEBHOOK_RETRY_FOR after the first attempt. */
    WEBHOOK_RETRY_DELAYS: z.string().regex(/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*(,\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*)*$/, 'comma-separated durations like 1s,5s,30s,2m').default('1s,5s,30s,2m,10m,1h'),
    WEBHOOK_RETRY_EVERY: z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'a duration like 3h').default('3h'),
    WEBHOOK_RETRY_FOR: z.string().regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'a duration like 3d').default('3d'),
    /** Requests per minute each org may make on each service (an org's own quota, set by the operator, wins). */
    ORG_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(6000),
    /**
     * Days an ended session's variables stay in the event store for audit before their stream is
     * deleted (0: at once), for orgs that set no retention of their own (PUT /v1/variables/settings).
     */
    VARIABLES_RETENTION_DAYS: z.coerce.number().int().min(0).max(3650).default(0),
    /**
     * Documents (sessions, visitors, org settings) the variables service keeps in memory per read
     * model, each until its projection commits a change to it (or 5 s): hot reads make no SQL round trip.
     */
    VARIABLES_READ_CACHE_ENTRIES: z.coerce.number().int().min(1).max(10_000_000).default(20_000),
    /** How long a visitor token (a browser's, scoped to one session) is valid, in seconds. */
    VISITOR_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(24 * 3600).default(900),
    /** GraphQL (gateway): whether introspection queries are answered (default: yes, but not with NODE_ENV=production). */
    GRAPHQL_INTROSPECTION: bool.optional(),
    /** GraphQL (gateway): the deepest query accepted. */
    GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(8),
    /** GraphQL (gateway): the most an operation may cost (graphql-armor's cost: each object field 2, each scalar field 1, times 1.5 per level of depth). */
    GRAPHQL_MAX_COST: z.coerce.number().int().min(10).max(1_000_000).default(2000),
    /**
     * GraphQL (gateway): the most calls to the services one query or mutation may make. Batching
     * keeps ordinary operations to a few; this bounds the fields that cannot be batched (histories,
     * reads as of a time, a room per alias).
     */
    GRAPHQL_MAX_SERVICE_CALLS: z.coerce.number().int().min(1).max(10_000).default(50),
    /** Gateway: how often the credential of every open WebSocket is checked again (a revoked key, an expired visitor token loses its socket), in seconds. */
    GATEWAY_WS_RECHECK_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
    /**
     * Gateway: the origins whose pages may call /graphql and import /sdk/widget.js (CORS), comma-separated;
     * `*` (the default) lets any page: browsers hold visitor tokens, never cookies, so no credential rides along.
     */
    GATEWAY_CORS_ORIGINS: list.default(['*']),
    /** Serve the demo shop page and agent console at /demo on the gateway (the embedded mode turns it on). */
    DEMO_ENABLED: bool.default(false),
    /** Clock skew allowed when checking a JWT's exp, nbf and iat, in seconds. */
    JWT_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).max(300).default(60),
    /** Most active (not rotated, not revoked) signing keys an org may hold. */
    SIGNING_KEYS_MAX_ACTIVE: z.coerce.number().int().min(1).max(1000).default(10),
    /** How long a rotated signing key stays valid, by default (a rotation may ask for less or more, up to 30 days). */
    SIGNING_KEY_GRACE_SECONDS: z.coerce.number().int().min(0).max(30 * 24 * 3600).default(86_400),
    /**
     * Encrypts HS256 secrets at rest (AES-256-GCM): 32 random bytes, base64 or base64url. When unset it
     * is derived from PLATFORM_ROOT_TOKEN (the embedded mode keeps a generated one under .data).
     */
    SIGNING_SECRETS_KEY: z
      .string()
      .regex(/^(?:[A-Za-z0-9_-]{43}|[A-Za-z0-9+/]{43}=)$/, 'must be 32 bytes in base64 (44 characters ending in =) or base64url (43 characters)')
      .optional(),
  })
  .superRefine((raw, ctx) => {
    const env = raw as Partial<typeof raw>;
    const store = env.EVENT_STORE ?? (env.DATABASE_URL ? 'postgres' : 'pglite');
    if (store === 'postgres' && !env.DATABASE_URL)
      ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'required when EVENT_STORE=postgres' });
    if (store === 'kurrentdb' && !env.KURRENTDB_URL)
      ctx.addIssue({ code: 'custom', path: ['KURRENTDB_URL'], message: 'required when EVENT_STORE=kurrentdb' });
    if (env.BUS === 'kafka' && !env.KAFKA_BROKERS)
      ctx.addIssue({ code: 'custom', path: ['KAFKA_BROKERS'], message: 'required when BUS=kafka' });
    // `when`: also check these when another variable is already bad, so one error names them all.
  }, { when: () => true });
export type ConfigEnv = z.infer<typeof ConfigEnv>;

/** The names ConfigEnv knows, to flag unknown settings (a typo in docker-compose.yml, say). */
export const CONFIG_ENV_KEYS: readonly string[] = Object.keys(ConfigEnv.shape);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError listing every bad variable. */
export function parseConfigEnv(env: Record<string, string | undefined>): ConfigEnv {
  const result = ConfigEnv.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
