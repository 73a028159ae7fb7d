/**
 * The codes a {@link WidgetError} carries. The gateway's codes come from each GraphQL error's
 * `extensions.code` (the platform's error codes, DESIGN.md section 5); the widget adds its own:
 *
 * - `NETWORK`: the gateway could not be reached, or answered something that is not GraphQL
 *   (then `status` is the HTTP status when there was one), or a live subscription's socket closed.
 * - `SESSION_ENDED`: the session is ended or blocked and no widget key was given to start a new one.
 * - `CLOSED`: the widget was closed (`close()` or `logout()`); call `init` again.
 * - `GRAPHQL_ERROR`: a GraphQL error without a code (a query the gateway's schema refused).
 */
export type WidgetErrorCode =
  | 'VALIDATION_FAILED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'LIMIT_EXCEEDED'
  | 'RATE_LIMITED'
  | 'INVALID_TOKEN'
  | 'PAYLOAD_TOO_LARGE'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL'
  | 'NETWORK'
  | 'SESSION_ENDED'
  | 'CLOSED'
  | 'GRAPHQL_ERROR'
  // Any other code the gateway may add later still type-checks (and keeps the list above in hints).
  | (string & {});

/** One GraphQL error as the gateway answers it. */
export interface GraphQLErrorBody {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; status?: number; details?: unknown; [key: string]: unknown };
}

/** What a {@link WidgetError} is built from. */
export interface WidgetErrorInit {
  code: WidgetErrorCode;
  /** The HTTP status the platform gives this error (from `extensions.status`), when known. */
  status?: number;
  details?: unknown;
  /** Every GraphQL error of the answer (the error's own fields come from the first). */
  errors?: readonly GraphQLErrorBody[];
  cause?: unknown;
}

/**
 * Every failure of the widget: a GraphQL error of the gateway (its `code`, `status` and `details`
 * are the error's `extensions`), a network failure (`code: 'NETWORK'`), or a misuse of the widget.
 *
 * @example
 * try { await widget.triggerEvent('setVariable', { sessionVariableValues }) }
 * catch (error) { if (error instanceof WidgetError && error.code === 'LIMIT_EXCEEDED') … }
 */
export class WidgetError extends Error {
  override readonly name = 'WidgetError';
  readonly code: WidgetErrorCode;
  readonly status: number | undefined;
  readonly details: unknown;
  readonly errors: readonly GraphQLErrorBody[];

  constructor(message: string, init: WidgetErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.details = init.details;
    this.errors = init.errors ?? [];
  }
}

/** A WidgetError from the `errors` of a GraphQL answer (the first error names it). */
export function fromGraphQLErrors(errors: readonly GraphQLErrorBody[], httpStatus?: number): WidgetError {
  const [first] = errors;
  const extensions = first?.extensions ?? {};
  const status = typeof extensions.status === 'number' ? extensions.status : httpStatus !== undefined && httpStatus >= 400 ? httpStatus : undefined;
  return new WidgetError(first?.message ?? 'The gateway answered with an error', {
    code: typeof extensions.code === 'string' ? extensions.code : 'GRAPHQL_ERROR',
    status,
    details: extensions.details,
    errors,
  });
}

/** Any thrown value as a WidgetError (a WidgetError stays itself). */
export function toWidgetError(error: unknown): WidgetError {
  if (error instanceof WidgetError) return error;
  if (Array.isArray(error) && error.every(isGraphQLError)) return fromGraphQLErrors(error);
  if (isCloseEvent(error)) {
    // graphql-ws closes: 4401 (no valid connection_init), 4403 (forbidden); anything else is the network.
    const code = error.code === 4401 ? 'UNAUTHENTICATED' : error.code === 4403 ? 'FORBIDDEN' : 'NETWORK';
    return new WidgetError(`The live connection closed (${error.code}${error.reason ? `: ${error.reason}` : ''})`, {
      code,
      details: { closeCode: error.code, reason: error.reason },
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : typeof error === 'string' ? error : 'Unknown error';
  return new WidgetError(message, { code: 'NETWORK', cause: error });
}

/** True for errors that say the credential is not (or no longer) good: a start from scratch may help. */
export function isRefusal(error: WidgetError): boolean {
  return error.code === 'UNAUTHENTICATED' || error.code === 'INVALID_TOKEN' || error.code === 'FORBIDDEN';
}

/** True for errors that may pass when tried again later. */
export function isTransient(error: WidgetError): boolean {
  return (
    error.code === 'NETWORK' ||
    error.code === 'RATE_LIMITED' ||
    error.code === 'SERVICE_UNAVAILABLE' ||
    error.code === 'INTERNAL' ||
    (error.status !== undefined && error.status >= 500)
  );
}

function isGraphQLError(value: unknown): value is GraphQLErrorBody {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'number' && 'reason' in value;
}
