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
/** Orgs whose brand lists are kept; past it the lists are forgotten (and asked for again). */
const ORGS_KEPT = 100_000;
/**
 * How often an org's brands may be listed for unknown brands: a burst of 10, then one a second. Past
 * it, an unknown brand is judged from the org's last list. A setup that creates a few brands and
 * starts sessions with each never reaches it; random brand ids sent with a widget key (public, in a
 * web page) cannot spend more than 1 % of the org's default quota on identity (6,000 a minute).
 */
export const BRAND_LIST_BUDGET = { burst: 10, perSecond: 1 } as const;

interface OrgBrands {
  /** The org's brands as identity last listed them. */
  readonly brands: ReadonlySet<string>;
  /** Lists the org may still ask for now, and when that was counted (Date.now()). */
  tokens: number;
  countedAt: number;
}

/**
 * Asks identity's `GET /v1/orgs/{orgId}/brands` with the caller's own key (any key of the org may
 * read them), so a brand created a moment ago is already known (identity answers read-your-writes).
 * The org's last list is kept: brands are never deleted, so a brand in it needs no second call.
 * An unknown one is judged from a fresh list (concurrent checks with one key share it), within
 * BRAND_LIST_BUDGET. When identity cannot answer, the start is refused with 503 rather than let an
 * unchecked brand through; a key identity refuses (revoked a moment ago) is 401.
 */
export class HttpBrandCheck implements BrandCheck {
  private readonly lists = new Map<string, OrgBrands>();
  private readonly inFlight = new Map<string, Promise<OrgBrands>>();

  constructor(
    private readonly identityUrl: string,
    private readonly now: () => number = Date.now,
  ) {}

  async assertOwnBrand(apiKey: string, orgId: string, brandId: string): Promise<void> {
    if (this.lists.get(orgId)?.brands.has(brandId)) return;
    const list = await this.freshList(apiKey, orgId);
    if (!list.brands.has(brandId)) throw new AppError('NOT_FOUND', `Brand ${brandId} not found`, { field: 'brandId', brandId });
  }

  /** The list being asked for, a new one, or (past the org's budget) its last one. */
  private freshList(apiKey: string, orgId: string): Promise<OrgBrands> {
    // Shared by the checks made with the same key (another key's answer, a 401 say, is not theirs).
    const flight = `${orgId}\n${apiKey}`;
    const pending = this.inFlight.get(flight);
    if (pending) return pending;
    const last = this.lists.get(orgId);
    if (last && !this.spend(last)) return Promise.resolve(last);
    const asked = this.fetchList(apiKey, orgId).finally(() => this.inFlight.delete(flight));
    this.inFlight.set(flight, asked);
    return asked;
  }

  /** Takes one list from the org's budget, refilled one a second up to the burst. */
  private spend(list: OrgBrands): boolean {
    const now = this.now();
    list.tokens = Math.min(BRAND_LIST_BUDGET.burst, list.tokens + ((now - list.countedAt) / 1000) * BRAND_LIST_BUDGET.perSecond);
    list.countedAt = now;
    if (list.tokens < 1) return false;
    list.tokens -= 1;
    return true;
  }

  private async fetchList(apiKey: string, orgId: string): Promise<OrgBrands> {
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
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      if (response.status === 429) {
        const header = response.headers.get('retry-after');
        const retryAfter = header === null ? Number.NaN : Number(header);
        throw new AppError('RATE_LIMITED', "The org's request quota on the identity service is spent; the brand cannot be checked now", {
          field: 'brandId',
          ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterSeconds: retryAfter } : {}),
        });
      }
      if (response.status === 401 || response.status === 403)
        throw new AppError('UNAUTHENTICATED', 'The identity service refused this API key (revoked?); the brand cannot be checked with it', { field: 'brandId' });
      throw new AppError('SERVICE_UNAVAILABLE', `The identity service answered ${response.status} to the brand check`, { field: 'brandId' });
    }
    const answer = BrandsAnswer.safeParse(await response.json().catch(() => undefined));
    if (!answer.success) throw new AppError('SERVICE_UNAVAILABLE', 'The identity service answered the brand check with something not a list of brands', { field: 'brandId' });
    const brands = new Set(answer.data.brands.map((brand) => brand.brandId));
    // The budget carries over from the org's last list (a new org starts with the full burst, less this list).
    const last = this.lists.get(orgId);
    const list: OrgBrands = last ? { brands, tokens: last.tokens, countedAt: last.countedAt } : { brands, tokens: BRAND_LIST_BUDGET.burst - 1, countedAt: this.now() };
    if (!last && this.lists.size >= ORGS_KEPT) this.lists.clear();
    this.lists.set(orgId, list);
    return list;
  }
}
