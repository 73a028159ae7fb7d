/**
 * The CLI's HTTP client of the services: one base URL per service, a bearer credential per call
 * (the root token for /admin routes and org creation, an org API key for org-scoped routes), and
 * every failure turned into an OpsError that carries the service's error body.
 */

export const SERVICES = ['gateway', 'identity', 'sessions', 'variables'] as const;
export type Service = (typeof SERVICES)[number];

/** The documented default ports (DESIGN.md section 5). */
export const DEFAULT_PORTS: Record<Service, number> = { gateway: 4000, identity: 4001, sessions: 4002, variables: 4003 };

/** A failure the CLI reports: a clear message, the service's error body when it sent one, a non-zero exit. */
export class OpsError extends Error {
  override readonly name = 'OpsError';
  constructor(
    readonly code: string,
    message: string,
    readonly extra: { status?: number; service?: Service; url?: string; details?: unknown; exitCode?: number } = {},
  ) {
    super(message);
  }

  get exitCode(): number {
    return this.extra.exitCode ?? 1;
  }

  toJson() {
    const { status, service, url, details } = this.extra;
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(service ? { service } : {}),
        ...(status !== undefined ? { status } : {}),
        ...(url ? { url } : {}),
        ...(details !== undefined ? { details } : {}),
      },
    };
  }
}

/** A usage mistake (exit code 2), as commander's own are. */
export const usageError = (message: string, details?: unknown) => new OpsError('USAGE', message, { exitCode: 2, ...(details !== undefined ? { details } : {}) });

export type Credential = 'root' | 'apiKey';

export interface ClientOptions {
  urls: Record<Service, string>;
  rootToken?: string;
  apiKey?: string;
  /** Per request, in ms. */
  timeoutMs: number;
  fetch: typeof fetch;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  auth: Credential;
  /** Statuses that answer normally besides 2xx (e.g. 404 for "this service has none"). */
  accept?: readonly number[];
}

export class OpsClient {
  constructor(private readonly options: ClientOptions) {}

  url(service: Service, path: string): string {
    return `${this.options.urls[service].replace(/\/+$/, '')}${path}`;
  }

  /** Sends a request and answers the parsed JSON body with its status; non-2xx (not accepted) throws. */
  async json<T>(service: Service, path: string, options: RequestOptions): Promise<{ status: number; body: T }> {
    const response = await this.send(service, path, options);
    const text = await response.text();
    const body = parseJson(text);
    if (!response.ok && !(options.accept ?? []).includes(response.status)) throw serviceError(service, this.url(service, path), response.status, body, text);
    return { status: response.status, body: body as T };
  }

  /** Sends a request and answers the response itself (a 2xx; streamed bodies). */
  async stream(service: Service, path: string, options: RequestOptions): Promise<Response> {
    const response = await this.send(service, path, options, false);
    if (!response.ok) {
      const text = await response.text();
      throw serviceError(service, this.url(service, path), response.status, parseJson(text), text);
    }
    return response;
  }

  private async send(service: Service, path: string, options: RequestOptions, bounded = true): Promise<Response> {
    const url = this.url(service, path);
    const headers: Record<string, string> = { authorization: `Bearer ${this.credential(options.auth)}`, accept: 'application/json, application/x-ndjson' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await this.options.fetch(url, {
        method: options.method ?? 'GET',
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        // A streamed export may take longer than one request's bound: it is bounded by the caller.
        ...(bounded ? { signal: AbortSignal.timeout(this.options.timeoutMs) } : {}),
      });
    } catch (error) {
      const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new OpsError(
        timedOut ? 'TIMEOUT' : 'UNREACHABLE',
        timedOut ? `${service} did not answer ${url} within ${this.options.timeoutMs} ms` : `${service} is not reachable at ${url}: ${cause}`,
        { service, url, details: { hint: `set --${service}-url or ${service.toUpperCase()}_URL` } },
      );
    }
  }

  private credential(kind: Credential): string {
    if (kind === 'root') {
      if (!this.options.rootToken) throw usageError('This command needs the root token: set PLATFORM_ROOT_TOKEN or pass --root-token');
      return this.options.rootToken;
    }
    if (!this.options.apiKey) throw usageError("This command needs an org API key: set SVP_API_KEY or pass --api-key (the org's key with the scope the command names)");
    return this.options.apiKey;
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

/** The service's error body (`{ error: { code, message, details? } }`) as an OpsError; anything else by its status. */
export function serviceError(service: Service, url: string, status: number, body: unknown, text = ''): OpsError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string')
    return new OpsError(error.code, `${service} answered ${status} ${error.code}: ${error.message}`, { service, status, url, ...(error.details !== undefined ? { details: error.details } : {}) });
  const snippet = text.trim().slice(0, 200);
  return new OpsError(`HTTP_${status}`, `${service} answered ${status}${snippet ? `: ${snippet}` : ''}`, { service, status, url });
}
