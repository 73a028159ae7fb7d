import { Body, Controller, Module, Post, Req } from '@nestjs/common';
import { createLogger } from './logger.js';
import { ServiceMetrics } from './metrics.js';
import { type RunningServiceApp, startServiceApp } from './service-app.js';

@Controller('echo')
class EchoController {
  @Post()
  echo(@Body() body: unknown, @Req() request: { rawBody?: Buffer }) {
    return { body, rawBytes: request.rawBody?.length ?? null };
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

const start = (rawBody: boolean) =>
  startServiceApp({
    name: 'variables',
    title: 'JSON body test service',
    module: { module: EchoModule },
    routes: [],
    readiness: [],
    logger: createLogger('silent'),
    metrics: new ServiceMetrics('variables'),
    host: '127.0.0.1',
    port: 0,
    bodyLimit: 64 * 1024,
    rawBody,
  });

const post = async (url: string, body: Uint8Array | string, contentType = 'application/json') => {
  const response = await fetch(`${url}/echo`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, body: (await response.json()) as { body?: unknown; rawBytes?: number | null; error?: { code: string; details?: { reason?: string } } } };
};

describe.each([false, true])('JSON request bodies (rawBody %s)', (rawBody) => {
  let app: RunningServiceApp;
  beforeAll(async () => {
    app = await start(rawBody);
  });
  afterAll(async () => {
    await app.close();
  });

  it('refuses invalid UTF-8 with 400 VALIDATION_FAILED (INVALID_UTF8) instead of storing U+FFFD in its place', async () => {
    // {"name":"dr\xffll"} and a lone continuation byte, an overlong encoding, a truncated sequence
    for (const bad of [[0xff], [0x80], [0xc0, 0xaf], [0xe2, 0x82]]) {
      const bytes = new Uint8Array([...Buffer.from('{"name":"dr'), ...bad, ...Buffer.from('ll"}')]);
      const answer = await post(app.url, bytes);
      expect({ bad, status: answer.status, code: answer.body.error?.code, reason: answer.body.error?.details?.reason }).toEqual({ bad, status: 400, code: 'VALIDATION_FAILED', reason: 'INVALID_UTF8' });
    }
  });

  it('takes valid UTF-8 (any plane) as before, with the raw body where asked', async () => {
    const text = '{"name":"Zoë 名前 🙂"}';
    const answer = await post(app.url, text, 'application/json; charset=utf-8');
    expect(answer.status).toBe(201);
    expect(answer.body.body).toEqual({ name: 'Zoë 名前 🙂' });
    expect(answer.body.rawBytes).toBe(rawBody ? Buffer.byteLength(text) : null);
  });

  it('still refuses prototype-poisoning keys, empty and malformed JSON with the error body', async () => {
    for (const body of ['{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '', '{"a":']) {
      const answer = await post(app.url, body);
      expect({ body, status: answer.status, code: answer.body.error?.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('parses form bodies as before (they then meet the route validation like any body)', async () => {
    const answer = await post(app.url, 'a=1&b=two', 'application/x-www-form-urlencoded');
    expect(answer.status).toBe(201);
    expect(answer.body.body).toEqual({ a: '1', b: 'two' });
  });
});
