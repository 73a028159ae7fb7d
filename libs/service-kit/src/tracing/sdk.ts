import { DiagLogLevel, context, diag, propagation, trace } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { setTracingEnabled, tracingEnabled } from './tracing.js';

export type TracingEnv = Record<string, string | undefined>;

/** What a started SDK gives back: flush and stop (exports what is still queued). */
export interface TracingHandle {
  readonly enabled: boolean;
  /**
   * Exports every span still queued, then stops recording; idempotent. Waits `timeoutMs` at most
   * (default 3 s: a collector that does not answer must not hold up the service's shutdown).
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

const DISABLED: TracingHandle = { enabled: false, shutdown: async () => undefined };

const truthy = (value: string | undefined) => value !== undefined && ['true', '1'].includes(value.trim().toLowerCase());

/** The exporters OTEL_TRACES_EXPORTER names (`none` and empty entries dropped). */
function exportersOf(env: TracingEnv): string[] | undefined {
  const raw = env.OTEL_TRACES_EXPORTER;
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '' && name !== 'none');
}

/**
 * Whether the environment turns tracing on: an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or an exporter (OTEL_TRACES_EXPORTER=otlp|console); never
 * with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Pure.
 */
export function tracingConfigured(env: TracingEnv): boolean {
  if (truthy(env.OTEL_SDK_DISABLED)) return false;
  const exporters = exportersOf(env);
  if (exporters !== undefined) return exporters.length > 0;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/** A setting the SDK cannot honour: the service refuses to start and names it. */
export class TracingConfigError extends Error {
  override readonly name = 'TracingConfigError';
}

/** OTLP over HTTP only: http/protobuf (the OTLP default) or http/json. */
function protocolOf(env: TracingEnv): 'http/protobuf' | 'http/json' {
  const variable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = (env[variable] ?? 'http/protobuf').trim().toLowerCase();
  if (protocol === 'http/protobuf' || protocol === 'http/json') return protocol;
  throw new TracingConfigError(`${variable}=${protocol} is not supported: use http/protobuf (the default) or http/json (OTLP over HTTP, port 4318)`);
}

export interface StartTracingOptions {
  /** The resource's service.name (OTEL_SERVICE_NAME wins when set). */
  serviceName: string;
  /** Default process.env. */
  env?: TracingEnv;
  /** Where the SDK's own warnings go (failed exports). */
  logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Replaces the exporters the environment names (tests); the environment still has to turn tracing on unless `force`. */
  exporter?: SpanExporter;
  /** Start even though the environment does not ask for it (tests with `exporter`). */
  force?: boolean;
}

/**
 * Starts the OpenTelemetry SDK for this process when the environment asks for it (see
 * tracingConfigured); otherwise loads nothing and returns a handle that does nothing, so a process
 * without tracing carries only @opentelemetry/api's no-op. Spans go through a batch processor
 * (OTEL_BSP_* settings) to the OTLP/HTTP exporter (OTEL_EXPORTER_OTLP_* settings: endpoint,
 * headers, timeout, protocol) or the console; sampling follows OTEL_TRACES_SAMPLER; context is
 * propagated as W3C Trace Context. One SDK per process: a second call while one runs is refused.
 */
export async function startTracing(options: StartTracingOptions): Promise<TracingHandle> {
  const env = options.env ?? process.env;
  if (!options.force && !tracingConfigured(env)) return DISABLED;
  if (tracingEnabled()) throw new Error('Tracing is already started in this process');
  const exporters = exportersOf(env) ?? ['otlp'];
  for (const name of exporters)
    if (name !== 'otlp' && name !== 'console') throw new TracingConfigError(`OTEL_TRACES_EXPORTER=${name} is not supported: use otlp, console or none`);

  const [{ NodeTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, ConsoleSpanExporter }, { W3CTraceContextPropagator }, resources, semconv] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const processors = [];
  if (options.exporter) processors.push(new BatchSpanProcessor(options.exporter));
  else
    for (const name of exporters) {
      if (name === 'console') processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
      else {
        const { OTLPTraceExporter } =
          protocolOf(env) === 'http/json' ? await import('@opentelemetry/exporter-trace-otlp-http') : await import('@opentelemetry/exporter-trace-otlp-proto');
        processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
      }
    }
  if (options.logger) {
    const logger = options.logger;
    diag.setLogger(
      {
        error: (message, ...args) => logger.error({ otel: args }, `opentelemetry: ${message}`),
        warn: (message, ...args) => logger.warn({ otel: args }, `opentelemetry: ${message}`),
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
      DiagLogLevel.WARN,
    );
  }
  // The service's name by default; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: options.serviceName, 'service.namespace': 'svp' }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: processors });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  setTracingEnabled(true);

  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    shutdown: (timeoutMs = 3000) =>
      (stopping ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
        try {
          if ((await Promise.race([provider.shutdown(), late])) === 'late')
            options.logger?.warn({ timeoutMs }, 'opentelemetry: the last spans were not exported in time; exiting without them');
        } finally {
          clearTimeout(timer);
          setTracingEnabled(false);
          trace.disable();
          propagation.disable();
          context.disable();
          diag.disable();
        }
      })()),
  };
}
