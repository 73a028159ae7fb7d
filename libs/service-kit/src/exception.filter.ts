import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { ErrorBody, ErrorCode } from '@svp/contracts';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { AppError } from './app-error.js';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'LIMIT_EXCEEDED',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * PostgreSQL refused text from the request: a NUL character (22P05 in jsonb, 22021 in text) or an
 * unpaired surrogate (22P02, invalid JSON). The contracts refuse these where they know the field
 * (StorableText); this is the backstop for every other one: bad input, never a 500.
 */
function isUnstorableText(exception: unknown): boolean {
  const { code, message } = (exception ?? {}) as { code?: unknown; message?: unknown };
  if (code === '22P05' || code === '22021') return true;
  return code === '22P02' && typeof message === 'string' && /type json/.test(message);
}

/** Maps anything thrown to a status and the contract's error body; never leaks a stack trace. */
export function toErrorResponse(exception: unknown): { status: number; body: ErrorBody } {
  if (exception instanceof AppError) return { status: exception.status, body: exception.toBody() };
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
    const response = exception.getResponse();
    const message =
      typeof response === 'object' && response && 'message' in response
        ? String((response as { message: unknown }).message)
        : exception.message;
    return { status, body: { error: { code, message } } };
  }
  if (isUnstorableText(exception))
    return {
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'The request holds text that cannot be stored (a NUL character or an unpaired surrogate)', details: { reason: 'UNSTORABLE_TEXT' } } },
    };
  // Errors raised by Fastify itself before a handler runs (bad JSON, body too large, bad media type).
  const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyError?.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const code = CODE_BY_STATUS[status] ?? 'VALIDATION_FAILED';
    return { status, body: { error: { code, message: fastifyError.message ?? 'Bad request', details: { reason: fastifyError.code } } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'Internal error' } } };
}

/**
 * Routes under `prefix` that answer errors in another API's shape (the SalesIQ-compatible routes, with
 * SalesIQ's numeric codes): `render` turns the contract's error body into that shape.
 */
export interface ErrorRenderer {
  prefix: string;
  render(status: number, body: ErrorBody): { status: number; body: unknown };
}

/** The error answer for a request to `url`: the contract's body, or the shape of the renderer whose prefix it has. */
export function renderError(exception: unknown, url: string | undefined, renderers: readonly ErrorRenderer[] = []): { status: number; body: unknown } {
  const response = toErrorResponse(exception);
  const renderer = url === undefined ? undefined : renderers.find((r) => url.startsWith(r.prefix));
  return renderer ? renderer.render(response.status, response.body) : response;
}

/**
 * The wait of a 429 that names one (`details.retryAfterSeconds`, whole seconds up), for its
 * `Retry-After` header: a quota spent on another service that a call here depends on (identity's,
 * for the sessions service's brand check) says when to retry as the caller's own quota does.
 */
export function retryAfterSecondsOf(exception: unknown): number | undefined {
  if (!(exception instanceof AppError) || exception.status !== 429) return undefined;
  const wait = (exception.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return typeof wait === 'number' && Number.isFinite(wait) && wait >= 0 ? Math.ceil(wait) : undefined;
}

@Catch()
export class ErrorBodyFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly renderers: readonly ErrorRenderer[] = [],
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const url = http.getRequest<{ url?: string }>()?.url;
    const { status, body } = renderError(exception, url, this.renderers);
    if (status >= 500) this.logger.error({ err: exception }, 'unhandled error');
    const wait = retryAfterSecondsOf(exception);
    if (wait !== undefined) reply.header('Retry-After', String(wait));
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
