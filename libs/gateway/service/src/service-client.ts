import { ErrorBody, type ErrorCode } from '@svp/contracts';
import { GraphQLError } from 'graphql';
import type { Counter, Histogram } from 'prom-client';
import { tracedFetch } from '@svp/service-kit';

export type ServiceTarget = 'identity' | 'sessions' | 'variables';

export interface ServiceUrls {
  identity: string;
  sessions: string;
  variables: string;
}

/** What a resolver's failure tells the client: the service's own error code, status and details. */
export interface GatewayErrorExtensions {
  code: ErrorCode | string;
  status: number;
  details?: unknown;
  /** The service that answered (absent for the gateway's own errors). */
  service?: ServiceTarget;
}

export function gatewayError(code: ErrorCode, message: string, status: number, details?: unknown, service?: ServiceTarget): GraphQLError {
  const extensions: GatewayErrorExtensions = { code, status, ...(details !== undefined ? { details } : {}), ...(service ? { service } : {}) };
  return new GraphQLError(message, { extensions: extensions as unknown as Record<string, unknown> });
}

export interface ServiceCallMetrics {
  calls: Counter<'service' | 'route' | 'status'>;
  duration: Histogram<'service' | 'route'>;
}

/** How many service calls one operation may make (GRAPHQL_MAX_SERVICE_CALLS), shared by its clients. */
export interface CallBudget {
  used: number;
  readonly max: number;
}

export interface CallOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The route as documented (`/v1/sessions/{sessionId}`): the metric label. */
  route: string;
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** 404 answers null instead of failing (a lookup of something that may not exist). */
  notFoundAsNull?: boolean;
  /** A read again of what the operation already asked for (waiting for it to show): not counted against the budget. */
  again?: boolean;
}

/**
 * Calls the services' HTTP APIs with the caller's own credential (the services decide what it may
 * see and meter it). A service's error body becomes a GraphQLError carrying its code, status and
 * details in `extensions`; a service that cannot be reached is SERVICE_UNAVAILABLE.
 */
export class ServiceClient {
  constructor(
    private readonly urls: ServiceUrls,
    private readonly bearer: string,
    private readonly metrics?: ServiceCallMetrics,
    private readonly correlationId?: string,
    private readonly budget?: CallBudget,
    private readonly timeoutMs = 10_000,
  ) {}

  /** The same services, called with another credential (a new session's visitor token), on the same budget. */
  as(bearer: string): ServiceClient {
    return new ServiceClient(this.urls, bearer, this.metrics, this.correlationId, this.budget, this.timeoutMs);
  }

  async call<T>(service: ServiceTarget, options: CallOptions & { notFoundAsNull: true }): Promise<T | null>;
  async call<T>(service: ServiceTarget, options: CallOptions): Promise<T>;
  async call<T>(service: ServiceTarget, options: CallOptions): Promise<T | null> {
    // Batching keeps an ordinary operation to a few calls; fields that cannot be batched (a history,
    // a read as of a time, one room per alias) are bounded per operation instead.
    if (this.budget && !options.again && ++this.budget.used > this.budget.max)
      throw gatewayError('LIMIT_EXCEEDED', `This operation needs more than ${this.budget.max} calls to the services: ask for fewer fields or aliases per request`, 400, {
        limit: 'maxServiceCalls',
        max: this.budget.max,
      });
    const url = new URL(options.path, this.urls[service]);
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(name, value);
    const headers: Record<string, string> = { authorization: `Bearer ${this.bearer}` };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (this.correlationId) headers['x-correlation-id'] = this.correlationId;
    const timer = this.metrics?.duration.startTimer({ service, route: options.route });
    let response: Response;
    try {
      // A client span carrying `traceparent` to the service when tracing is on (docs/tracing.md).
      response = await tracedFetch(
        url,
        {
          method: options.method,
          headers,
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
          signal: AbortSignal.timeout(this.timeoutMs),
        },
        { route: options.route, service },
      );
    } catch (error) {
      timer?.();
      this.metrics?.calls.inc({ service, route: options.route, status: 'unreachable' });
      throw gatewayError('SERVICE_UNAVAILABLE', `The ${service} service cannot be reached`, 503, { reason: error instanceof Error ? error.message : String(error) }, service);
    }
    timer?.();
    this.metrics?.calls.inc({ service, route: options.route, status: String(response.status) });
    const text = await response.text();
    const json = parseJson(text);
    if (response.ok) return json as T;
    if (response.status === 404 && options.notFoundAsNull) return null;
    const body = ErrorBody.safeParse(json);
    if (body.success) throw gatewayError(body.data.error.code, body.data.error.message, response.status, body.data.error.details, service);
    throw gatewayError(response.status >= 500 ? 'SERVICE_UNAVAILABLE' : 'VALIDATION_FAILED', `The ${service} service answered ${response.status}`, response.status >= 500 ? 503 : response.status, undefined, service);
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
