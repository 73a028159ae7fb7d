import { type ServiceDefinition, TimerStore, TimerWorker, ReadCache, documentReader, outboxWorker, projectionWorker } from '@svp/service-kit';
import { sessionIdentityStream } from '@svp/identity-domain';
import { LocalApiKeyIntrospector } from './api-keys.js';
import { IDENTITY_TIMERS_TABLE, identityDeletionsProjection, identityTimerHandler, visitorErasedConsumer } from './erasure.js';
import { IdentityCore } from './identity-core.js';
import { IdentityModule } from './identity.module.js';
import { toIntegrationMessages } from './integration-events.js';
import { apiKeysProjection, orgsProjection, sessionIdentityProjection, signingKeysProjection } from './projections.js';
import { identityRoutes } from './routes.js';
import { SecretBox, VisitorTokens } from '@svp/service-kit';

/** How long the API keys, orgs and signing keys read are kept (as the other services keep introspections). */
const READ_CACHE_MS = 1000;

export interface IdentityServiceOptions {
  rootToken: string;
  /** Seals HS256 secrets at rest; SIGNING_SECRETS_KEY, else derived from the root token. */
  secretsKey?: string;
}

/** The identity service: orgs, brands, API keys, signing keys, JWT verification, session identity records. */
export function identityService(options: IdentityServiceOptions): ServiceDefinition {
  return {
    name: 'identity',
    title: 'Identity service',
    async build(infra) {
      const timers = new TimerStore(infra.sql, IDENTITY_TIMERS_TABLE);
      const projection = projectionWorker(infra, [apiKeysProjection, orgsProjection, signingKeysProjection, sessionIdentityProjection, identityDeletionsProjection(timers)]);
      const outbox = outboxWorker(infra, 'identity', toIntegrationMessages);
      const cache = new ReadCache({ ttlMs: READ_CACHE_MS });
      const core = new IdentityCore({
        store: infra.store,
        // Every authenticated request reads a key and its org, every verification the org's signing
        // keys: kept for a second (this process's own writes clear them at once: ReadCache).
        readers: {
          apiKeys: cache.wrap(documentReader(projection, apiKeysProjection)),
          orgs: cache.wrap(documentReader(projection, orgsProjection)),
          signingKeys: cache.wrap(documentReader(projection, signingKeysProjection)),
          sessionIdentity: documentReader(projection, sessionIdentityProjection),
        },
        secretBox: SecretBox.fromConfig({ secretsKey: options.secretsKey ?? infra.env.SIGNING_SECRETS_KEY, rootToken: options.rootToken }),
        visitorTokens: VisitorTokens.fromConfig({ secretsKey: options.secretsKey ?? infra.env.SIGNING_SECRETS_KEY, rootToken: options.rootToken }),
        settings: {
          clockSkewSeconds: infra.env.JWT_CLOCK_SKEW_SECONDS,
          maxActiveKeys: infra.env.SIGNING_KEYS_MAX_ACTIVE,
          graceSeconds: infra.env.SIGNING_KEY_GRACE_SECONDS,
        },
        logger: infra.logger,
        metrics: infra.metrics,
      });
      return {
        module: IdentityModule.register({ core, rootToken: options.rootToken }),
        introspector: new LocalApiKeyIntrospector((credential) => core.introspectCredential(credential)),
        routes: identityRoutes,
        readiness: [projection.readiness],
        projections: projection.runner,
        // The session's identity record: every verification attempt and its outcome.
        sessionStreams: (orgId, sessionId) => [sessionIdentityStream(orgId, sessionId)],
        workers: [
          // The timers table the deletions projection writes into exists before it runs.
          { name: 'identity-setup', start: () => timers.setup(), stop: async () => undefined },
          projection,
          outbox,
          new TimerWorker({
            name: 'identity-timers',
            store: timers,
            logger: infra.logger,
            fire: identityTimerHandler({ store: infra.store, runner: projection.runner, outboxCheckpoint: () => outbox.checkpoint(), logger: infra.logger }),
          }),
          visitorErasedConsumer({ bus: infra.bus, sql: infra.sql, store: infra.store, logger: infra.logger, metrics: infra.metrics }),
        ],
      };
    },
  };
}
