import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Patch, Post, Put, UseGuards } from '@nestjs/common';
import {
  CreateBrandBody,
  type CreateBrandResponse,
  CreateOrgBody,
  type CreateOrgResponse,
  type IntrospectApiKeyResponse,
  OrgIdParams,
  type OrgResponse,
  SetOrgQuotaBody,
  UpdateOrgBody,
} from '@svp/contracts';
import { ApiKeyGuard, AppError, Auth, type AuthContext, RequireScopes, RootTokenGuard, ZodPipe, bearerToken } from '@svp/service-kit';
import type { z } from 'zod';
import type { IdentityCore } from './identity-core.js';
import type { OrgDoc } from './projections.js';
import { IDENTITY_CORE } from './tokens.js';

/** An org's routes take the org id in the path; a key of another org finds nothing there. */
export function ownOrg(auth: AuthContext, orgId: string): string {
  if (auth.orgId !== orgId) throw new AppError('NOT_FOUND', `Org ${orgId} not found`);
  return orgId;
}

const orgView = (doc: OrgDoc): OrgResponse => ({
  orgId: doc.orgId,
  name: doc.name,
  linkBrands: doc.linkBrands,
  brands: doc.brands,
  requestsPerMinute: doc.requestsPerMinute,
});

@Controller()
export class OrgsController {
  constructor(@Inject(IDENTITY_CORE) private readonly identity: IdentityCore) {}

  /** Creates an org and its first API key (every scope); the key is shown only in this answer. */
  @Post('v1/orgs')
  @HttpCode(201)
  @UseGuards(RootTokenGuard)
  async createOrg(@Body(new ZodPipe(CreateOrgBody, 'body')) body: z.infer<typeof CreateOrgBody>): Promise<CreateOrgResponse> {
    return this.identity.createOrg(body.name);
  }

  @Get('v1/orgs/:orgId')
  @UseGuards(ApiKeyGuard)
  @RequireScopes('identity:admin')
  async getOrg(@Param(new ZodPipe(OrgIdParams, 'path')) params: z.infer<typeof OrgIdParams>, @Auth() auth: AuthContext): Promise<OrgResponse> {
    return orgView(await this.identity.getOrg(ownOrg(auth, params.orgId)));
  }

  /** Org settings: `linkBrands` (one external id space across brands). */
  @Patch('v1/orgs/:orgId')
  @UseGuards(ApiKeyGuard)
  @RequireScopes('identity:admin')
  async updateOrg(
    @Param(new ZodPipe(OrgIdParams, 'path')) params: z.infer<typeof OrgIdParams>,
    @Body(new ZodPipe(UpdateOrgBody, 'body')) body: z.infer<typeof UpdateOrgBody>,
    @Auth() auth: AuthContext,
  ): Promise<OrgResponse> {
    return orgView(await this.identity.setBrandLinking(ownOrg(auth, params.orgId), body.linkBrands));
  }

  /** The platform operator sets an org's request quota (root token). */
  @Put('v1/orgs/:orgId/quota')
  @UseGuards(RootTokenGuard)
  async setQuota(
    @Param(new ZodPipe(OrgIdParams, 'path')) params: z.infer<typeof OrgIdParams>,
    @Body(new ZodPipe(SetOrgQuotaBody, 'body')) body: z.infer<typeof SetOrgQuotaBody>,
  ): Promise<OrgResponse> {
    return orgView(await this.identity.setQuota(params.orgId, body.requestsPerMinute));
  }

  @Post('v1/orgs/:orgId/brands')
  @HttpCode(201)
  @UseGuards(ApiKeyGuard)
  @RequireScopes('identity:admin')
  async createBrand(
    @Param(new ZodPipe(OrgIdParams, 'path')) params: z.infer<typeof OrgIdParams>,
    @Body(new ZodPipe(CreateBrandBody, 'body')) body: z.infer<typeof CreateBrandBody>,
    @Auth() auth: AuthContext,
  ): Promise<CreateBrandResponse> {
    return this.identity.createBrand(ownOrg(auth, params.orgId), body.name);
  }

  /** The org's brands; any key of the org may read them (the variables service resolves SalesIQ portals with it). */
  @Get('v1/orgs/:orgId/brands')
  @UseGuards(ApiKeyGuard)
  @RequireScopes()
  async listBrands(@Param(new ZodPipe(OrgIdParams, 'path')) params: z.infer<typeof OrgIdParams>, @Auth() auth: AuthContext) {
    return { brands: (await this.identity.getOrg(ownOrg(auth, params.orgId))).brands };
  }

  /** Internal: who the bearer API key belongs to. Other services call this (cached) to authenticate. */
  @Post('internal/v1/api-keys/introspect')
  @HttpCode(200)
  async introspect(@Headers('authorization') authorization: string | undefined): Promise<IntrospectApiKeyResponse> {
    const key = bearerToken(authorization);
    if (!key) throw new AppError('UNAUTHENTICATED', 'Missing "Authorization: Bearer <API key>" header');
    return this.identity.introspectCredential(key);
  }
}
