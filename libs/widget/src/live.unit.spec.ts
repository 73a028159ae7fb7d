import { jest } from '@jest/globals';
import { FakeGateway, MemoryStorage, WIDGET_KEY } from './__fixtures__/fake-gateway.js';
import { FakeWebSocket } from './__fixtures__/fake-websocket.js';
import type { WidgetError } from './errors.js';
import type { SessionStatusEvent, VariablesChangedEvent } from './types.js';
import { type Widget, init } from './widget.js';

const T0 = new Date('2026-12-02T10:00:00.000Z');
let gateway: FakeGateway;
let storage: MemoryStorage;
let widget: Widget;

/** Lets the fake socket and graphql-ws exchange their messages (promises and zero-delay timers). */
const settle = () => jest.advanceTimersByTimeAsync(0);
const token = () => (storage.json('svp-widget:web') as { visitorToken: string }).visitorToken;

beforeEach(async () => {
  jest.useFakeTimers({ now: T0 });
  FakeWebSocket.reset();
  gateway = new FakeGateway();
  storage = new MemoryStorage();
  widget = await init({ apiUrl: 'http://gateway.test', widgetKey: WIDGET_KEY, channelId: 'web', storage, fetch: gateway.fetch, webSocketImpl: FakeWebSocket });
});

afterEach(() => {
  widget.close();
  jest.useRealTimers();
});

const statusEvent = (sessionStatus: string): SessionStatusEvent =>
  ({
    eventId: 'evt_1',
    sessionId: widget.sessionId,
    orgId: 'org_1',
    sessionStatus,
    sessionOldStatus: 'CREATED',
    replyStatus: 'ACCEPTED',
    currentAssigneeId: 'agent_1',
    assigneeType: 'AGENT',
    messagesCount: 1,
    channelId: 'web',
    eventTime: T0.toISOString(),
    eventType: 'IM_Session_Status',
  }) as SessionStatusEvent;

