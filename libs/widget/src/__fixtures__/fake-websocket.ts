// A WebSocket in memory that plays the gateway's side of graphql-ws (graphql-transport-ws): it opens
// on the next microtask, acknowledges connection_init, and records every message the client sends,
// so a test can see the connection_init payload and the subscriptions, and push events back.

interface Message {
  type: string;
  id?: string;
  payload?: unknown;
}

export class FakeWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  /** Every socket opened, oldest first. */
  static readonly sockets: FakeWebSocket[] = [];

  readyState = FakeWebSocket.CONNECTING;
  readonly sent: Message[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocol: string,
  ) {
    FakeWebSocket.sockets.push(this);
    void Promise.resolve().then(() => {
      this.readyState = FakeWebSocket.OPEN;
      this.onopen?.();
    });
  }

  static reset(): void {
    FakeWebSocket.sockets.length = 0;
  }

  send(data: string): void {
    const message = JSON.parse(data) as Message;
    this.sent.push(message);
    if (message.type === 'connection_init') this.push({ type: 'connection_ack' });
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === FakeWebSocket.CLOSED) return;
    this.readyState = FakeWebSocket.CLOSED;
    void Promise.resolve().then(() => this.onclose?.({ code, reason }));
  }

  /** What the server sends. */
  push(message: Message): void {
    void Promise.resolve().then(() => this.onmessage?.({ data: JSON.stringify(message) }));
  }

  /** The subscribe messages the client sent, as `{ id, query, variables }`. */
  subscriptions(): { id: string; query: string; variables: Record<string, unknown> }[] {
    return this.sent
      .filter((m) => m.type === 'subscribe')
      .map((m) => ({ id: m.id!, ...(m.payload as { query: string; variables: Record<string, unknown> }) }));
  }

  /** The payload of the connection_init the client sent. */
  connectionInit(): unknown {
    return this.sent.find((m) => m.type === 'connection_init')?.payload;
  }
}
