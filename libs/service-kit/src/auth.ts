import {
  applyDecorators,
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Optional,
  SetMetadata,
  createParamDecorator,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash } from 'node:crypto';
import { type ApiScope, BearerCredentialFormat, IntrospectApiKeyResponse } from '@svp/contracts';
import { AppError } from './app-error.js';
import { ORG_METER, OrgMeter } from './metering.js';
import { tracedFetch } from './tracing/tracing.js';

/** Who is calling: the org and scopes that follow from the bearer API key. */
export interface AuthContext {
  orgId: string;
  keyId: string;
  scopes: ApiScope[];
  /** The org's own request quota (per minute, per service) when the operator set one. */
  requestsPerMinute?: number | null;
  /** Set when the caller holds a visitor token: it reaches only this session and this visitor. */
  visitor?: { sessionId: string; visitorId: string };
}

/** How a service learns what an API key is: a cached call to the identity service. */
export interface ApiKeyIntrospector {
  introspect(apiKey: string): Promise<IntrospectApiKeyResponse>;
}
export const API_KEY_INTROSPECTOR = Symbol('API_KEY_INTROSPECTOR');

/**
 * Introspects keys over identity's internal REST API, caching answers briefly (a revoked key is
 * refused within `ttlMs`). Identity being unreachable is a 503, never a silent pass.
 */
export class HttpApiKeyIntrospector implements ApiKeyIntrospector {
  private readonly cache = new Map<string, { at: number; answer: IntrospectApiKeyResponse }>();
  constructor(
    private readonly identityUrl: string,
    private readonly ttlMs = 1000,
  ) {}

  async introspect(apiKey: string): Promise<IntrospectApiKeyResponse> {
    // Not even shaped like a key: no need to ask (and nothing oversized is forwarded).
    if (!BearerCredentialFormat.safeParse(apiKey).success) return { active: false };
    const cacheKey = createHash('sha256').update(apiKey).digest('hex');
    const cached = this.cache.get(cacheKey);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.answer;
    let response: Response;
    try {
      response = await tracedFetch(
        `${this.identityUrl}/internal/v1/api-keys/introspect`,
        { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, signal: AbortSignal.timeout(3000) },
        { route: '/internal/v1/api-keys/introspect', service: 'identity' },
      );
    } catch (error) {
      throw new AppError('SERVICE_UNAVAILABLE', 'The identity service cannot be reached to check the API key', {
        reason: error instanceof Error ? error.message : String(error),
      });
    }
    if (response.status >= 400 && response.status < 500) return { active: false };
    if (!response.ok) throw new AppError('SERVICE_UNAVAILABLE', `The identity service answered ${response.status}`);
    const answer = IntrospectApiKeyResponse.parse(await response.json());
    // Bounded, oldest first (a Map keeps insertion order): a spray of made-up keys cannot evict
    // everything at once, and a real key's answer is refreshed at the end on every miss.
    this.cache.delete(cacheKey);
    if (this.cache.size >= 10_000) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(cacheKey, { at: Date.now(), answer });
    return answer;
  }
}

const SCOPES_KEY = 'svp:required-scopes';
const ANY_SCOPE_KEY = 'svp:any-scope';
const VISITOR_KEY = 'svp:visitor-access';
/**
 * Marks a handler as needing an org API key with these scopes (none: any valid key). Such requests
 * are metered per org when the service has an OrgMeter.
 */
export const RequireScopes = (...scopes: ApiScope[]) => SetMetadata(SCOPES_KEY, scopes);
/** Like RequireScopes, but one of these scopes is enough (a widget key's `widget`, or the full scope). */
export const RequireAnyScope = (...scopes: ApiScope[]) => applyDecorators(SetMetadata(SCOPES_KEY, []), SetMetadata(ANY_SCOPE_KEY, scopes));

/** Which route parameters name the session and the visitor a visitor token may reach. */
export interface VisitorAccessRule {
  session?: string;
  visitor?: string;
}
/**
 * Lets a visitor token call the route, for its own session and visitor only: the named route
 * parameters must be theirs (403 otherwise). Routes without it refuse visitor tokens whatever the
 * scopes. A route naming neither checks the visitor itself (say, a session id in the body).
 */
export const VisitorAccess = (rule: VisitorAccessRule) => SetMetadata(VISITOR_KEY, rule);

export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

interface HeaderReply {
  header(name: string, value: string): unknown;
}

