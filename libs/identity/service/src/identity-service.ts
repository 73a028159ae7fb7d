import { type ServiceDefinition } from '@svp/service-kit';
import { apiKeysProjection } from './api-keys.projection.js';
import { IdentityModule } from './identity.module.js';
import { toIntegrationMessages } from './integration-events.js';
import { identityRoutes } from './routes.js';
import { documentReader, outboxWorker, projectionWorker } from '@svp/service-kit';

/** The identity service: orgs and API keys in this foundation (signing keys and JWTs come next). */
export function identityService(options: { rootToken: string }): ServiceDefinition {
  return {
    name: 'identity',
    title: 'Identity service',
    async build(infra) {
      const projection = projectionWorker(infra, [apiKeysProjection]);
      const keys = documentReader(projection, apiKeysProjection);
      return {
        module: IdentityModule.register({ store: infra.store, keys, rootToken: options.rootToken, logger: infra.logger }),
        routes: identityRoutes,
        readiness: [projection.readiness],
      projections: projection.runner,
        workers: [projection, outboxWorker(infra, 'identity', toIntegrationMessages)],
      };
    },
  };
}
