import {
  Controller,
  type DynamicModule,
  Get,
  Header,
  Headers,
  HttpCode,
  Inject,
  Module,
  Param,
  Post,
  Res,
} from '@nestjs/common';
import { RebuildAbortedError, RebuildInProgressError, type ProjectionRunner } from '@svp/projections';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { projectionStatusJson } from './admin.js';
import { AppError } from './app-error.js';
import type { ServiceMetrics } from './metrics.js';
import { type ReadinessCheck, runReadiness } from './readiness.js';
import { requireRootToken } from './root-token.js';

export interface OpsOptions {
  service: string;
  readiness: readonly ReadinessCheck[];
  metrics: ServiceMetrics;
  logger: Logger;
  projections?: ProjectionRunner;
  rootToken?: string;
}
const OPS_OPTIONS = Symbol('OPS_OPTIONS');

/** What every service serves for operators: liveness, readiness and Prometheus metrics. */
@Controller()
export class HealthController {
  constructor(@Inject(OPS_OPTIONS) private readonly options: OpsOptions) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok', service: this.options.service };
  }

  @Get('readyz')
  async readyz(@Res({ passthrough: true }) reply: { status(code: number): unknown }) {
    const { ready, checks } = await runReadiness(this.options.readiness);
    reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not_ready', service: this.options.service, checks };
  }

  @Get('metrics')
  @Header('content-type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.options.metrics.registry.metrics();
  }
}

/**
 * Operator endpoints (root token): projection status and lag, and a rebuild from position 0 beside
 * the live table, followed by an atomic switch. The rebuild runs in the background; its progress
 * shows in GET /admin/v1/projections. One rebuild per projection at a time: the runner claims the
 * name synchronously, and a second request while one runs gets 409 Conflict.
 */
@Controller('admin/v1/projections')
export class ProjectionsAdminController {
  /** The last rebuild asked of this process per projection, and how it ended (`lastRebuild` in the list). */
  private readonly rebuilds = new Map<string, LastRebuild>();

  constructor(@Inject(OPS_OPTIONS) private readonly options: OpsOptions) {}

  private get runner(): ProjectionRunner {
    return this.options.projections!;
  }

  @Get()
  async list(@Headers('authorization') authorization: string | undefined) {
    requireRootToken(authorization, this.options.rootToken);
    return {
      projections: (await this.runner.statuses()).map((status) => {
        const last = this.rebuilds.get(status.name);
        return { ...projectionStatusJson(status), ...(last ? { lastRebuild: last } : {}) };
      }),
    };
  }

  @Post(':name/rebuild')
  @HttpCode(202)
  rebuild(@Headers('authorization') authorization: string | undefined, @Param('name') name: string) {
    requireRootToken(authorization, this.options.rootToken);
    const { logger } = this.options;
    // No await from here to runner.rebuild(): the check and the runner's claim of the name happen
    // in one synchronous step, so of two simultaneous requests exactly one gets 202.
    const known = this.runner.projectionNames;
    if (!known.includes(name)) throw new AppError('NOT_FOUND', `No projection '${name}' here`, { projections: known });
    if (this.runner.isRebuilding(name)) throw new AppError('CONFLICT', new RebuildInProgressError(name).message);
    const startedAt = new Date().toISOString();
    const record: LastRebuild = { state: 'running', startedAt };
    this.rebuilds.set(name, record);
    const finish = (done: Omit<LastRebuild, 'startedAt' | 'finishedAt'>) => {
      if (this.rebuilds.get(name) === record) this.rebuilds.set(name, { ...done, startedAt, finishedAt: new Date().toISOString() });
    };
    void this.runner
      .rebuild(name, {
        onProgress: (p) => logger.info({ projection: name, position: p.position.toString(), head: p.head.toString(), ratio: p.ratio }, 'rebuild progress'),
      })
      .then(
        (result) => {
          finish({ state: 'switched', table: result.table, eventsApplied: result.eventsApplied });
          logger.info({ projection: name, table: result.table, eventsApplied: result.eventsApplied }, 'rebuild switched in');
        },
        (err: unknown) => {
          finish({ state: err instanceof RebuildAbortedError ? 'abandoned' : 'failed', error: err instanceof Error ? err.message : String(err) });
          if (err instanceof RebuildAbortedError) logger.warn({ projection: name }, 'rebuild abandoned: the runner was stopped; the live table stays active');
          else logger.error({ err, projection: name }, 'rebuild failed; the live table carries on');
        },
      );
    return { projection: name, state: 'rebuilding', startedAt, statusUrl: '/admin/v1/projections' };
  }
}

/** How the last rebuild this process ran of a projection went (kept in memory: gone on restart). */
export interface LastRebuild {
  state: 'running' | 'switched' | 'failed' | 'abandoned';
  startedAt: string;
  finishedAt?: string;
  /** The table switched in. */
  table?: string;
  eventsApplied?: number;
  error?: string;
}

@Module({})
export class OpsModule {
  static register(options: OpsOptions): DynamicModule {
    return {
      module: OpsModule,
      controllers: options.projections ? [HealthController, ProjectionsAdminController] : [HealthController],
      providers: [{ provide: OPS_OPTIONS, useValue: options }],
    };
  }
}
