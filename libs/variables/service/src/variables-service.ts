import { type ServiceDefinition, documentReader, outboxWorker, projectionWorker } from '@svp/service-kit';
import { DEFAULT_LIMITS } from '@svp/variables-domain';
import { toIntegrationMessages } from './integration-events.js';
import { variablesRoutes } from './routes.js';
import { sessionVariablesProjection } from './session-variables.projection.js';
import { VariablesModule } from './variables.module.js';

/** The variables service: session variables in this foundation (visitor and metadata scopes come next). */
export const variablesService: ServiceDefinition = {
  name: 'variables',
  title: 'Variables service',
  async build(infra) {
    const projection = projectionWorker(infra, [sessionVariablesProjection]);
    return {
      module: VariablesModule.register({
        store: infra.store,
        readModel: documentReader(projection, sessionVariablesProjection),
        introspector: infra.introspector,
        options: { limits: DEFAULT_LIMITS, maxConflictRetries: 5 },
      }),
      routes: variablesRoutes,
      readiness: [projection.readiness],
      projections: projection.runner,
      workers: [projection, outboxWorker(infra, 'variables', toIntegrationMessages)],
    };
  },
};
