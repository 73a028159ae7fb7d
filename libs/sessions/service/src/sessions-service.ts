import {
  DELETE_STREAM_TIMER,
  type ServiceDefinition,
  SecretBox,
  type StreamDeletionPayload,
  TimerStore,
  TimerWorker,
  VisitorTokens,
  deleteStreamWhenPassed,
  documentReader,
  identityUrlOf,
  outboxWorker,
  projectionWorker,
} from '@svp/service-kit';
import { sessionStream } from '@svp/sessions-domain';
import { sessionDeletionsProjection, sessionsErasureConsumer } from './erasure.js';
import { toIntegrationMessages } from './integration-events.js';
import {
  channelUsageProjection,
  channelsProjection,
  sessionTimersProjection,
  sessionsProjection,
  settingsProjection,
} from './projections.js';
import { sessionsRoutes } from './routes.js';
import { SessionsCore } from './sessions-core.js';
import { SessionsModule } from './sessions.module.js';
import { VariableActivityStore, variableActivityConsumer } from './variable-activity.js';
import { HttpVariablesCheck } from './variables-check.js';
import { HttpBrandCheck } from './brand-check.js';
import { WebhookDeliveryStore, WebhookDispatcher, parseDuration, parseDurations, retrySchedule } from './webhooks/index.js';
import { Webhooks, webhookFanoutProjection, webhooksProjection } from './webhooks.js';

export interface SessionsServiceOptions {
  /** Seals webhook secrets at rest; SIGNING_SECRETS_KEY, else derived from the root token. */
  secretsKey?: string;
  /** Where the variables service answers (its check of initial variables); VARIABLES_URL, else 127.0.0.1 and VARIABLES_PORT. */
  variablesUrl?: string;
  /** Where the identity service answers (its list of an org's brands); IDENTITY_URL, else 127.0.0.1 and IDENTITY_PORT. */
  identityUrl?: string;
}

/**
 * The sessions service: conversation lifecycle, reply status, channels, durable inactivity timers,
 * IM_Session_Status webhooks, and its consumer of variable changes.
 */
