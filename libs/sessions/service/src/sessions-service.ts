import type { ServiceDefinition } from '@svp/service-kit';
import { sessionsRoutes } from './routes.js';
import { SessionsModule } from './sessions.module.js';
import { VariableActivityStore, variableActivityConsumer } from './variable-activity.js';

/** The sessions service. This foundation holds its Kafka consumer of variable changes; the lifecycle comes next. */
export const sessionsService: ServiceDefinition = {
  name: 'sessions',
  title: 'Sessions service',
  async build(infra) {
    const activity = new VariableActivityStore(infra.sql);
    return {
      module: SessionsModule.register({ activity, introspector: infra.introspector }),
      routes: sessionsRoutes,
      workers: [variableActivityConsumer({ bus: infra.bus, sql: infra.sql, store: activity, logger: infra.logger })],
    };
  },
};
