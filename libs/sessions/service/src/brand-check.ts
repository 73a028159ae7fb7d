import { AppError, tracedFetch } from '@svp/service-kit';
import { z } from 'zod';

/**
 * Whether a brand belongs to the caller's org. The sessions service does not keep the orgs' brands
 * (identity does); a session naming a brand must name one of its own org's, or another org's brand
 * id would be carried on this org's sessions, events and webhooks.
 */
export interface BrandCheck {
  /** Throws 404 NOT_FOUND when the org has no such brand, 503 when it cannot be told now. */
  assertOwnBrand(apiKey: string, orgId: string, brandId: string): Promise<void>;
}

const BrandsAnswer = z.object({ brands: z.array(z.object({ brandId: z.string() }).passthrough()) });
const KNOWN_LIMIT = 100_000;

/**
 * Asks identity's `GET /v1/orgs/{orgId}/brands` with the caller's own key (any key of the org may
 * read them), so a brand created a moment ago is already known (identity answers read-your-writes).
 * A brand, once seen, is remembered: brands are never deleted, so a known one needs no second call;
 * an unknown one is asked about every time. When identity cannot answer, the start is refused with
 * 503 rather than let an unchecked brand through (the caller retries; identity being down already
 * stops new keys being authenticated).
 */
export class HttpBrandCheck implements BrandCheck {
  private readonly known = new Set<string>();

  constructor(private readonly identityUrl: string) {}

  async assertOwnBrand(apiKey: string, orgId: string, brandId: string): Promise<void> {
    if (this.known.has(`${orgId}/${brandId}`)) return;
    let response: Response;
    try {
      response = await tracedFetch(
        `${this.identityUrl}/v1/orgs/${encodeURIComponent(orgId)}/brands`,
        { headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(3000) },
        { route: '/v1/orgs/{orgId}/brands', service: 'identity' },
      );
    } catch (error) {
      throw new AppError('SERVICE_UNAVAILABLE', 'The identity service cannot be reached to check the brand', {
        field: 'brandId',
        reason: error instanceof Error ? error.message : String(error),
      });
    }
    if (response.status === 429) {
      const retryAfter = response.headers.get('retry-after');
      throw new AppError('RATE_LIMITED', "The org's request quota on the identity service is spent; the brand cannot be checked now", {
        field: 'brandId',
        ...(retryAfter ? { retryAfterSeconds: Number(retryAfter) } : {}),
      });
    }
    const answer = response.ok ? BrandsAnswer.safeParse(await response.json().catch(() => undefined)) : undefined;
    if (!answer?.success) throw new AppError('SERVICE_UNAVAILABLE', `The identity service answered ${response.status} to the brand check`, { field: 'brandId' });
    for (const brand of answer.data.brands) this.remember(`${orgId}/${brand.brandId}`);
    if (!this.known.has(`${orgId}/${brandId}`)) throw new AppError('NOT_FOUND', `Brand ${brandId} not found`, { field: 'brandId', brandId });
  }

  private remember(key: string): void {
    if (this.known.size >= KNOWN_LIMIT) this.known.clear();
    this.known.add(key);
  }
}
