import type { MessageBus } from '@svp/messaging';
import { AppError, type AuthContext } from '@svp/service-kit';
import { GraphQLError, type GraphQLFormattedError, execute, getOperationAST, parse } from 'graphql';
import { pino } from 'pino';
import { type GraphqlLimits, type Prepared, errorBodyOf, formatError, graphqlErrorRenderer, prepare, rootFieldCount, validationRules } from './execution.js';
import { GatewayRuntime } from './gateway-runtime.js';
import { LiveHub } from './live-hub.js';
import { type GatewayContext, buildSchema } from './resolvers.js';

const LIMITS: GraphqlLimits = { maxDepth: 4, maxCost: 40, introspection: false, maxServiceCalls: 50 };
const schema = buildSchema();
const run = (query: string, limits: Partial<GraphqlLimits> = {}, operationName?: string): Prepared =>
  prepare(schema, validationRules({ ...LIMITS, ...limits }), { query, ...(operationName ? { operationName } : {}) });

/** The errors of a refused request (fails the test when it was accepted). */
function refused(prepared: Prepared): GraphQLError[] {
  if (prepared.ok) throw new Error('the request was accepted');
  return prepared.errors;
}

/** A pino logger that keeps its records (parsed) in an array. */
function recordingLogger() {
  const records: Record<string, unknown>[] = [];
  return { records, logger: pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line)) }) };
}

const AUTH: AuthContext = { orgId: 'org_acme', keyId: 'key_1', scopes: ['sessions:read'] };

