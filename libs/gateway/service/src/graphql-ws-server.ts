import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApiKeyIntrospector, AuthContext, OrgMeter } from '@svp/service-kit';
import { bearerToken } from '@svp/service-kit';
import { GraphQLError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { GraphqlRequest } from '@svp/contracts';
import { formatError } from './execution.js';
import type { GatewayRuntime } from './gateway-runtime.js';

export interface GraphqlWsOptions {
  runtime: GatewayRuntime;
  introspector: ApiKeyIntrospector;
  meter: OrgMeter;
  /** How often every connection's credential is checked again (a revoked key, an expired visitor token). */
  recheckMs?: number;
  /** The path upgrades are accepted on. */
  path?: string;
  /** The most operations one socket may run at once (a console watching many sessions stays far below). */
  maxOperationsPerSocket?: number;
  /** Pages of these origins may open a socket (GATEWAY_CORS_ORIGINS; `*` any). A client that sends no Origin (not a browser) is not held to it. */
  allowedOrigins?: readonly string[];
}

interface Connection {
  auth: AuthContext;
  token: string;
  socket: WebSocket;
}

/** Answers an upgrade with a plain HTTP response and lets the socket go once it is sent (as ws does): a half-open socket would hold the server open. */
function refuse(socket: Duplex, response: string): void {
  socket.once('finish', () => socket.destroy());
  socket.end(response);
}

const error = (message: string, code: string, status: number, details?: unknown) =>
  new GraphQLError(message, { extensions: { code, status, ...(details !== undefined ? { details } : {}) } });

/**
 * GraphQL over graphql-ws at /graphql, on the gateway's own HTTP server. The `connection_init`
 * payload carries `{ "Authorization": "Bearer <org API key or visitor token>" }`: checked like any
 * request (identity's introspection) and metered per org, as is every operation started on the
 * socket. A connection whose credential stops being valid (the key revoked, the visitor token
 * expired) is closed with 4403 within `recheckMs`; the client reconnects with a fresh one.
 */
export function graphqlWsAttachment(options: GraphqlWsOptions): (server: Server) => { close(): Promise<void> } {
  const { runtime, introspector, meter } = options;
  const path = options.path ?? '/graphql';
  return (server) => {
    const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
    const connections = new Set<Connection>();
    let closing = false;
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      // From the moment shutdown begins (clients reconnect at once on 1001) an upgrade is refused with
      // a 503 and the contract's body, so the client tries another instance.
      if (closing) {
        refuse(socket, 'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":{"code":"SERVICE_UNAVAILABLE","message":"The gateway is shutting down"}}');
        return;
      }
      let pathname: string;
      try {
        pathname = new URL(request.url ?? '/', 'http://gateway').pathname;
      } catch {
        pathname = '';
      }
      if (pathname !== path) {
        refuse(socket, 'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":{"code":"NOT_FOUND","message":"WebSockets are served at /graphql only"}}');
        return;
      }
      // Browsers send their page's origin: the same list as CORS decides which pages may connect.
      const origin = request.headers.origin;
      const origins = options.allowedOrigins ?? ['*'];
      if (origin && !origins.includes('*') && !origins.includes(origin)) {
        refuse(socket, 
          'HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"error":{"code":"FORBIDDEN","message":"This origin may not open a socket here (GATEWAY_CORS_ORIGINS)"}}',
        );
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    };
    server.on('upgrade', onUpgrade);

    const metered = (auth: AuthContext) => meter.hit(auth.orgId, auth.requestsPerMinute).allowed;

    const disposable = useServer<Record<string, unknown> | undefined, { connection: Connection }>(
      {
        connectionInitWaitTimeout: 10_000,
        onConnect: async (ctx) => {
          const raw = ctx.connectionParams?.Authorization ?? ctx.connectionParams?.authorization;
          const token = bearerToken(typeof raw === 'string' ? raw : undefined);
          if (!token) {
            ctx.extra.socket.close(CloseCode.Unauthorized, 'connection_init must carry { "Authorization": "Bearer <org API key or visitor token>" }');
            return false;
          }
          const answer = await introspector.introspect(token);
          if (!answer.active) {
            ctx.extra.socket.close(CloseCode.Unauthorized, 'Unknown, revoked or expired credential');
            return false;
          }
          const auth: AuthContext = {
            orgId: answer.orgId,
            keyId: answer.keyId,
            scopes: answer.scopes,
            ...(answer.requestsPerMinute !== undefined ? { requestsPerMinute: answer.requestsPerMinute } : {}),
            ...(answer.visitor ? { visitor: answer.visitor } : {}),
          };
          if (!metered(auth)) {
            ctx.extra.socket.close(4429, `Org ${auth.orgId} is over its request quota`);
            return false;
          }
          const connection: Connection = { auth, token, socket: ctx.extra.socket };
          (ctx.extra as { connection?: Connection }).connection = connection;
          connections.add(connection);
          return true;
        },
        onClose: (ctx) => {
          const connection = (ctx.extra as { connection?: Connection }).connection;
          if (connection) connections.delete(connection);
        },
        onSubscribe: (ctx, _id, payload) => {
          const connection = (ctx.extra as { connection?: Connection }).connection;
          if (!connection) return [error('Not authenticated', 'UNAUTHENTICATED', 401)];
          // graphql-ws has already registered this one.
          const maxOperations = options.maxOperationsPerSocket ?? 100;
          if (Object.keys(ctx.subscriptions).length > maxOperations)
            return [error(`A socket runs at most ${maxOperations} operations at once`, 'LIMIT_EXCEEDED', 400, { limit: 'maxOperationsPerSocket', max: maxOperations })];
          if (!metered(connection.auth)) {
            runtime.countOperation('unknown', 'refused');
            return [error(`Org ${connection.auth.orgId} is over its request quota`, 'RATE_LIMITED', 429)];
          }
          const request = GraphqlRequest.safeParse(payload);
          if (!request.success) return [error('A subscribe message holds { query, variables?, operationName? }', 'VALIDATION_FAILED', 400, { issues: request.error.issues })];
          const prepared = runtime.prepare(request.data);
          if (!prepared.ok) {
            runtime.countOperation('unknown', 'refused');
            return prepared.errors;
          }
          runtime.countOperation(prepared.operation.operation, 'ok');
          return {
            schema: runtime.schema,
            document: prepared.document,
            variableValues: request.data.variables ?? undefined,
            operationName: request.data.operationName ?? undefined,
            contextValue: runtime.context(connection.auth, connection.token, undefined, { budgeted: prepared.operation.operation !== 'subscription' }),
          };
        },
        onNext: (_ctx, _id, _payload, _args, result) => runtime.formatResult(result),
        onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e, runtime.logger)),
      },
      wss,
      12_000,
    );

    // Credentials are checked again while connections last: revoked keys and expired visitor tokens lose their socket.
    const recheck = setInterval(() => {
      for (const connection of connections)
        void introspector
          .introspect(connection.token)
          .then((answer) => {
            if (!answer.active && connections.has(connection)) {
              connections.delete(connection);
              connection.socket.close(CloseCode.Forbidden, 'The credential is no longer valid: reconnect with a fresh one');
            }
          })
          .catch(() => undefined);
    }, options.recheckMs ?? 30_000);
    recheck.unref();

    return {
      close: async () => {
        closing = true;
        clearInterval(recheck);
        for (const client of wss.clients) client.close(1001, 'The gateway is shutting down');
        // A client that does not answer the close handshake within a second is cut off.
        const cutOff = setTimeout(() => {
          for (const client of wss.clients) client.terminate();
        }, 1000);
        await disposable.dispose();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        clearTimeout(cutOff);
        for (const client of wss.clients) client.terminate();
      },
    };
  };
}