export function sessionsService(options: SessionsServiceOptions = {}): ServiceDefinition {
  return {
    name: 'sessions',
    title: 'Sessions service',
    async build(infra) {
      const { env, sql, store, logger, metrics } = infra;
      const timers = new TimerStore(sql);
      const deliveries = new WebhookDeliveryStore(sql);
      const secretBox = SecretBox.fromConfig({ secretsKey: options.secretsKey ?? env.SIGNING_SECRETS_KEY, rootToken: infra.rootToken ?? env.PLATFORM_ROOT_TOKEN });
      const projection = projectionWorker(infra, [
        sessionsProjection,
        channelsProjection,
        channelUsageProjection,
        settingsProjection,
        sessionTimersProjection(timers),
        webhooksProjection,
        webhookFanoutProjection(deliveries),
        sessionDeletionsProjection(timers),
      ]);
      const outbox = outboxWorker(infra, 'sessions', toIntegrationMessages);
      const core = new SessionsCore({
        store,
        sql,
        runner: projection.runner,
        readers: { channels: documentReader(projection, channelsProjection), settings: documentReader(projection, settingsProjection) },
        variablesCheck: new HttpVariablesCheck(options.variablesUrl ?? env.VARIABLES_URL ?? `http://127.0.0.1:${env.VARIABLES_PORT}`, logger),
        brandCheck: new HttpBrandCheck(options.identityUrl ?? identityUrlOf(env)),
        visitorTokens: VisitorTokens.fromConfig({ secretsKey: options.secretsKey ?? env.SIGNING_SECRETS_KEY, rootToken: infra.rootToken ?? env.PLATFORM_ROOT_TOKEN }),
        visitorTokenTtlSeconds: env.VISITOR_TOKEN_TTL_SECONDS,
        metrics,
      });
      const wake: { dispatcher?: WebhookDispatcher } = {};
      const webhooks = new Webhooks({
        store,
        sql,
        runner: projection.runner,
        docs: documentReader(projection, webhooksProjection),
        deliveries,
        secretBox,
        allowPrivateTargets: env.WEBHOOKS_ALLOW_PRIVATE_TARGETS,
        notify: () => wake.dispatcher?.notify(),
        metrics,
      });
      const attempts = metrics.counter('svp_webhook_attempts_total', 'Webhook delivery attempts by outcome', ['outcome']);
      const latency = metrics.histogram('svp_webhook_attempt_seconds', 'Webhook delivery attempt latency', [], [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
      const exhausted = metrics.counter('svp_webhook_deliveries_exhausted_total', 'Deliveries given up once the retry schedule ran out (the webhook is then disabled)');
      // The backlog is read at scrape time, once for both gauges.
      let backlog: ReturnType<WebhookDeliveryStore['backlog']> | undefined;
      const readBacklog = () => (backlog ??= deliveries.backlog().finally(() => (backlog = undefined)));
      metrics.gauge('svp_webhook_deliveries_pending', 'Webhook deliveries waiting to be sent or retried', [], async (gauge) => gauge.set((await readBacklog()).pending));
      metrics.gauge('svp_webhook_oldest_pending_age_seconds', 'Age of the oldest webhook delivery still waiting (0 when none)', [], async (gauge) => {
        const { oldestAt } = await readBacklog();
        gauge.set(oldestAt ? Math.max(0, (Date.now() - oldestAt.getTime()) / 1000) : 0);
      });
      const dispatcher = new WebhookDispatcher({
        store: deliveries,
        lookup: (webhookId) => webhooks.endpoint(webhookId),
        onGone: (webhookId) => webhooks.disableBySystem(webhookId, 'the receiver answered 410 Gone: subscription ended'),
        onExhausted: (webhookId, reason) => {
          exhausted.inc();
          return webhooks.disableBySystem(webhookId, `deliveries kept failing: ${reason}`);
        },
        onAttempt: (m) => {
          attempts.inc({ outcome: m.ok ? 'delivered' : m.status === null ? 'no_response' : `http_${Math.floor(m.status / 100)}xx` });
          latency.observe(m.latencyMs / 1000);
        },
        onError: (err) => logger.error({ err }, 'webhook dispatcher error'),
        allowPrivate: env.WEBHOOKS_ALLOW_PRIVATE_TARGETS,
        timeoutMs: env.WEBHOOK_TIMEOUT_MS,
        schedule: retrySchedule({
          delaysMs: parseDurations(env.WEBHOOK_RETRY_DELAYS),
          repeatEveryMs: parseDuration(env.WEBHOOK_RETRY_EVERY),
          maxAgeMs: parseDuration(env.WEBHOOK_RETRY_FOR),
        }),
      });
      wake.dispatcher = dispatcher;
      const timerWorker = new TimerWorker({
        store: timers,
        logger,
        fire: async (timer) => {
          // An erased session's stream, once the read models and the outbox passed it.
          if (timer.kind === DELETE_STREAM_TIMER) {
            const deleted = await deleteStreamWhenPassed({ store, runner: projection.runner, outboxCheckpoint: () => outbox.checkpoint() }, timer.payload as StreamDeletionPayload);
            if (deleted.length > 0) logger.info({ stream: (timer.payload as StreamDeletionPayload).stream }, 'erased session deleted');
            return;
          }
          await core.fireTimer(timer.payload as Parameters<SessionsCore['fireTimer']>[0]);
        },
      });
      const activity = new VariableActivityStore(sql);
      return {
        module: SessionsModule.register({ core, webhooks, activity, introspector: infra.introspector }),
        routes: sessionsRoutes,
        readiness: [projection.readiness],
        projections: projection.runner,
        // The session's lifecycle: created, routed, assigned, messages, hold, end.
        sessionStreams: (orgId, sessionId) => [sessionStream(orgId, sessionId)],
        workers: [
          // The tables the projections write into (timers, deliveries) exist before they run.
          { name: 'sessions-setup', start: async () => { await timers.setup(); await deliveries.setup(); }, stop: async () => undefined },
          projection,
          timerWorker,
          dispatcher,
          outbox,
          variableActivityConsumer({ bus: infra.bus, sql, store: activity, logger }),
          sessionsErasureConsumer({ bus: infra.bus, sql, store, logger, forgetActivity: (tx, orgId, sessionIds) => activity.forget(tx, orgId, sessionIds) }),
        ],
      };
    },
  };
}
