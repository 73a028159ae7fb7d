import { type SigningAlg, VerifySignatureResponse } from '@svp/contracts';
import { AppError } from './app-error.js';
import { ErrorBody } from '@svp/contracts';
import { tracedFetch } from './tracing/tracing.js';

/**
 * The signature check other services use for signed data (the variables service, for signed visitor
 * submits): identity verifies the JWT with the org's keys. Nothing is cached, so a revoked key is
 * refused by the very next check.
 */
export interface SignatureVerifier {
  /** `apiKey` is the caller's own key: identity checks the token against that key's org only. */
  verifySignature(apiKey: string, token: string, alg?: SigningAlg): Promise<VerifySignatureResponse>;
}

/** Calls identity's `POST /internal/v1/signatures/verify`. Identity unreachable is a 503, never a pass. */
export class HttpSignatureVerifier implements SignatureVerifier {
  constructor(private readonly identityUrl: string) {}

  async verifySignature(apiKey: string, token: string, alg?: SigningAlg): Promise<VerifySignatureResponse> {
    let response: Response;
    try {
      response = await tracedFetch(
        `${this.identityUrl}/internal/v1/signatures/verify`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ token, ...(alg ? { alg } : {}) }),
          signal: AbortSignal.timeout(3000),
        },
        { route: '/internal/v1/signatures/verify', service: 'identity' },
      );
    } catch (error) {
      throw new AppError('SERVICE_UNAVAILABLE', 'The identity service cannot be reached to check the signature', {
        reason: error instanceof Error ? error.message : String(error),
      });
    }
    const body: unknown = await response.json().catch(() => undefined);
    if (response.ok) return VerifySignatureResponse.parse(body);
    const error = ErrorBody.safeParse(body);
    if (response.status < 500 && error.success) throw new AppError(error.data.error.code, error.data.error.message, error.data.error.details);
    throw new AppError('SERVICE_UNAVAILABLE', `The identity service answered ${response.status} to a signature check`);
  }
}
