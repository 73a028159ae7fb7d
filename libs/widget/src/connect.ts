import type { WidgetError } from './errors.js';
import { LiveSubscriptions } from './live.js';
import { type FetchLike, GraphQLHttp } from './transport.js';

export interface ConnectOptions {
  /** The gateway, e.g. `https://chat-api.example.com`. */
  apiUrl: string;
  /** The bearer: an org API key (an agent console, a bot) or a visitor token; a function is read at each call and reconnect. */
  token: string | (() => string);
  fetch?: FetchLike;
  /** A WebSocket implementation where there is no global one (Node 20: the `ws` package). */
  webSocketImpl?: unknown;
}

export interface SubscriptionHandlers<T> {
  next(data: T): void;
  error?(error: WidgetError): void;
  complete?(): void;
}

/** Any GraphQL operation on the gateway, with one credential. */
export interface GatewayConnection {
  /** A query or mutation over HTTP; answers its `data` or throws a WidgetError (the service's code in `code`). */
  request<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** A subscription over graphql-ws (one socket, opened lazily, reconnecting); answers the unsubscribe. */
  subscribe<T = Record<string, unknown>>(query: string, variables: Record<string, unknown>, handlers: SubscriptionHandlers<T>): () => void;
  /** Closes the socket. */
  close(): void;
}

/**
 * A small GraphQL client for the other clients of the gateway: an agent console, a bot, a
 * business's back-end in Node. The widget (`init`) is built on the same transport.
 *
 * @example
 * const agent = connect({ apiUrl: 'http://localhost:4000', token: 'svp_…' });
 * agent.subscribe('subscription($id: ID!) { variablesChanged(sessionId: $id, includeCurrent: true) { kind variables { name value verified } } }',
 *   { id: sessionId }, { next: (data) => render(data.variablesChanged) });
 */
export function connect(options: ConnectOptions): GatewayConnection {
  const base = options.apiUrl.replace(/\/+$/, '');
  const token = typeof options.token === 'function' ? options.token : () => options.token as string;
  const fetchImpl = options.fetch ?? (globalThis.fetch?.bind(globalThis) as unknown as FetchLike | undefined);
  if (!fetchImpl) throw new TypeError('connect needs fetch: pass options.fetch where there is no global one');
  const http = new GraphQLHttp(`${base}/graphql`, fetchImpl);
  const live = new LiveSubscriptions(`${base.replace(/^http/, 'ws')}/graphql`, token, options.webSocketImpl);
  return {
    request: (query, variables = {}) => http.request(query, variables, token()),
    subscribe: (query, variables, handlers) =>
      live.subscribe(
        query,
        variables,
        (data) => handlers.next(data as never),
        (error) => handlers.error?.(error),
        () => handlers.complete?.(),
      ),
    close: () => live.dispose(),
  };
}
