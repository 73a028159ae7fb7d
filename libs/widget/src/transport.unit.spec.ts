import { WidgetError, toWidgetError } from './errors.js';
import { readVisitorToken } from './jwt.js';
import { type FetchLike, GraphQLHttp } from './transport.js';
import { fakeJwt } from './__fixtures__/fake-gateway.js';

/** A transport whose fetch answers `status` with `body` (or rejects with `failure`) and records the request. */
function answering(status: number, body: unknown, failure?: Error) {
  const requests: Parameters<FetchLike>[] = [];
  const fetchImpl: FetchLike = async (...args) => {
    requests.push(args);
    if (failure) throw failure;
    return { status, json: async () => (typeof body === 'string' ? JSON.parse(body) : body) };
  };
  return { http: new GraphQLHttp('http://gateway.test/graphql', fetchImpl), requests };
}

const failureOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe('GraphQL over HTTP', () => {
  it('given an answer with data, then it POSTs the query and variables with the bearer credential and answers the data', async () => {
    const { http, requests } = answering(200, { data: { session: { sessionId: 'ses_1' } } });

    await expect(http.request('query Session($id: ID!) { session(id: $id) { sessionId } }', { id: 'ses_1' }, 'svpv_token')).resolves.toEqual({ session: { sessionId: 'ses_1' } });

    const [url, init] = requests[0]!;
    expect(url).toBe('http://gateway.test/graphql');
    expect(init.method).toBe('POST');
    expect(init.headers).toMatchObject({ 'content-type': 'application/json', authorization: 'Bearer svpv_token' });
    expect(JSON.parse(init.body)).toEqual({ query: expect.stringContaining('session(id: $id)'), variables: { id: 'ses_1' } });
  });

  it('given GraphQL errors, then it throws a WidgetError with the first error\'s code, status and details, and keeps them all', async () => {
    const errors = [
      { message: 'Visitor token refused', extensions: { code: 'UNAUTHENTICATED', status: 401, details: { reason: 'expired' } } },
      { message: 'second', extensions: { code: 'FORBIDDEN', status: 403 } },
    ];
    const { http } = answering(200, { data: null, errors });

    const error = (await failureOf(http.request('query { x }', {}, 't'))) as WidgetError;

    expect(error).toBeInstanceOf(WidgetError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'WidgetError', message: 'Visitor token refused', code: 'UNAUTHENTICATED', status: 401, details: { reason: 'expired' } });
    expect(error.errors).toEqual(errors);
  });

  it('given a GraphQL error without a code, then its code is GRAPHQL_ERROR and its status the HTTP one', async () => {
    const { http } = answering(400, { errors: [{ message: 'Cannot query field "x"' }] });
    await expect(failureOf(http.request('query { x }', {}, 't'))).resolves.toMatchObject({ code: 'GRAPHQL_ERROR', status: 400 });
  });

  it('given the platform\'s error body (an answer from before GraphQL), then its code, status and details are the WidgetError\'s', async () => {
    const { http } = answering(413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'Body too large', details: { limit: 1_048_576 } } });
    await expect(failureOf(http.request('query { x }', {}, 't'))).resolves.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
      message: 'Body too large',
      details: { limit: 1_048_576 },
    });
  });

  it('given fetch rejects (offline, CORS, DNS), then the error is NETWORK with the failure as its cause', async () => {
    const offline = new TypeError('Failed to fetch');
    const { http } = answering(0, undefined, offline);
    const error = (await failureOf(http.request('query { x }', {}, 't'))) as WidgetError;
    expect(error).toMatchObject({ code: 'NETWORK', status: undefined });
    expect(error.cause).toBe(offline);
  });

  it('given an answer that is not JSON (a proxy\'s 502 page), then the error is NETWORK with the HTTP status', async () => {
    const { http } = answering(502, '<html>Bad Gateway</html>');
    await expect(failureOf(http.request('query { x }', {}, 't'))).resolves.toMatchObject({ code: 'NETWORK', status: 502 });
  });

  it('given JSON with neither data nor errors, then the error is NETWORK', async () => {
    const { http } = answering(200, { hello: 'world' });
    await expect(failureOf(http.request('query { x }', {}, 't'))).resolves.toMatchObject({ code: 'NETWORK', status: 200 });
  });
});

describe('errors of the live connection', () => {
  it.each([
    [4401, 'UNAUTHENTICATED'],
    [4403, 'FORBIDDEN'],
    [1006, 'NETWORK'],
  ])('given a socket closed with %d, then the WidgetError code is %s and the close is in its details', (closeCode, code) => {
    expect(toWidgetError({ code: closeCode, reason: 'bye', wasClean: false })).toMatchObject({ code, details: { closeCode, reason: 'bye' } });
  });

  it('given GraphQL errors of a subscription, then the first error names the WidgetError', () => {
    expect(toWidgetError([{ message: 'Not your session', extensions: { code: 'FORBIDDEN', status: 403 } }])).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });
});

describe('reading a visitor token', () => {
  it('given a visitor token, then its session, visitor and expiry are read from its payload', () => {
    const token = `svpv_${fakeJwt({ alg: 'HS256' }, { sid: 'ses_1', sub: 'vis_1', exp: 1_796_205_600 })}`;
    expect(readVisitorToken(token)).toEqual({ sessionId: 'ses_1', visitorId: 'vis_1', expiresAt: new Date(1_796_205_600_000).toISOString() });
  });

  it.each([
    ['an org key', 'svp_abc'],
    ['a JWT without the prefix', fakeJwt({ alg: 'HS256' }, { sid: 'ses_1', sub: 'vis_1', exp: 1 })],
    ['a token whose payload lacks the session', `svpv_${fakeJwt({ alg: 'HS256' }, { sub: 'vis_1', exp: 1 })}`],
    ['garbage', 'svpv_not.a.jwt!'],
  ])('given %s, then it is no visitor token', (_label, token) => {
    expect(readVisitorToken(token)).toBeUndefined();
  });
});