describe('prepare: parsing and validating one operation', () => {
  it('given a valid query within the limits, then it answers the document and its operation', () => {
    const prepared = run('query Watch($id: ID!) { session(id: $id) { id sessionStatus visitor { displayName } } }');
    expect(prepared.ok).toBe(true);
    expect(prepared.ok && prepared.operation.operation).toBe('query');
    expect(prepared.ok && prepared.operation.name?.value).toBe('Watch');
  });

  it('given a syntax error, then it is VALIDATION_FAILED (400) at the position of the error', () => {
    const [error, ...more] = refused(run('{ session(id: '));
    expect(more).toEqual([]);
    expect(error?.message).toMatch(/^Syntax Error/);
    expect(error?.extensions).toEqual({ code: 'VALIDATION_FAILED', status: 400 });
    expect(error?.locations).toEqual([{ line: 1, column: 15 }]);
  });

  it('given a document of more than 10,000 tokens, then it is refused before it is built (VALIDATION_FAILED)', () => {
    const [error] = refused(run(`{ ${'__typename '.repeat(10_001)}}`, { maxCost: 1_000_000 }));
    expect(error?.message).toMatch(/more tha[nt] 10000 tokens/);
    expect(error?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
  });

  it('given an unknown field, then it is VALIDATION_FAILED (400) naming the field', () => {
    const [error] = refused(run('{ session(id: "ses_1") { id password } }'));
    expect(error?.message).toBe('Cannot query field "password" on type "Session".');
    expect(error?.extensions).toEqual({ code: 'VALIDATION_FAILED', status: 400 });
  });

  it('given a missing required argument, then it is VALIDATION_FAILED', () => {
    const [error] = refused(run('{ session { id } }'));
    expect(error?.message).toMatch(/argument "id" of type "ID!" is required/);
    expect(error?.extensions).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('given a query deeper than maxDepth, then it is LIMIT_EXCEEDED (400) naming the limit', () => {
    // session > visitor > variables > name: depth 4.
    const deep = '{ session(id: "ses_1") { visitor { variables { name } } } }';
    expect(run(deep, { maxDepth: 4 }).ok).toBe(true);
    const errors = refused(run(deep, { maxDepth: 3 }));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/depth limit of 3 exceeded, found 4/);
    expect(errors[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', status: 400, details: { limit: 'maxDepth', max: 3 } });
  });

  it('given a query that costs more than maxCost, then it is LIMIT_EXCEEDED (400) naming the limit', () => {
    const wide = '{ session(id: "ses_1") { id sessionId orgId channelId visitorId messagesCount startedAt replyStatus sessionStatus } }';
    expect(run(wide, { maxCost: 1000 }).ok).toBe(true);
    const errors = refused(run(wide, { maxCost: 5 }));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/cost limit of 5 exceeded/i);
    expect(errors[0]?.extensions).toMatchObject({ code: 'LIMIT_EXCEEDED', status: 400, details: { limit: 'maxCost', max: 5 } });
  });

  it('given introspection switched off, then __schema and __type are FORBIDDEN, and __typename still answers', () => {
    const schemaErrors = refused(run('{ __schema { types { name } } }', { introspection: false }));
    expect(schemaErrors.length).toBeGreaterThan(0);
    expect(schemaErrors[0]?.message).toMatch(/introspection has been disabled/);
    for (const error of schemaErrors) expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', status: 400, details: { introspection: false } });
    expect(refused(run('{ __type(name: "Session") { name } }', { introspection: false }))[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
    expect(run('{ session(id: "ses_1") { __typename id } }', { introspection: false }).ok).toBe(true);
  });

  it('given introspection switched on, then a deep introspection query is accepted (the limits ignore introspection)', () => {
    expect(run('{ __schema { types { name } } }', { introspection: true }).ok).toBe(true);
    const deepIntrospection = '{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }';
    expect(run(deepIntrospection, { introspection: true, maxDepth: 2, maxCost: 5 }).ok).toBe(true);
  });

  describe('a document with several operations', () => {
    const two = 'query A { session(id: "ses_1") { id } } mutation B { refreshVisitorToken(sessionId: "ses_1") { visitorToken } }';

    it('given no operationName, then it is VALIDATION_FAILED asking for one', () => {
      const [error] = refused(run(two));
      expect(error?.message).toBe('The document holds several operations: name the one to run (operationName)');
      expect(error?.extensions).toEqual({ code: 'VALIDATION_FAILED', status: 400 });
    });

    it('given an operationName, then that operation is prepared', () => {
      const prepared = run(two, {}, 'B');
      expect(prepared.ok && prepared.operation.operation).toBe('mutation');
    });

    it('given an operationName the document does not hold, then it is VALIDATION_FAILED naming it', () => {
      expect(refused(run(two, {}, 'C'))[0]?.message).toBe('No operation named "C" in the document');
    });
  });

  it('given a subscription, then it is prepared (served over graphql-ws)', () => {
    const prepared = run('subscription($id: ID!) { sessionStatusChanged(sessionId: $id) { sessionStatus } }');
    expect(prepared.ok && prepared.operation.operation).toBe('subscription');
  });
});

describe('formatError: what the client sees of an error', () => {
  it('given a service\'s AppError, then its code, status, details and message are kept', () => {
    const { logger, records } = recordingLogger();
    const original = new AppError('NOT_FOUND', 'Session ses_9 not found', { sessionId: 'ses_9' });
    const error = new GraphQLError(original.message, { originalError: original, path: ['session'] });
    expect(formatError(error, logger)).toEqual({ message: 'Session ses_9 not found', path: ['session'], extensions: { code: 'NOT_FOUND', status: 404, details: { sessionId: 'ses_9' } } });
    expect(records).toEqual([]);
  });

  it('given an AppError without details and with its own status, then no details are added and the status is kept', () => {
    const original = new AppError('CONFLICT', 'The session ended', undefined, 409);
    expect(formatError(new GraphQLError(original.message, { originalError: original }), pino({ level: 'silent' })).extensions).toEqual({ code: 'CONFLICT', status: 409 });
  });

  it('given a service error carried in extensions (the service client), then it is passed on as it is', () => {
    const error = new GraphQLError('Org over quota', { extensions: { code: 'RATE_LIMITED', status: 429, details: { retryAfter: 10 }, service: 'variables' } });
    expect(formatError(error, pino({ level: 'silent' }))).toEqual({ message: 'Org over quota', extensions: { code: 'RATE_LIMITED', status: 429, details: { retryAfter: 10 }, service: 'variables' } });
  });

  it('given an error of GraphQL itself (a variable that did not coerce), then it is the request\'s fault: VALIDATION_FAILED', () => {
    const error = new GraphQLError('Variable "$id" of required type "ID!" was not provided.');
    expect(formatError(error, pino({ level: 'silent' }))).toMatchObject({ message: 'Variable "$id" of required type "ID!" was not provided.', extensions: { code: 'VALIDATION_FAILED', status: 400 } });
  });

  it('given an unknown Error (a bug), then the client sees only INTERNAL "Internal error" and the error is logged with its path', () => {
    const { logger, records } = recordingLogger();
    const original = new TypeError("Cannot read properties of undefined (reading 'host') at postgres://admin:secret@db");
    const error = new GraphQLError(original.message, { originalError: original, path: ['session', 'visitor'] });
    const formatted = formatError(error, logger);
    expect(formatted).toEqual({ message: 'Internal error', path: ['session', 'visitor'], extensions: { code: 'INTERNAL', status: 500 } });
    expect(JSON.stringify(formatted)).not.toContain('secret');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 50, msg: 'resolver failed', path: ['session', 'visitor'], err: { type: 'TypeError', message: original.message } });
  });

  it('given a resolver that fails with an unknown Error during execution, then the formatted answer keeps the location and path, not the message', async () => {
    const { logger, records } = recordingLogger();
    const context = {
      auth: AUTH,
      logger,
      loaders: { sessions: { load: async () => Promise.reject(new Error('socket hang up')) } },
    } as unknown as GatewayContext;
    const { document } = run('{ session(id: "ses_1") { id } }') as Extract<Prepared, { ok: true }>;
    const result = await execute({ schema, document, contextValue: context });
    expect(result.data).toEqual({ session: null });
    expect(result.errors?.map((e) => formatError(e, logger))).toEqual([
      { message: 'Internal error', locations: [{ line: 1, column: 3 }], path: ['session'], extensions: { code: 'INTERNAL', status: 500 } },
    ]);
    expect(records).toEqual([expect.objectContaining({ msg: 'resolver failed', err: expect.objectContaining({ message: 'socket hang up' }) })]);
  });

  it('given a resolver that fails with an AppError during execution, then the client sees the service\'s code', async () => {
    const context = {
      auth: AUTH,
      loaders: { sessions: { load: async () => Promise.reject(new AppError('FORBIDDEN', 'Not your session')) } },
    } as unknown as GatewayContext;
    const { document } = run('{ session(id: "ses_1") { id } }') as Extract<Prepared, { ok: true }>;
    const result = await execute({ schema, document, contextValue: context });
    expect(result.errors?.map((e) => formatError(e, pino({ level: 'silent' })))).toEqual([
      { message: 'Not your session', locations: [{ line: 1, column: 3 }], path: ['session'], extensions: { code: 'FORBIDDEN', status: 403 } },
    ]);
  });
});

describe('errorBodyOf: the contract\'s error body beside `errors`', () => {
  it('given one error with a code, then the body is { error: { code, message } }', () => {
    expect(errorBodyOf([{ message: 'Cannot query field "password" on type "Session".', extensions: { code: 'VALIDATION_FAILED', status: 400 } }])).toEqual({
      error: { code: 'VALIDATION_FAILED', message: 'Cannot query field "password" on type "Session".' },
    });
  });

  it('given one error with details, then they are the body\'s details (a limit\'s { limit, max }, as the services give them)', () => {
    const errors: GraphQLFormattedError[] = [{ message: 'Query depth limit of 3 exceeded, found 4.', extensions: { code: 'LIMIT_EXCEEDED', status: 400, details: { limit: 'maxDepth', max: 3 } } }];
    expect(errorBodyOf(errors)).toEqual({ error: { code: 'LIMIT_EXCEEDED', message: 'Query depth limit of 3 exceeded, found 4.', details: { limit: 'maxDepth', max: 3 } } });
  });

  it('given several errors, then the first names the body and all are in its details', () => {
    const errors: GraphQLFormattedError[] = [
      { message: 'first', extensions: { code: 'FORBIDDEN', status: 400 } },
      { message: 'second', extensions: { code: 'FORBIDDEN', status: 400 } },
    ];
    expect(errorBodyOf(errors)).toEqual({ error: { code: 'FORBIDDEN', message: 'first', details: { errors } } });
  });

  it('given an error without a known code, or none at all, then it is VALIDATION_FAILED', () => {
    expect(errorBodyOf([{ message: 'odd', extensions: { code: 'GRAPHQL_PARSE_FAILED' } }]).error.code).toBe('VALIDATION_FAILED');
    expect(errorBodyOf([])).toEqual({ error: { code: 'VALIDATION_FAILED', message: 'Bad GraphQL request' } });
  });
});

describe('graphqlErrorRenderer: requests refused before GraphQL runs', () => {
  it('serves /graphql and keeps the contract body, adding the same error in GraphQL\'s errors', () => {
    expect(graphqlErrorRenderer.prefix).toBe('/graphql');
    expect(graphqlErrorRenderer.render(401, { error: { code: 'UNAUTHENTICATED', message: 'x' } })).toEqual({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED', message: 'x' }, errors: [{ message: 'x', extensions: { code: 'UNAUTHENTICATED', status: 401 } }] },
    });
  });

  it('given details, then they are in the extensions too', () => {
    const { body } = graphqlErrorRenderer.render(429, { error: { code: 'RATE_LIMITED', message: 'over quota', details: { retryAfter: 30 } } }) as {
      body: { errors: GraphQLFormattedError[] };
    };
    expect(body.errors[0]?.extensions).toEqual({ code: 'RATE_LIMITED', status: 429, details: { retryAfter: 30 } });
  });
});

describe('GatewayRuntime.executeHttp: requests it refuses before any service is called', () => {
  const noBus = new Proxy({} as MessageBus, {
    get: (_target, property) => () => {
      throw new Error(`the bus was used (${String(property)})`);
    },
  });
  // Nothing listens there: a refused request never calls a service.
  const urls = { identity: 'http://127.0.0.1:9/', sessions: 'http://127.0.0.1:9/', variables: 'http://127.0.0.1:9/' };
  const { logger, records } = recordingLogger();
  const runtime = new GatewayRuntime({ urls, limits: { maxDepth: 3, maxCost: 1000, introspection: false, maxServiceCalls: 3 }, hub: new LiveHub(noBus, pino({ level: 'silent' })), logger });
  afterEach(() => expect(records).toEqual([]));

  it('given a mutation of more top-level fields than maxServiceCalls, then 400 LIMIT_EXCEEDED before any write (no service is called)', async () => {
    const mutation = `mutation { ${Array.from({ length: 4 }, (_, i) => `e${i}: endSession(sessionId: "s${i}", reason: closed) { sessionStatus }`).join(' ')} }`;
    const answer = await runtime.executeHttp({ query: mutation }, AUTH, 'svp_key');
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions).toEqual({ code: 'LIMIT_EXCEEDED', status: 400, details: { limit: 'maxServiceCalls', max: 3 } });
  });

  it('given an unknown field, then 400 with errors and the contract body', async () => {
    const answer = await runtime.executeHttp({ query: '{ nope }' }, AUTH, 'svp_key');
    expect(answer).toEqual({
      status: 400,
      body: { errors: [expect.objectContaining({ message: 'Cannot query field "nope" on type "Query".', extensions: { code: 'VALIDATION_FAILED', status: 400 } })], error: { code: 'VALIDATION_FAILED', message: 'Cannot query field "nope" on type "Query".' } },
    });
  });

  it('given a query over the depth limit, then 400 LIMIT_EXCEEDED (not a 500)', async () => {
    const answer = await runtime.executeHttp({ query: '{ session(id: "ses_1") { visitor { variables { name } } } }' }, AUTH, 'svp_key');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { limit: 'maxDepth', max: 3 } });
  });

  it('given a subscription over HTTP, then 400 pointing to graphql-ws', async () => {
    const answer = await runtime.executeHttp({ query: 'subscription { sessionStatusChanged(sessionId: "ses_1") { sessionStatus } }' }, AUTH, 'svp_key');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toEqual({ code: 'VALIDATION_FAILED', message: 'Subscriptions are served over graphql-ws at /graphql (a WebSocket), not over HTTP POST' });
  });

  it('given variables that do not fit the operation (no data at all), then 400 VALIDATION_FAILED', async () => {
    const answer = await runtime.executeHttp({ query: 'query($id: ID!) { session(id: $id) { id } }', variables: {} }, AUTH, 'svp_key');
    expect(answer.status).toBe(400);
    expect(answer.body).not.toHaveProperty('data');
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'Variable "$id" of required type "ID!" was not provided.' });
  });

  it('given a variable of the wrong type (rejected by a built-in scalar), then 400 VALIDATION_FAILED, not a logged INTERNAL', async () => {
    const answer = await runtime.executeHttp({ query: 'query($id: ID!) { session(id: $id) { id } }', variables: { id: { nested: true } } }, AUTH, 'svp_key');
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^Variable "\$id" got invalid value/), extensions: { code: 'VALIDATION_FAILED', status: 400 } })]);
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('rootFieldCount: the top-level fields an operation runs', () => {
  const countOf = (query: string) => {
    const document = parse(query);
    return rootFieldCount(document, getOperationAST(document)!);
  };
  it('given fields, aliases, fragments (nested, repeated) and __typename, then each field run counts once and __typename not at all', () => {
    expect(countOf('mutation { a: endSession(sessionId: "1", reason: closed) { sessionStatus } b: endSession(sessionId: "2", reason: closed) { sessionStatus } __typename }')).toBe(2);
    expect(
      countOf('mutation { ...Two ... on Mutation { c: endSession(sessionId: "3", reason: closed) { sessionStatus } } } fragment Two on Mutation { a: endSession(sessionId: "1", reason: closed) { sessionStatus } ...One } fragment One on Mutation { b: endSession(sessionId: "2", reason: closed) { sessionStatus } }'),
    ).toBe(3);
  });
});
