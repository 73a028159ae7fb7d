import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@svp/service-kit';
import type { DemoSource } from './demo/demo-config.js';
import { DemoModule } from './demo/demo.module.js';
import { WebhookInbox } from './demo/webhook-inbox.js';
import { GatewayRuntime } from './gateway-runtime.js';
import { GatewayModule } from './gateway.module.js';
import { graphqlErrorRenderer } from './execution.js';
import { graphqlWsAttachment } from './graphql-ws-server.js';
import { LiveHub } from './live-hub.js';
import { demoRoutes, gatewayRoutes } from './routes.js';
import type { ServiceUrls } from './service-client.js';

export interface GatewayServiceOptions {
  /** Where the services answer; IDENTITY_URL, SESSIONS_URL, VARIABLES_URL, else 127.0.0.1 and their ports. */
  urls?: Partial<ServiceUrls>;
  /** The widget SDK bundle served at /sdk/widget.js (libs/widget/dist/widget.bundle.js by default). */
  widgetBundlePath?: string;
  /** Serves the demo at /demo with this config (the embedded platform makes it; DEMO_ENABLED). */
  demo?: DemoSource;
  /** How long a subscription event waits for the variables read to show its change (ms, default 3000). */
  freshnessTimeoutMs?: number;
}

/** libs/gateway/service/{src,dist}/ → libs/widget/dist/widget.bundle.js */
const defaultBundlePath = () => resolve(dirname(fileURLToPath(import.meta.url)), '../../../widget/dist/widget.bundle.js');

/**
 * The GraphQL gateway: POST /graphql and graphql-ws subscriptions at /graphql for widgets, agent
 * consoles and bots, resolved by calling the services' HTTP APIs with the caller's own credential
 * (batched per request), subscriptions fed from the services' integration events on Kafka; and the
 * widget SDK at /sdk/widget.js.
 */
export function gatewayService(options: GatewayServiceOptions = {}): ServiceDefinition {
  return {
    name: 'gateway',
    title: 'GraphQL gateway',
    async build(infra) {
      const { env, logger, metrics } = infra;
      const urls: ServiceUrls = {
        identity: options.urls?.identity ?? env.IDENTITY_URL ?? `http://127.0.0.1:${env.IDENTITY_PORT}`,
        sessions: options.urls?.sessions ?? env.SESSIONS_URL ?? `http://127.0.0.1:${env.SESSIONS_PORT}`,
        variables: options.urls?.variables ?? env.VARIABLES_URL ?? `http://127.0.0.1:${env.VARIABLES_PORT}`,
      };
      const hub = new LiveHub(infra.bus, logger, metrics);
      const runtime = new GatewayRuntime({
        urls,
        hub,
        logger,
        metrics,
        limits: {
          maxDepth: env.GRAPHQL_MAX_DEPTH,
          maxCost: env.GRAPHQL_MAX_COST,
          introspection: env.GRAPHQL_INTROSPECTION ?? env.NODE_ENV !== 'production',
          maxServiceCalls: env.GRAPHQL_MAX_SERVICE_CALLS,
        },
        ...(options.freshnessTimeoutMs !== undefined ? { freshnessTimeoutMs: options.freshnessTimeoutMs } : {}),
      });
      return {
        module: GatewayModule.register({
          runtime,
          introspector: infra.introspector,
          widgetBundlePath: options.widgetBundlePath ?? defaultBundlePath(),
          extra: options.demo ? [DemoModule.register({ source: options.demo, inbox: new WebhookInbox() })] : [],
        }),
        routes: options.demo ? [...gatewayRoutes, ...demoRoutes] : gatewayRoutes,
        // The demo's webhook receiver checks the signature over the raw bytes.
        ...(options.demo ? { rawBody: true } : {}),
        // Errors the guard or the body check answer on /graphql carry GraphQL's `errors` too, for GraphQL clients.
        errorRenderers: [graphqlErrorRenderer],
        workers: [hub],
        corsOrigins: env.GATEWAY_CORS_ORIGINS,
        // The demo hands out its keys: only its own page (same origin, this machine) may read them.
        corsExcept: ['/demo'],
        attach: ({ meter }) => graphqlWsAttachment({ runtime, introspector: infra.introspector, meter, allowedOrigins: env.GATEWAY_CORS_ORIGINS, recheckMs: env.GATEWAY_WS_RECHECK_SECONDS * 1000 }),
        // The gateway answers only when the services it calls do.
        readiness: (['identity', 'sessions', 'variables'] as const).map((service) => ({
          name: service,
          check: async () => (await fetch(`${urls[service]}/healthz`, { signal: AbortSignal.timeout(1500) })).ok,
        })),
      };
    },
  };
}
