import { ConfigError, parseConfigEnv } from '@svp/contracts';
import { openServiceInfra } from './infra.js';
import { createLogger } from './logger.js';
import { type ServiceDefinition, runService } from './runtime.js';
import { TracingConfigError, startTracing } from './tracing/sdk.js';

/**
 * Runs one service as its own process (the distributed mode): config validated with zod, its own
 * database schema, event store and Kafka; graceful shutdown on SIGTERM/SIGINT within
 * SHUTDOWN_TIMEOUT_MS (HTTP drained, workers stopped, connections closed).
 */
export async function runStandalone(definition: ServiceDefinition | ((env: ReturnType<typeof parseConfigEnv>) => ServiceDefinition)): Promise<void> {
  let env;
  try {
    env = parseConfigEnv(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const def = typeof definition === 'function' ? definition(env) : definition;
  const logger = createLogger(env.LOG_LEVEL).child({ service: def.name });
  // OpenTelemetry, only when the OTEL_* environment asks for it (docs/tracing.md); service.name = the service.
  let tracing;
  try {
    tracing = await startTracing({ serviceName: def.name, logger });
  } catch (error) {
    if (error instanceof TracingConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const infra = await openServiceInfra(env, def.name, logger);
  const service = await runService(def, infra);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    await service.close();
    await infra.close();
    // The spans still queued (the shutdown's own included) are exported before the process exits.
    await tracing.shutdown().catch((err: unknown) => logger.warn({ err }, 'exporting the last spans failed'));
    clearTimeout(timer);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
