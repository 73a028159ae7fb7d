import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppError } from '@svp/service-kit';
import { pino } from 'pino';
import { HttpVariablesCheck } from './variables-check.js';

// The client of the variables service's check against a real HTTP server: what it forwards, a
// refusal becomes this request's error, and an unreachable or failing variables service lets the
// session start (the values are checked again when applied).
let server: Server;
let url: string;
const seen: { authorization?: string; body: string }[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: { ok: true } };

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      seen.push({ authorization: request.headers.authorization, body });
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

const logger = pino({ level: 'silent' });
const values = [{ name: 'UserName', value: 'John' }];

describe('HttpVariablesCheck', () => {
  it('given the variables service accepts the values, then it resolves, having forwarded the caller\'s key and the values', async () => {
    answer = { status: 200, body: { ok: true } };
    await new HttpVariablesCheck(url, logger).check('svp_key', values);
    expect(seen.at(-1)).toEqual({ authorization: 'Bearer svp_key', body: JSON.stringify({ sessionVariableValues: values }) });
  });

  it('given a refusal, then it throws that error with its code, details and status', async () => {
    answer = { status: 400, body: { error: { code: 'LIMIT_EXCEEDED', message: 'too long', details: { limit: 'maxValueBytes', max: 10 } } } };
    const error = await new HttpVariablesCheck(url, logger).check('svp_key', values).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', status: 400, details: { limit: 'maxValueBytes', max: 10 } });
  });

  it('given a metadata name refused (403 naming it), then it throws; given a 401, a missing scope or 429 of the check itself, then it resolves', async () => {
    answer = { status: 403, body: { error: { code: 'FORBIDDEN', message: 'read-only', details: { names: ['authenticatedStatus'] } } } };
    await expect(new HttpVariablesCheck(url, logger).check('svp_key', values)).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403 });
    for (const status of [401, 403, 429]) {
      answer = { status, body: { error: { code: status === 401 ? 'UNAUTHENTICATED' : status === 403 ? 'FORBIDDEN' : 'RATE_LIMITED', message: 'not about the values', details: { missing: ['x'] } } } };
      await expect(new HttpVariablesCheck(url, logger).check('svp_key', values)).resolves.toBeUndefined();
    }
  });

  it('given the variables service fails (5xx) or cannot be reached, then it resolves: starting a session does not depend on it', async () => {
    answer = { status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE', message: 'down' } } };
    await expect(new HttpVariablesCheck(url, logger).check('svp_key', values)).resolves.toBeUndefined();
    await expect(new HttpVariablesCheck('http://127.0.0.1:1', logger).check('svp_key', values)).resolves.toBeUndefined();
  });
});
