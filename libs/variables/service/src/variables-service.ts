import { type ServiceDefinition, documentReader, outboxWorker, projectionWorker } from '@svp/service-kit';
import { DEFAULT_LIMITS } from '@svp/variables-domain';
import { identityConsumer } from './identity-consumer.js';
import { sessionsConsumer } from './sessions-consumer.js';
import { toIntegrationMessages } from './integration-events.js';
import { variablesRoutes } from './routes.js';
import { sessionVariablesProjection } from './session-variables.projection.js';
import type { VariablesOptions } from './set-session-variables/set-session-variables.handler.js';
import { VariablesModule } from './variables.module.js';
import { visitorVariablesProjection } from './visitor-variables.projection.js';

/** The variables service: session, metadata and visitor variables. */
export const variablesService: ServiceDefinition = {
  name: 'variables',
  title: 'Variables service',
  async build(infra) {
    const projection = projectionWorker(infra, [sessionVariablesProjection, visitorVariablesProjection]);
    const options: VariablesOptions = { limits: DEFAULT_LIMITS, maxConflictRetries: 5 };
    return {
      module: VariablesModule.register({
        store: infra.store,
        readModel: documentReader(projection, sessionVariablesProjection),
        visitorReadModel: documentReader(projection, visitorVariablesProjection),
        introspector: infra.introspector,
        signatures: infra.signatures,
        options,
      }),
      routes: variablesRoutes,
      readiness: [projection.readiness],
      projections: projection.runner,
      workers: [
        projection,
        outboxWorker(infra, 'variables', toIntegrationMessages),
        identityConsumer({ bus: infra.bus, sql: infra.sql, store: infra.store, logger: infra.logger, options }),
        sessionsConsumer({ bus: infra.bus, sql: infra.sql, store: infra.store, logger: infra.logger, options }),
      ],
    };
  },
};
