import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { CreateApiKeyBody, KeyIdParams } from '@svp/contracts';
import { ApiKeyGuard, Auth, type AuthContext, RequireScopes, ZodPipe } from '@svp/service-kit';
import type { z } from 'zod';
import type { IdentityCore } from './identity-core.js';
import { IDENTITY_CORE } from './tokens.js';

/** The org's API keys: issue one with the scopes it needs (shown once), list them, revoke one. */
@Controller('v1/api-keys')
@UseGuards(ApiKeyGuard)
export class ApiKeysController {
  constructor(@Inject(IDENTITY_CORE) private readonly identity: IdentityCore) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('identity:admin')
  create(@Body(new ZodPipe(CreateApiKeyBody, 'body')) body: z.infer<typeof CreateApiKeyBody>, @Auth() auth: AuthContext) {
    return this.identity.createApiKey(auth.orgId, body.scopes, body.name);
  }

  @Get()
  @RequireScopes('identity:admin')
  async list(@Auth() auth: AuthContext) {
    return { apiKeys: (await this.identity.getOrg(auth.orgId)).apiKeys };
  }

  /** Revokes a key: every service refuses it within a second (their introspection cache). */
  @Delete(':keyId')
  @RequireScopes('identity:admin')
  revoke(@Param(new ZodPipe(KeyIdParams, 'path')) params: z.infer<typeof KeyIdParams>, @Auth() auth: AuthContext) {
    return this.identity.revokeApiKey(auth.orgId, params.keyId);
  }
}
