import { Controller, Get, Module } from '@nestjs/common';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from './logger.js';
import { ServiceMetrics } from './metrics.js';
import { type RunningServiceApp, startServiceApp } from './service-app.js';

@Controller('slow')
class SlowController {
  @Get()
  async slow() {
    await sleep(600);
    return { ok: true };
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

const start = (shutdownGraceMs?: number) =>
  startServiceApp({
    name: 'variables',
    title: 'Shutdown test service',
    module: { module: SlowModule },
    routes: [],
    readiness: [],
    logger: createLogger('silent'),
    metrics: new ServiceMetrics('variables'),
    host: '127.0.0.1',
    port: 0,
    bodyLimit: 64 * 1024,
    ...(shutdownGraceMs !== undefined ? { shutdownGraceMs } : {}),
  });

/** A GET over a keep-alive agent (as the gateway's fetch and most clients call): status and body, or the error. */
const get = (url: string, agent: Agent) =>
  new Promise<{ status?: number; body?: string; error?: string }>((resolve) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', (error) => resolve({ error: error.message }));
    req.end();
  });

describe('closing a service app (startServiceApp)', () => {
  let app: RunningServiceApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('lets a request in flight finish, then closes its keep-alive connection at once (not after keepAliveTimeout, fastify#7044)', async () => {
    app = await start();
    const agent = new Agent({ keepAlive: true });
    const answer = get(`${app.url}/slow`, agent);
    await sleep(150);
    const began = Date.now();
    const closing = app.close();
    app = undefined;
    expect(await answer).toEqual({ status: 200, body: '{"ok":true}' });
    await closing;
    // The handler took 600 ms; without reaping, close() waited out Fastify's 72 s keepAliveTimeout.
    expect(Date.now() - began).toBeLessThan(5_000);
    agent.destroy();
  });

  it('cuts a request that outlasts the grace period', async () => {
    app = await start(100);
    const agent = new Agent({ keepAlive: true });
    const answer = get(`${app.url}/slow`, agent);
    await sleep(50);
    const began = Date.now();
    await app.close();
    app = undefined;
    expect(Date.now() - began).toBeLessThan(550);
    expect((await answer).error).toBeDefined();
    agent.destroy();
  });
});