describe('live events', () => {
  it('given no listener, then no socket is opened', async () => {
    await settle();
    expect(FakeWebSocket.sockets).toHaveLength(0);
  });

  it('given the first statusChanged listener, then one socket opens on /graphql with the visitor token in connection_init, subscribes, and delivers the events', async () => {
    const events: SessionStatusEvent[] = [];
    widget.on('statusChanged', (event) => events.push(event));
    await settle();

    expect(FakeWebSocket.sockets).toHaveLength(1);
    const [socket] = FakeWebSocket.sockets;
    expect(socket!.url).toBe('ws://gateway.test/graphql');
    expect(socket!.protocol).toBe('graphql-transport-ws');
    expect(socket!.connectionInit()).toEqual({ Authorization: `Bearer ${token()}` });
    const [subscription] = socket!.subscriptions();
    // The current state first (and again after a reconnect, as graphql-ws subscribes again): nothing missed stays unseen.
    expect(subscription!.query).toContain('sessionStatusChanged(sessionId: $sessionId, includeCurrent: true)');
    expect(subscription!.variables).toEqual({ sessionId: widget.sessionId });

    socket!.push({ type: 'next', id: subscription!.id, payload: { data: { sessionStatusChanged: statusEvent('OPEN') } } });
    await settle();
    expect(events).toEqual([statusEvent('OPEN')]);
  });

  it('given listeners of both kinds, then they share one socket; removing one listener of a kind keeps its subscription until the last goes', async () => {
    const variables: VariablesChangedEvent[] = [];
    const offA = widget.on('variablesChanged', (event) => variables.push(event));
    const offB = widget.on('variablesChanged', () => undefined);
    const offStatus = widget.on('statusChanged', () => undefined);
    await settle();

    expect(FakeWebSocket.sockets).toHaveLength(1);
    const [socket] = FakeWebSocket.sockets;
    expect(socket!.subscriptions().map((s) => s.query.match(/subscription (\w+)/)![1])).toEqual(['VariablesChanged', 'SessionStatusChanged']);

    offA();
    await settle();
    expect(socket!.sent.filter((m) => m.type === 'complete')).toHaveLength(0);

    offB();
    await settle();
    const variablesId = socket!.subscriptions()[0]!.id;
    expect(socket!.sent.filter((m) => m.type === 'complete').map((m) => m.id)).toEqual([variablesId]);
    expect(socket!.readyState).toBe(FakeWebSocket.OPEN);

    offStatus();
    await settle();
    expect(socket!.readyState).toBe(FakeWebSocket.CLOSED);
  });

  it('given the token was refreshed, then the next connection carries the new token (connectionParams is read at each connect)', async () => {
    const off = widget.on('statusChanged', () => undefined);
    await settle();
    const first = token();
    off();
    await settle();

    await jest.advanceTimersByTimeAsync(10 * 60_000);
    expect(gateway.callsOf('RefreshVisitorToken')).toHaveLength(1);
    const second = token();
    expect(second).not.toBe(first);

    widget.on('variablesChanged', () => undefined);
    await settle();

    expect(FakeWebSocket.sockets.map((s) => s.connectionInit())).toEqual([{ Authorization: `Bearer ${first}` }, { Authorization: `Bearer ${second}` }]);
  });

  it('given the gateway refuses the subscription, then the error listeners get a WidgetError, and a later on() subscribes again', async () => {
    const errors: WidgetError[] = [];
    widget.on('error', (error) => errors.push(error));
    widget.on('statusChanged', () => undefined);
    await settle();
    const [socket] = FakeWebSocket.sockets;
    const [subscription] = socket!.subscriptions();

    socket!.push({ type: 'error', id: subscription!.id, payload: [{ message: 'Not your session', extensions: { code: 'FORBIDDEN', status: 403 } }] });
    await settle();
    expect(errors.map((e) => [e.name, e.code, e.status])).toEqual([['WidgetError', 'FORBIDDEN', 403]]);

    widget.on('statusChanged', () => undefined);
    await settle();
    const again = FakeWebSocket.sockets.flatMap((s) => s.subscriptions());
    expect(again).toHaveLength(2);
  });

  it('given the gateway ends a subscription the page fell behind on (LIMIT_EXCEEDED subscriptionQueue), then it is reported and opened again at once, with the current state first', async () => {
    const errors: WidgetError[] = [];
    const events: SessionStatusEvent[] = [];
    widget.on('error', (error) => errors.push(error));
    widget.on('statusChanged', (event) => events.push(event));
    await settle();
    const [socket] = FakeWebSocket.sockets;
    const [subscription] = socket!.subscriptions();

    socket!.push({
      type: 'next',
      id: subscription!.id,
      payload: { data: null, errors: [{ message: 'fell 501 events behind', extensions: { code: 'LIMIT_EXCEEDED', status: 429, details: { limit: 'subscriptionQueue', dropped: 501 } } }] },
    });
    socket!.push({ type: 'complete', id: subscription!.id });
    await settle();
    expect(errors.map((e) => [e.code, (e.details as { limit: string }).limit])).toEqual([['LIMIT_EXCEEDED', 'subscriptionQueue']]);
    const subscriptions = FakeWebSocket.sockets.flatMap((s) => s.subscriptions());
    expect(subscriptions).toHaveLength(2);
    expect(subscriptions[1]!.query).toContain('includeCurrent: true');

    const current = FakeWebSocket.sockets.at(-1)!;
    current.push({ type: 'next', id: subscriptions[1]!.id, payload: { data: { sessionStatusChanged: { ...statusEvent('ON_PROGRESS'), eventId: null } } } });
    await settle();
    expect(events.map((e) => [e.sessionStatus, e.eventId])).toEqual([['ON_PROGRESS', null]]);
  });

  it('given another end (the server completes it), then it is not opened again by itself', async () => {
    widget.on('statusChanged', () => undefined);
    await settle();
    const [socket] = FakeWebSocket.sockets;
    const [subscription] = socket!.subscriptions();
    socket!.push({ type: 'complete', id: subscription!.id });
    await settle();
    expect(FakeWebSocket.sockets.flatMap((s) => s.subscriptions())).toHaveLength(1);
  });

  it('given close(), then the socket closes and on() is refused', async () => {
    widget.on('statusChanged', () => undefined);
    await settle();
    widget.close();
    await settle();

    expect(FakeWebSocket.sockets[0]!.readyState).toBe(FakeWebSocket.CLOSED);
    expect(() => widget.on('statusChanged', () => undefined)).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});
