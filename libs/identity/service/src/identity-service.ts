import { type ServiceDefinition, documentReader, outboxWorker, projectionWorker } from '@svp/service-kit';
import { LocalApiKeyIntrospector } from './api-keys.js';
import { IdentityCore } from './identity-core.js';
import { IdentityModule } from './identity.module.js';
import { toIntegrationMessages } from './integration-events.js';
import { apiKeysProjection, orgsProjection, sessionIdentityProjection, signingKeysProjection } from './projections.js';
import { identityRoutes } from './routes.js';
import { SecretBox } from '@svp/service-kit';

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
      const projection = projectionWorker(infra, [apiKeysProjection, orgsProjection, signingKeysProjection, sessionIdentityProjection]);
      const core = new IdentityCore({
        store: infra.store,
        readers: {
          apiKeys: documentReader(projection, apiKeysProjection),
          orgs: documentReader(projection, orgsProjection),
          signingKeys: documentReader(projection, signingKeysProjection),
          sessionIdentity: documentReader(projection, sessionIdentityProjection),
        },
        secretBox: SecretBox.fromConfig({ secretsKey: options.secretsKey ?? infra.env.SIGNING_SECRETS_KEY, rootToken: options.rootToken }),
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
        introspector: new LocalApiKeyIntrospector((hash) => core.introspect(hash)),
        routes: identityRoutes,
        readiness: [projection.readiness],
        projections: projection.runner,
        workers: [projection, outboxWorker(infra, 'identity', toIntegrationMessages)],
      };
    },
  };
}
