import { Controller, type DynamicModule, Get, Global, Inject, Module, Query, UseGuards } from '@nestjs/common';
import { UsageResponse } from '@svp/contracts';
import { z } from 'zod';
import { API_KEY_INTROSPECTOR, ApiKeyGuard, type ApiKeyIntrospector, Auth, type AuthContext, RequireScopes } from './auth.js';
import { ORG_METER, OrgMeter } from './metering.js';
import type { RouteDoc } from './openapi.js';
import { ZodPipe } from './zod-pipe.js';

/** `GET /v1/usage?minutes=`: how far back the per-minute counts go (the current minute included). */
export const UsageQuery = z.object({ minutes: z.coerce.number().int().min(1).max(1440).default(60) });
export type UsageQuery = z.infer<typeof UsageQuery>;

/** The caller's org's metered requests on this service (any valid org API key; metered itself). */
@Controller('v1/usage')
@UseGuards(ApiKeyGuard)
export class UsageController {
  constructor(@Inject(ORG_METER) private readonly meter: OrgMeter) {}

  @Get()
  @RequireScopes()
  usage(@Auth() auth: AuthContext, @Query(new ZodPipe(UsageQuery, 'query')) query: UsageQuery): Promise<UsageResponse> {
    return this.meter.usage(auth.orgId, { minutes: query.minutes, requestsPerMinute: auth.requestsPerMinute });
  }
}

export interface MeteringOptions {
  meter: OrgMeter;
  /** Authenticates `GET /v1/usage`; without it the route is not served (the meter is still provided). */
  introspector?: ApiKeyIntrospector;
}

/**
 * Provides the service's OrgMeter (ORG_METER) to every module, so each ApiKeyGuard meters the
 * requests it authenticates, and serves `GET /v1/usage`. Only ORG_METER is exported: a service
 * module's own API_KEY_INTROSPECTOR stays its own.
 */
@Global()
@Module({})
export class MeteringModule {
  static register(options: MeteringOptions): DynamicModule {
    return {
      module: MeteringModule,
      global: true,
      controllers: options.introspector ? [UsageController] : [],
      providers: [
        { provide: ORG_METER, useValue: options.meter },
        ...(options.introspector ? [{ provide: API_KEY_INTROSPECTOR, useValue: options.introspector }, ApiKeyGuard] : []),
      ],
      exports: [ORG_METER],
    };
  }
}

/** `GET /v1/usage` in the service's OpenAPI document. */
export const usageRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/usage',
    summary:
      "The caller's org's requests on this service: the current one-minute window (used, remaining) and per-minute counts, refused ones included (any valid org API key)",
    tags: ['usage'],
    query: UsageQuery,
    responses: { 200: UsageResponse },
    errors: [400, 401, 429],
    auth: 'apiKey',
  },
];
