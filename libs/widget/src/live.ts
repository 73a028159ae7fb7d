import { type Client, createClient } from 'graphql-ws';
import { WidgetError, toWidgetError } from './errors.js';

/** How many times in a row the socket is reopened after an abnormal close before the error is reported. */
const RETRY_ATTEMPTS = 30;
/** The longest wait between two reconnects. */
const MAX_RETRY_WAIT_MS = 30_000;

/**
 * The live subscriptions: one graphql-ws client, created on the first subscription, lazy (the socket
 * opens with the first subscription and closes after the last), reconnecting with a capped
 * exponential backoff. `connection_init` carries `{ Authorization: "Bearer <token>" }` read at each
 * connect, so a reconnect after a token refresh carries the current visitor token.
 */
export class LiveSubscriptions {
  private client: Client | undefined;

  constructor(
    private readonly url: string,
    private readonly token: () => string,
    private readonly webSocketImpl: unknown,
  ) {}

  /** Subscribes; `onData` gets each result's data, `onEnd` the error or completion that ends it. Answers the unsubscribe. */
  subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onError: (error: WidgetError) => void, onEnd: () => void): () => void {
    const client = this.clientOrCreate();
    return client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors && result.errors.length > 0) onError(toWidgetError(result.errors));
          else if (result.data) onData(result.data as T);
        },
        error: (error) => {
          onError(toWidgetError(error));
          onEnd();
        },
        complete: onEnd,
      },
    );
  }

  dispose(): void {
    const client = this.client;
    this.client = undefined;
    void client?.dispose();
  }

  private clientOrCreate(): Client {
    if (this.client) return this.client;
    try {
      this.client = createClient({
        url: this.url,
        lazy: true,
        connectionParams: () => ({ Authorization: `Bearer ${this.token()}` }),
        retryAttempts: RETRY_ATTEMPTS,
        // A network failure before the socket opened (not only a close event) is worth another try too.
        shouldRetry: () => true,
        retryWait: (retries) => wait(Math.min(MAX_RETRY_WAIT_MS, 1000 * 2 ** retries) + Math.random() * 1000),
        webSocketImpl: this.webSocketImpl,
      });
    } catch (error) {
      throw new WidgetError(`Live events need a WebSocket: ${error instanceof Error ? error.message : String(error)} (pass webSocketImpl to init)`, {
        code: 'VALIDATION_FAILED',
        cause: error,
      });
    }
    return this.client;
  }
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
