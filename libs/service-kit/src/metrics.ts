import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * How a command ended: `ok` (events appended, or nothing to do), `refused` (the decider said no: a
 * 4xx), `conflict` (optimistic concurrency retries used up: 409), `error` (anything else thrown).
 */
export type CommandOutcome = 'ok' | 'refused' | 'conflict' | 'error';

/** Latency buckets of the write path (commands, appends): 0.5 ms to 5 s. */
const WRITE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The metric children of one command type, bound once: recording a command is a lookup, an increment and an observation. */
export interface CommandTypeMetrics {
  record(outcome: CommandOutcome, seconds: number): void;
}

/**
 * Command rates and latencies per command type: `svp_commands_total{type, outcome}` and
 * `svp_command_duration_seconds{type}` (from the command's arrival to its events stored, retries and
 * the stream writer's queue included). Types are the services' own command names (a few dozen), so
 * the label stays bounded. The bound children are kept per type (`forType`): recording a command
 * looks them up and adds to them, with no allocation of its own.
 */
export class CommandMetrics {
  private readonly total: Counter<'type' | 'outcome'>;
  private readonly duration: Histogram<'type'>;
  private readonly byType = new Map<string, CommandTypeMetrics>();

  constructor(registry: Registry) {
    this.total = new Counter({
      name: 'svp_commands_total',
      help: 'Commands handled, by command type and outcome (ok, refused, conflict, error)',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'svp_command_duration_seconds',
      help: 'Command latency by command type: load, decide and append, retries included',
      labelNames: ['type'],
      buckets: WRITE_BUCKETS,
      registers: [registry],
    });
  }

  observe(type: string, outcome: CommandOutcome, seconds: number): void {
    this.forType(type).record(outcome, seconds);
  }

  /** The bound children of a command type (made, and every outcome started at 0, on its first command). */
  forType(type: string): CommandTypeMetrics {
    let children = this.byType.get(type);
    if (!children) {
      // Every outcome of a type starts at 0, so that rate() of its conflicts is 0 rather than absent.
      const outcome = (o: CommandOutcome) => {
        const child = this.total.labels({ type, outcome: o });
        child.inc(0);
        return child;
      };
      const duration = this.duration.labels({ type });
      const outcomes: Record<CommandOutcome, { inc(): void }> = { ok: outcome('ok'), refused: outcome('refused'), conflict: outcome('conflict'), error: outcome('error') };
      children = {
        record(o, seconds) {
          outcomes[o].inc();
          duration.observe(seconds);
        },
      };
      this.byType.set(type, children);
    }
    return children;
  }
}

/** Where a failing scrape-time gauge is reported (a pino logger fits). */
export interface MetricsLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface ServiceMetricsOptions {
  /** Warns of a gauge whose source failed, at most once per `failureLogIntervalMs` per metric. */
  logger?: MetricsLogger;
  /** Default 60 000 (once a minute per metric). */
  failureLogIntervalMs?: number;
  /** The clock of that throttle (tests). */
  now?: () => number;
}

/** A Prometheus registry per service (several services share one process in embedded mode). */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly commands: CommandMetrics;
  /** Event store appends by adapter (postgres, pglite, kurrentdb) and outcome (ok, conflict, error). */
  readonly appendDuration: Histogram<'adapter' | 'outcome'>;
  /** Scrape-time gauges whose source failed or did not answer in time (see `gauge`). */
  readonly collectFailures: Counter<'metric'>;

  private readonly logger?: MetricsLogger;
  private readonly failureLogIntervalMs: number;
  private readonly now: () => number;
  /** Per failing metric: when it was last logged, and the failures since (not logged yet). */
  private readonly failureLog = new Map<string, { loggedAt: number; suppressed: number }>();

  constructor(
    readonly service: string,
    options: ServiceMetricsOptions = {},
  ) {
    this.logger = options.logger;
    this.failureLogIntervalMs = options.failureLogIntervalMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: 'svp_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.httpDuration = new Histogram({
      name: 'svp_http_request_duration_seconds',
      help: 'HTTP request latency by method and route',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.commands = new CommandMetrics(this.registry);
    this.appendDuration = new Histogram({
      name: 'svp_event_store_append_duration_seconds',
      help: 'Event store append latency by adapter and outcome (ok, conflict, error)',
      labelNames: ['adapter', 'outcome'],
      buckets: WRITE_BUCKETS,
      registers: [this.registry],
    });
    this.collectFailures = new Counter({
      name: 'svp_metrics_collect_failures_total',
      help: 'Scrape-time gauges left empty because their source failed or did not answer in time, by metric',
      labelNames: ['metric'],
      registers: [this.registry],
    });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) });
  }

  /**
   * A gauge whose value is read on each scrape by `collect`. With `reset`, the values of the last
   * scrape are cleared first, so a label set the collector no longer reports (a partition gone)
   * disappears instead of repeating a stale value. A collector that fails or takes longer than
   * `timeoutMs` (default 3 s) leaves the gauge empty for that scrape and counts in
   * `svp_metrics_collect_failures_total{metric}` (which shows it from the next scrape on: the
   * families of one scrape are read side by side): the rest of the scrape is served either way.
   * The failure is also logged (warn, with the error), at most once a minute per metric.
   */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect: (gauge: Gauge<L>) => Promise<void>,
    options: { reset?: boolean; timeoutMs?: number } = {},
  ): Gauge<L> {
    const failures = this.collectFailures;
    const reportFailure = (error: unknown) => this.reportCollectFailure(name, error);
    const timeoutMs = options.timeoutMs ?? 3000;
    return new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        if (options.reset) this.reset();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            collect(this),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`${name}: no value within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
        } catch (error) {
          this.reset();
          failures.inc({ metric: name });
          reportFailure(error);
        } finally {
          clearTimeout(timer);
        }
      },
    });
  }

  /** Logs a gauge's failure unless that metric was logged less than `failureLogIntervalMs` ago (then counts it for the next line). */
  private reportCollectFailure(metric: string, error: unknown): void {
    if (!this.logger) return;
    const now = this.now();
    const last = this.failureLog.get(metric);
    if (last && now - last.loggedAt < this.failureLogIntervalMs) {
      last.suppressed++;
      return;
    }
    this.failureLog.set(metric, { loggedAt: now, suppressed: 0 });
    this.logger.warn(
      { err: error, metric, ...(last?.suppressed ? { suppressedSinceLastLog: last.suppressed } : {}) },
      'metric collection failed; the gauge is left empty for this scrape',
    );
  }
}
