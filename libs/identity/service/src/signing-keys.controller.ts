import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, UseGuards } from '@nestjs/common';
import { CreateSigningKeyBody, KidParams, RotateSigningKeyBody } from '@svp/contracts';
import { ApiKeyGuard, Auth, type AuthContext, RequireScopes, ZodPipe } from '@svp/service-kit';
import type { z } from 'zod';
import type { IdentityCore } from './identity-core.js';
import { IDENTITY_CORE } from './tokens.js';

/** Signing keys of the caller's org (optionally per brand): HS256 generated here, RS256/ES256 given. */
@Controller('v1/signing-keys')
@UseGuards(ApiKeyGuard)
export class SigningKeysController {
  constructor(@Inject(IDENTITY_CORE) private readonly identity: IdentityCore) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('identity:admin')
  create(@Body(new ZodPipe(CreateSigningKeyBody, 'body')) body: z.infer<typeof CreateSigningKeyBody>, @Auth() auth: AuthContext) {
    return this.identity.createSigningKey(auth.orgId, body);
  }

  @Get()
  @RequireScopes('identity:admin')
  async list(@Auth() auth: AuthContext) {
    return { signingKeys: await this.identity.listSigningKeys(auth.orgId) };
  }

  /** A new key replaces `kid`; the old one stays valid for the grace period. */
  @Post(':kid/rotate')
  @HttpCode(201)
  @RequireScopes('identity:admin')
  rotate(
    @Param(new ZodPipe(KidParams, 'path')) params: z.infer<typeof KidParams>,
    @Body(new ZodPipe(RotateSigningKeyBody, 'body')) body: z.infer<typeof RotateSigningKeyBody>,
    @Auth() auth: AuthContext,
  ) {
    return this.identity.rotateSigningKey(auth.orgId, params.kid, body ?? {});
  }

  /** Revokes a key: refused at once by every verification (all of them read identity's keys). */
  @Delete(':kid')
  @RequireScopes('identity:admin')
  revoke(@Param(new ZodPipe(KidParams, 'path')) params: z.infer<typeof KidParams>, @Auth() auth: AuthContext) {
    return this.identity.revokeSigningKey(auth.orgId, params.kid);
  }
}