/**
 * Turns `Authorization: Bearer <org API key>` into an AuthContext; 401 and 403 with the error body.
 * With an OrgMeter (ORG_METER), every authenticated request is metered against the org's quota:
 * the answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds), and
 * past the quota it is 429 RATE_LIMITED with `Retry-After`. The headers are set on the reply before
 * the error is thrown; the exception filter keeps them.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(API_KEY_INTROSPECTOR) private readonly introspector: ApiKeyIntrospector,
    @Optional() @Inject(ORG_METER) private readonly meter?: OrgMeter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const required = this.reflector.getAllAndOverride<ApiScope[] | undefined>(SCOPES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!required) return true;
    const request = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | string[] | undefined>; params?: Record<string, string | undefined>; auth?: AuthContext }>();
    const key = bearerToken(request.headers.authorization);
    if (!key) throw new AppError('UNAUTHENTICATED', 'Missing "Authorization: Bearer <org API key>" header');
    const answer = await this.introspector.introspect(key);
    if (!answer.active) throw new AppError('UNAUTHENTICATED', 'Unknown or revoked API key');
    if (this.meter) this.meterRequest(this.meter, context, answer.orgId, answer.requestsPerMinute);
    const missing = required.filter((s) => !answer.scopes.includes(s));
    if (missing.length > 0) throw new AppError('FORBIDDEN', `The API key lacks the scope(s) ${missing.join(', ')}`, { missing });
    const anyOf = this.reflector.getAllAndOverride<ApiScope[] | undefined>(ANY_SCOPE_KEY, [context.getHandler(), context.getClass()]);
    if (anyOf && !anyOf.some((s) => answer.scopes.includes(s)))
      throw new AppError('FORBIDDEN', `The API key needs one of the scopes ${anyOf.join(', ')}`, { missing: anyOf, anyOf: true });
    if (answer.visitor) this.checkVisitor(context, answer.visitor, request.params ?? {});
    request.auth = {
      orgId: answer.orgId,
      keyId: answer.keyId,
      scopes: answer.scopes,
      ...(answer.requestsPerMinute !== undefined ? { requestsPerMinute: answer.requestsPerMinute } : {}),
      ...(answer.visitor ? { visitor: answer.visitor } : {}),
    };
    return true;
  }

  /** A visitor token reaches only routes open to visitors, and on them only its own session and visitor. */
  private checkVisitor(context: ExecutionContext, visitor: { sessionId: string; visitorId: string }, params: Record<string, string | undefined>): void {
    const rule = this.reflector.getAllAndOverride<VisitorAccessRule | undefined>(VISITOR_KEY, [context.getHandler(), context.getClass()]);
    if (!rule) throw new AppError('FORBIDDEN', 'A visitor token cannot call this route: it reaches only its own session and visitor', { visitorToken: true });
    const foreign =
      (rule.session !== undefined && params[rule.session] !== visitor.sessionId) || (rule.visitor !== undefined && params[rule.visitor] !== visitor.visitorId);
    if (foreign) throw new AppError('FORBIDDEN', 'A visitor token reaches only its own session and visitor', { visitorToken: true });
  }

  /** Counts the request (an authenticated one, whatever its scopes) and refuses it past the quota. */
  private meterRequest(meter: OrgMeter, context: ExecutionContext, orgId: string, requestsPerMinute: number | null | undefined): void {
    const decision = meter.hit(orgId, requestsPerMinute);
    const resetSeconds = Math.max(1, Math.ceil((decision.resetAt - meter.now()) / 1000));
    const reply = context.switchToHttp().getResponse<Partial<HeaderReply> | undefined>();
    const header = (name: string, value: number) => {
      if (typeof reply?.header === 'function') reply.header(name, String(value));
    };
    header('RateLimit-Limit', decision.limit);
    header('RateLimit-Remaining', decision.remaining);
    header('RateLimit-Reset', resetSeconds);
    if (decision.allowed) return;
    header('Retry-After', resetSeconds);
    throw new AppError(
      'RATE_LIMITED',
      `Org ${orgId} is over its quota of ${decision.limit} requests per minute on ${meter.service}; retry after ${resetSeconds} s`,
      { limit: decision.limit, retryAfterSeconds: resetSeconds },
    );
  }
}

/** The caller's AuthContext in a handler guarded by RequireScopes. */
export const Auth = createParamDecorator((_data: unknown, context: ExecutionContext): AuthContext => {
  const auth = context.switchToHttp().getRequest<{ auth?: AuthContext }>().auth;
  if (!auth) throw new AppError('UNAUTHENTICATED', 'Not authenticated');
  return auth;
});
