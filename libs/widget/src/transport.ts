import { type GraphQLErrorBody, WidgetError, fromGraphQLErrors } from './errors.js';

/** `fetch` as the widget calls it (the page's, or one given for tests and other hosts). */
export type FetchLike = (input: string, init: { method: string; headers: Record<string, string>; body: string }) => Promise<ResponseLike>;

/** The part of a fetch `Response` the widget reads. */
export interface ResponseLike {
  readonly status: number;
  json(): Promise<unknown>;
}

/**
 * GraphQL over HTTP: `POST <apiUrl>/graphql` with `{ query, variables }` and the bearer credential.
 * Answers the `data`, or throws a WidgetError: the first GraphQL error's extensions, the platform's
 * `{ error: { code, message, details } }` body (an answer from before GraphQL, e.g. a body too large),
 * or `NETWORK` when nothing usable came back.
 */
export class GraphQLHttp {
  constructor(
    private readonly url: string,
    private readonly fetchImpl: FetchLike,
  ) {}

  async request<T>(query: string, variables: Record<string, unknown>, credential: string): Promise<T> {
    let response: ResponseLike;
    try {
      response = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${credential}` },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new WidgetError(`The gateway could not be reached (${this.url}): ${error instanceof Error ? error.message : String(error)}`, {
        code: 'NETWORK',
        cause: error,
      });
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new WidgetError(`The gateway answered HTTP ${response.status} without a JSON body`, { code: 'NETWORK', status: response.status, cause: error });
    }
    if (typeof body !== 'object' || body === null)
      throw new WidgetError(`The gateway answered HTTP ${response.status} with no GraphQL result`, { code: 'NETWORK', status: response.status });
    const { data, errors, error } = body as { data?: unknown; errors?: unknown; error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (Array.isArray(errors) && errors.length > 0) throw fromGraphQLErrors(errors as GraphQLErrorBody[], response.status);
    if (typeof error === 'object' && error !== null && typeof error.code === 'string')
      throw new WidgetError(typeof error.message === 'string' ? error.message : error.code, { code: error.code, status: response.status, details: error.details });
    if (typeof data !== 'object' || data === null)
      throw new WidgetError(`The gateway answered HTTP ${response.status} with no GraphQL data`, { code: 'NETWORK', status: response.status });
    return data as T;
  }
}
