import { Body, Controller, Headers, HttpCode, Inject, Post, Res, UseGuards } from '@nestjs/common';
import { GraphqlRequest } from '@svp/contracts';
import { ApiKeyGuard, Auth, type AuthContext, RequireScopes, VisitorAccess, ZodPipe, bearerToken } from '@svp/service-kit';
import type { GatewayRuntime } from './gateway-runtime.js';
import { GATEWAY_RUNTIME } from './tokens.js';

interface StatusReply {
  status(code: number): unknown;
}

/**
 * GraphQL over HTTP: `POST /graphql` with `{ query, variables?, operationName? }` and the caller's
 * bearer (an org API key, a widget key for startSession, or a visitor token for its own session).
 * The guard authenticates and meters the request; every service call the operation makes carries
 * the same credential, so each service decides what it may see and meters it too.
 */
@Controller('graphql')
@UseGuards(ApiKeyGuard)
export class GraphqlController {
  constructor(@Inject(GATEWAY_RUNTIME) private readonly runtime: GatewayRuntime) {}

  @Post()
  @HttpCode(200)
  @RequireScopes()
  // Visitor tokens are welcome; the resolvers keep them to their own session and visitor.
  @VisitorAccess({})
  async post(
    @Body(new ZodPipe(GraphqlRequest, 'body')) body: GraphqlRequest,
    @Auth() auth: AuthContext,
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: StatusReply,
    @Headers('x-correlation-id') correlationId?: string,
  ) {
    const answer = await this.runtime.executeHttp(body, auth, bearerToken(authorization) ?? '', correlationId);
    reply.status(answer.status);
    return answer.body;
  }
}
