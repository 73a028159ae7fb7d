import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Put, UseGuards } from '@nestjs/common';
import {
  ClaimMappingBody,
  SessionIdParams,
  type SessionIdentityResponse,
  VerifyIdentityBody,
  type VerifyIdentityResponse,
  VerifySignatureBody,
  type VerifySignatureResponse,
} from '@svp/contracts';
import { ApiKeyGuard, AppError, Auth, type AuthContext, RequireScopes, VisitorAccess, ZodPipe } from '@svp/service-kit';
import type { z } from 'zod';
import type { IdentityCore } from './identity-core.js';
import { IDENTITY_CORE } from './tokens.js';

@Controller()
@UseGuards(ApiKeyGuard)
export class VerificationController {
  constructor(@Inject(IDENTITY_CORE) private readonly identity: IdentityCore) {}

  /**
   * Verifies a messaging JWT. An invalid token is `200 { authenticated: false, reason }`, not an HTTP
   * error; with a sessionId the outcome is kept on the session's identity record either way.
   */
  @Post('v1/identity/verify')
  @HttpCode(200)
  @RequireScopes('sessions:write')
  @VisitorAccess({})
  verify(
    @Body(new ZodPipe(VerifyIdentityBody, 'body')) body: VerifyIdentityBody,
    @Auth() auth: AuthContext,
    @Headers('x-correlation-id') correlationId?: string,
  ): Promise<VerifyIdentityResponse> {
    // A visitor signs in on their own session only, as its visitor (their page's `authenticate`).
    if (auth.visitor) {
      if (body.sessionId !== auth.visitor.sessionId || (body.visitorId !== undefined && body.visitorId !== auth.visitor.visitorId))
        throw new AppError('FORBIDDEN', 'A visitor token verifies an identity for its own session (and visitor) only', { visitorToken: true });
      return this.identity.verifyIdentity(auth.orgId, { ...body, visitorId: auth.visitor.visitorId }, correlationId);
    }
    return this.identity.verifyIdentity(auth.orgId, body, correlationId);
  }

  /** The session's identity record: who it is authenticated as, and every recent attempt with its reason. */
  @Get('v1/identity/sessions/:sessionId')
  @RequireScopes('sessions:read')
  @VisitorAccess({ session: 'sessionId' })
  session(@Param(new ZodPipe(SessionIdParams, 'path')) params: SessionIdParams, @Auth() auth: AuthContext): Promise<SessionIdentityResponse> {
    return this.identity.sessionIdentity(auth.orgId, params.sessionId);
  }

  @Get('v1/identity/claim-mapping')
  @RequireScopes('identity:admin')
  async claimMapping(@Auth() auth: AuthContext) {
    return { mappings: (await this.identity.getOrg(auth.orgId)).claimMapping };
  }

  /** Which custom claims become which typed session or visitor variables (verified, source `claim`). */
  @Put('v1/identity/claim-mapping')
  @RequireScopes('identity:admin')
  async setClaimMapping(@Body(new ZodPipe(ClaimMappingBody, 'body')) body: z.infer<typeof ClaimMappingBody>, @Auth() auth: AuthContext) {
    return { mappings: await this.identity.setClaimMapping(auth.orgId, body.mappings) };
  }

  /** Internal: the signature check for signed visitor data (the variables service calls it with the caller's key). */
  @Post('internal/v1/signatures/verify')
  @HttpCode(200)
  @RequireScopes('variables:write')
  // A visitor's signed data reaches this through the variables service, with the visitor's token.
  @VisitorAccess({})
  verifySignature(@Body(new ZodPipe(VerifySignatureBody, 'body')) body: z.infer<typeof VerifySignatureBody>, @Auth() auth: AuthContext): Promise<VerifySignatureResponse> {
    return this.identity.verifySignature(auth.orgId, body.token, body.alg);
  }
}
