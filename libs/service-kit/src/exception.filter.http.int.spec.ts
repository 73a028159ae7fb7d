import { Controller, Get, Module } from '@nestjs/common';
import { AppError } from './app-error.js';
import { createLogger } from './logger.js';
import { ServiceMetrics } from './metrics.js';
import { type RunningServiceApp, startServiceApp } from './service-app.js';

// A 429 raised by a call that depends on another service's quota (identity's brand list, variables'
// check of initial variables) carries its wait in details; the answer says it in Retry-After too.
@Controller('v1/depends')
class DependsController {
  @Get('spent')
  spent(): never {
    throw new AppError('RATE_LIMITED', "The org's quota on identity is spent", { field: 'brandId', retryAfterSeconds: 6.2 });
  }

  @Get('spent-no-wait')
  spentNoWait(): never {
    throw new AppError('RATE_LIMITED', "The org's quota on identity is spent", { field: 'brandId' });
  }

  @Get('missing')
  missing(): never {
    throw new AppError('NOT_FOUND', 'nothing here', { retryAfterSeconds: 3 });
  }
}

@Module({ controllers: [DependsController] })
class DependsModule {}

describe('ErrorBodyFilter: Retry-After from a 429 that names its wait', () => {
  let app: RunningServiceApp;
  beforeAll(async () => {
    app = await startServiceApp({
      name: 'sessions',
      title: 'Error filter test service',
      module: { module: DependsModule },
      routes: [],
      readiness: [],
      logger: createLogger('silent'),
      metrics: new ServiceMetrics('sessions'),
      host: '127.0.0.1',
      port: 0,
      bodyLimit: 64 * 1024,
    });
  });
  afterAll(async () => {
    await app?.close();
  });

  const get = async (path: string) => {
    const response = await fetch(`${app.url}${path}`);
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
  };

  it('given a 429 with details.retryAfterSeconds, then the answer has Retry-After (whole seconds, rounded up) and the error body', async () => {
    expect(await get('/v1/depends/spent')).toEqual({
      status: 429,
      retryAfter: '7',
      body: { error: { code: 'RATE_LIMITED', message: "The org's quota on identity is spent", details: { field: 'brandId', retryAfterSeconds: 6.2 } } },
    });
  });

  it('given a 429 without a wait, or another error naming one, then no Retry-After', async () => {
    expect(await get('/v1/depends/spent-no-wait')).toMatchObject({ status: 429, retryAfter: null });
    expect(await get('/v1/depends/missing')).toMatchObject({ status: 404, retryAfter: null });
  });
});
