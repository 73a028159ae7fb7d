import { type ServiceDefinition, StreamWriter, TimerStore, TimerWorker, documentReader, outboxWorker, projectionWorker } from '@svp/service-kit';
import { sessionVariablesStream } from '@svp/variables-domain';
import { BrandDirectory } from './brands.js';
import { RevokedKeys } from './revoked-keys.js';
import { VARIABLES_TIMERS_TABLE, variableDeletionsProjection, variablesTimerHandler } from './deletions.js';
import { identityConsumer } from './identity-consumer.js';
import { erasuresProjection, signedVariablesProjection, variableSettingsProjection } from './index-projections.js';
import { toIntegrationMessages } from './integration-events.js';
import { variablesRoutes } from './routes.js';
import { salesIqErrorRenderer } from './salesiq.controller.js';
import { sessionVariablesProjection } from './session-variables.projection.js';
import { sessionsConsumer } from './sessions-consumer.js';
import { VariableSettingsReader, defaultSettings } from './settings.js';
import { VariablesModule } from './variables.module.js';
import { visitorVariablesProjection } from './visitor-variables.projection.js';

/**
 * The variables service: session, visitor and metadata variables, their history, the orgs' limits
 * and retention, erasure, and the SalesIQ-compatible visitorsessions API. Every command goes through
 * one StreamWriter; projections serve the reads; a timer worker deletes streams (ended sessions,
 * erased visitors) once the read models and the outbox have passed them.
 */
export const variablesService: ServiceDefinition = {
  name: 'variables',
  title: 'Variables service',
  async build(infra) {
    const { env, sql, store, logger, metrics } = infra;
    const writer = new StreamWriter(store, { metrics: metrics.commands });
    const timers = new TimerStore(sql, VARIABLES_TIMERS_TABLE);
    const projection = projectionWorker(infra, [
      sessionVariablesProjection,
      visitorVariablesProjection,
      signedVariablesProjection,
      variableSettingsProjection,
      erasuresProjection,
      variableDeletionsProjection(timers),
    ]);
    // Hot documents stay in memory until this process's projection commits a batch touching them.
    const cache = { maxEntries: env.VARIABLES_READ_CACHE_ENTRIES, ttlMs: 5_000 };
    const settings = new VariableSettingsReader(documentReader(projection, variableSettingsProjection, { cache }), defaultSettings(env.VARIABLES_RETENTION_DAYS));
    const brands = new BrandDirectory(sql);
    const revokedKeys = new RevokedKeys(sql);
    const outbox = outboxWorker(infra, 'variables', toIntegrationMessages);
    const timerWorker = new TimerWorker({
      name: 'variables-timers',
      store: timers,
      logger,
      fire: variablesTimerHandler({ store, writer, runner: projection.runner, outboxCheckpoint: () => outbox.checkpoint(), logger }),
    });
    metrics.gauge('svp_variables_writer_pending_commands', 'Commands queued or being written by the variables service', [], async (gauge) => gauge.set(writer.pending));
    return {
      module: VariablesModule.register({
        store,
        writer,
        readModel: documentReader(projection, sessionVariablesProjection, { cache }),
        visitorReadModel: documentReader(projection, visitorVariablesProjection, { cache }),
        erasures: documentReader(projection, erasuresProjection),
        settings,
        brands,
        revokedKeys,
        introspector: infra.introspector,
        signatures: infra.signatures,
      }),
      routes: variablesRoutes,
      readiness: [projection.readiness],
      projections: projection.runner,
      // A session's variables (its visitor's are the visitor's: not part of the session's history).
      sessionStreams: (orgId, sessionId) => [sessionVariablesStream(orgId, sessionId)],
      errorRenderers: [salesIqErrorRenderer],
      workers: [
        // The tables the projections and consumers write into exist before they run.
        { name: 'variables-setup', start: async () => { await timers.setup(); await brands.setup(); await revokedKeys.setup(); }, stop: async () => undefined },
        projection,
        outbox,
        timerWorker,
        identityConsumer({ bus: infra.bus, sql, store, writer, settings, brands, revokedKeys, projections: projection.runner, logger }),
        sessionsConsumer({ bus: infra.bus, sql, writer, settings, logger }),
      ],
    };
  },
};
