import { randomUUID } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import { type AddressInfo, connect as connectSocket } from 'node:net';
import { type IntrospectApiKeyResponse, SessionStatusChangedV1, SessionVariablesChangedV1, type SessionView } from '@svp/contracts';
import type { MessageBus } from '@svp/messaging';
import { OrgMeter } from '@svp/service-kit';
import { eventually } from '@svp/testing';
import { type Client, createClient } from 'graphql-ws';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { GatewayRuntime } from './gateway-runtime.js';
import { graphqlWsAttachment } from './graphql-ws-server.js';
import { LiveHub } from './live-hub.js';

/**
 * The graphql-ws endpoint on a real HTTP server and real sockets: who may connect, the limits of a
 * socket, a credential that stops being valid, and shutdown. The services behind it are one small
 * HTTP server answering the sessions batch read; the live events are dispatched to the hub directly
 * (the hub's Kafka side is tested with the platform).
 */
const ORG = 'org_ws';
const AT = '2026-12-02T10:00:00.000Z';
const session = (sessionId: string): SessionView => ({
  sessionId,
  orgId: ORG,
  channelId: 'web',
  visitorId: 'v_1',
  sessionStatus: 'CREATED',
  sessionOldStatus: null,
  replyStatus: 'UNASSIGNED',
  currentAssigneeId: null,
  assigneeType: null,
  messagesCount: 0,
  startedAt: AT,
});

