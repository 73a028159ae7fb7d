import { ErrorBody, type NameValue } from '@svp/contracts';
import { AppError, tracedFetch } from '@svp/service-kit';
import type { Logger } from 'pino';

/**
 * Whether the variables service would accept a new session's initial variables (the org's limits,
 * metadata names read-only). The variables are stored by the variables service when SessionStarted
 * reaches it; asking first lets POST /v1/sessions answer bad initial values with their 4xx instead
 * of starting a session whose values are then refused.
 */
export interface VariablesCheck {
  /** Throws the variables service's error (an AppError) when it refuses them. */
  check(apiKey: string, values: readonly NameValue[]): Promise<void>;
}

/**
 * Calls the variables service's `POST /internal/v1/variables/check` with the caller's own key. When
 * the variables service cannot answer (down, 5xx), the session still starts: the values are checked
 * again when they are applied, and a refusal is logged there; starting conversations does not
 * depend on the variables service being up.
 */
export class HttpVariablesCheck implements VariablesCheck {
  constructor(
    private readonly variablesUrl: string,
    private readonly logger: Logger,
  ) {}

  async check(apiKey: string, values: readonly NameValue[]): Promise<void> {
    let response: Response;
    try {
      response = await tracedFetch(
        `${this.variablesUrl}/internal/v1/variables/check`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sessionVariableValues: values }),
          signal: AbortSignal.timeout(3000),
        },
        { route: '/internal/v1/variables/check', service: 'variables' },
      );
    } catch (error) {
      this.logger.warn({ err: error }, 'the variables service cannot check initial variables now; the session starts, they are checked when applied');
      return;
    }
    if (response.ok) return;
    const body = ErrorBody.safeParse(await response.json().catch(() => undefined));
    // Only a refusal of the values themselves is this request's error: a bad value or a limit (400),
    // a metadata name (403 naming it). Anything else (the check's own quota, a key the variables
    // service does not take yet, an outage) is no verdict on the values.
    const refusal =
      body.success &&
      ((response.status === 400 && (body.data.error.code === 'VALIDATION_FAILED' || body.data.error.code === 'LIMIT_EXCEEDED')) ||
        (response.status === 403 && body.data.error.code === 'FORBIDDEN' && Array.isArray((body.data.error.details as { names?: unknown } | undefined)?.names)));
    if (refusal) throw new AppError(body.data.error.code, body.data.error.message, body.data.error.details, response.status);
    this.logger.warn({ status: response.status, code: body.success ? body.data.error.code : undefined }, 'the variables service gave no verdict on initial variables; the session starts, they are checked when applied');
  }
}