describe('graphql-ws server (graphqlWsAttachment)', () => {
  const keys = new Map<string, IntrospectApiKeyResponse>();
  const introspector = { introspect: async (token: string) => keys.get(token) ?? ({ active: false } as const) };
  const noBus = new Proxy({} as MessageBus, {
    get: (_target, property) => () => {
      throw new Error(`the bus was used (${String(property)})`);
    },
  });
  const hub = new LiveHub(noBus, pino({ level: 'silent' }), undefined, 'gateway-ws-test');
  let services: Server;
  let gateway: Server;
  let url: string;
  let attachment: { close(): Promise<void> } | undefined;
  let gatewayOpen = true;
  const clients: Client[] = [];

  const listen = (server: Server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));

  beforeAll(async () => {
    services = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.method === 'POST' && req.url === '/internal/v1/sessions/batch') {
          const { sessionIds } = JSON.parse(body) as { sessionIds: string[] };
          res.end(JSON.stringify({ sessions: sessionIds.map((id) => (id.startsWith('ses_') ? session(id) : null)) }));
        } else {
          res.statusCode = 404;
          res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'not here' } }));
        }
      });
    });
    const servicesUrl = `http://${await listen(services)}`;
    const runtime = new GatewayRuntime({
      urls: { identity: servicesUrl, sessions: servicesUrl, variables: servicesUrl },
      limits: { maxDepth: 8, maxCost: 5000, introspection: false, maxServiceCalls: 50 },
      hub,
      logger: pino({ level: 'silent' }),
    });
    gateway = createServer((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    attachment = graphqlWsAttachment({
      runtime,
      introspector,
      meter: new OrgMeter({ service: 'gateway', defaultRequestsPerMinute: 10_000 }),
      allowedOrigins: ['https://shop.example'],
      maxOperationsPerSocket: 2,
      recheckMs: 100,
    })(gateway);
    url = `ws://${await listen(gateway)}/graphql`;
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await attachment?.close();
    if (gatewayOpen) await new Promise((resolve) => gateway.close(resolve));
    await new Promise((resolve) => services.close(resolve));
  });

  const key = (scopes: ('sessions:read' | 'variables:read')[] = ['sessions:read', 'variables:read']) => {
    const token = `svp_${randomUUID()}`;
    keys.set(token, { active: true, orgId: ORG, keyId: `key_${randomUUID()}`, scopes });
    return token;
  };

  const connect = (authorization: string | undefined, options: { origin?: string; retryAttempts?: number } = {}) => {
    const closes: number[] = [];
    const client = createClient({
      url,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, options.origin ? { origin: options.origin } : {});
        }
      },
      connectionParams: authorization === undefined ? {} : { Authorization: authorization },
      retryAttempts: options.retryAttempts ?? 0,
      retryWait: async () => undefined,
      shouldRetry: () => true,
      on: { closed: (event) => void closes.push((event as { code: number }).code) },
    });
    clients.push(client);
    const subscribe = (sessionId: string, query = 'subscription($s: ID!) { sessionStatusChanged(sessionId: $s) { sessionId sessionStatus } }') => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const events: any[] = [];
      const errors: unknown[] = [];
      const state = { completed: false };
      client.subscribe(
        { query, variables: { s: sessionId } },
        { next: (value) => void events.push(value), error: (error) => void errors.push(error), complete: () => void (state.completed = true) },
      );
      return { events, errors, state };
    };
    return { client, closes, subscribe };
  };

  const statusChanged = (sessionId: string, sessionStatus = 'OPEN') => {
    const event = {
      eventId: randomUUID(),
      type: 'SessionStatusChanged',
      version: 1,
      occurredAt: AT,
      orgId: ORG,
      correlationId: 'corr_1',
      data: {
        currentAssigneeId: null,
        sessionStatus,
        replyStatus: 'UNASSIGNED',
        sessionOldStatus: 'CREATED',
        sessionId,
        messagesCount: 0,
        assigneeType: null,
        channelId: 'web',
        eventTime: AT,
        eventType: 'IM_Session_Status',
        orgId: ORG,
      },
    };
    SessionStatusChangedV1.parse(event);
    hub.dispatch({ value: JSON.stringify(event) });
  };

  const upgrade = async (path: string, origin?: string) => {
    const socket = new WebSocket(url.replace('/graphql', path), 'graphql-transport-ws', origin ? { origin } : {});
    return new Promise<number | string>((resolve) => {
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => {
        socket.close();
        resolve('open');
      });
      socket.on('error', (error) => resolve(error.message));
    });
  };

  it('streams a session\'s status changes to a connection with a valid key', async () => {
    const { subscribe } = connect(`Bearer ${key()}`);
    const sub = subscribe('ses_live');
    // The subscription is registered once the session is read; then a change reaches it.
    await eventually(async () => {
      statusChanged('ses_live');
      return sub.events.length > 0 ? true : undefined;
    }, 'the status change', 5000);
    expect(sub.events[0]).toEqual({ data: { sessionStatusChanged: { sessionId: 'ses_live', sessionStatus: 'OPEN' } } });
  });

  it('refuses variablesChanged to a key without variables:read, even without includeCurrent (no read that would fail): no value is streamed', async () => {
    const { subscribe } = connect(`Bearer ${key(['sessions:read'])}`);
    const sub = subscribe('ses_values', 'subscription($s: ID!) { variablesChanged(sessionId: $s) { kind changes { name value } } }');
    await eventually(async () => (sub.events.length > 0 || sub.errors.length > 0 ? true : undefined), 'the refusal', 5000);
    const event = {
      eventId: randomUUID(),
      type: 'SessionVariablesChanged',
      version: 1,
      occurredAt: AT,
      orgId: ORG,
      correlationId: 'corr_1',
      data: { sessionId: 'ses_values', changes: [{ name: 'cardNumber', value: '4111', source: 'api', verified: false, version: 1 }], setBy: 'key_1' },
    };
    SessionVariablesChangedV1.parse(event);
    hub.dispatch({ value: JSON.stringify(event) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sub.events).toHaveLength(1);
    expect(sub.events[0].data ?? null).toBeNull();
    expect(sub.events[0].errors[0].extensions).toMatchObject({ code: 'FORBIDDEN', details: { missing: ['variables:read'] } });
    expect(JSON.stringify(sub.events)).not.toContain('4111');
    expect(sub.state.completed).toBe(true);
  });

  it('closes 4401 a connection without a credential or with an unknown one', async () => {
    for (const authorization of [undefined, 'Bearer svp_unknown']) {
      const { closes, subscribe } = connect(authorization);
      subscribe('ses_1');
      await eventually(async () => (closes.length > 0 ? true : undefined), 'the close', 5000);
      expect(closes[0]).toBe(4401);
    }
  });

  it('refuses upgrades from pages of other origins (403) and on other paths (404); a client without Origin is not held to it', async () => {
    expect(await upgrade('/graphql', 'https://evil.example')).toBe(403);
    expect(await upgrade('/elsewhere')).toBe(404);
    expect(await upgrade('/graphql', 'https://shop.example')).toBe('open');
    expect(await upgrade('/graphql')).toBe('open');
  });

  it('runs at most maxOperationsPerSocket operations on one socket: the next gets LIMIT_EXCEEDED', async () => {
    const { subscribe } = connect(`Bearer ${key()}`);
    const first = subscribe('ses_a');
    const second = subscribe('ses_b');
    const third = subscribe('ses_c');
    await eventually(async () => (third.errors.length > 0 ? true : undefined), 'the refusal of the third', 5000);
    expect(JSON.stringify(third.errors[0])).toContain('LIMIT_EXCEEDED');
    expect(JSON.stringify(third.errors[0])).toContain('maxOperationsPerSocket');
    expect([first.errors, second.errors]).toEqual([[], []]);
  });

  it('closes 4403 a socket whose key is revoked while it is open', async () => {
    const token = key();
    const { closes, subscribe } = connect(`Bearer ${token}`);
    const sub = subscribe('ses_revoked');
    await eventually(async () => {
      statusChanged('ses_revoked');
      return sub.events.length > 0 ? true : undefined;
    }, 'the first event', 5000);
    keys.set(token, { active: false });
    await eventually(async () => (closes.length > 0 ? true : undefined), 'the close of the revoked key\'s socket', 5000);
    expect(closes[0]).toBe(4403);
  });

  it('shuts down promptly: open sockets are closed 1001, a client reconnecting at once is refused 503, a half-open refused socket holds nothing', async () => {
    const { client, closes, subscribe } = connect(`Bearer ${key()}`, { retryAttempts: 1 });
    const sub = subscribe('ses_shutdown');
    await eventually(async () => {
      statusChanged('ses_shutdown');
      return sub.events.length > 0 ? true : undefined;
    }, 'the first event', 5000);
    // A client that keeps its side open after a refused upgrade (half-open) must not hold the server.
    const halfOpen = connectSocket({ host: '127.0.0.1', port: Number(new URL(url).port), allowHalfOpen: true });
    const refusedAnswer = new Promise<string>((resolve) => halfOpen.once('data', (chunk) => resolve(String(chunk))));
    halfOpen.write('GET /elsewhere HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    expect(await refusedAnswer).toMatch(/^HTTP\/1.1 404/);
    const began = Date.now();
    await attachment!.close();
    attachment = undefined;
    expect(Date.now() - began).toBeLessThan(3000);
    expect(closes[0]).toBe(1001);
    // The client tried again at once and was refused; so is any new upgrade while the server closes.
    await eventually(async () => (sub.errors.length > 0 ? true : undefined), 'the client giving up', 5000);
    expect(await upgrade('/graphql')).toBe(503);
    await client.dispose();
    clients.splice(clients.indexOf(client), 1);
    // Nothing is left holding the HTTP server open.
    await new Promise((resolve) => gateway.close(resolve));
    gatewayOpen = false;
    halfOpen.destroy();
  });
});
