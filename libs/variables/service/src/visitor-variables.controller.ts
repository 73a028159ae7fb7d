import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { SubmitVisitorVariablesBody, VisitorIdParams, VisitorQuery, type VisitorResponse } from '@svp/contracts';
import { ApiKeyGuard, AppError, Auth, type AuthContext, RequireScopes, ZodPipe, bearerToken } from '@svp/service-kit';
import { roomLabel } from '@svp/variables-domain';
import { GetVisitor } from './get-visitor/get-visitor.handler.js';
import type { VisitorReadModel } from './read-model.js';
import {
  SubmitVisitorVariables,
  type SubmitVisitorVariablesResult,
} from './submit-visitor-variables/submit-visitor-variables.handler.js';
import { VISITOR_READ_MODEL } from './tokens.js';

@Controller('v1/visitors/:visitorId')
@UseGuards(ApiKeyGuard)
export class VisitorVariablesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    @Inject(VISITOR_READ_MODEL) private readonly readModel: VisitorReadModel,
  ) {}

  /**
   * giosg's `submit(data, signing, replaceExisting, rooms)`. Answers with the visitor as a read for the
   * submit's rooms sees it (a submit naming no room: as a read naming none).
   */
  @Post('variables')
  @HttpCode(200)
  @RequireScopes('variables:write')
  async submit(
    @Param(new ZodPipe(VisitorIdParams, 'path')) params: VisitorIdParams,
    @Body(new ZodPipe(SubmitVisitorVariablesBody, 'body')) body: SubmitVisitorVariablesBody,
    @Auth() auth: AuthContext,
    @Headers('authorization') authorization: string | undefined,
    @Headers('x-correlation-id') correlationId?: string,
  ): Promise<VisitorResponse> {
    // The guard authenticated this very key; identity checks a signed token against its org.
    const apiKey = bearerToken(authorization);
    if (!apiKey) throw new AppError('UNAUTHENTICATED', 'Missing "Authorization: Bearer <org API key>" header');
    const { position } = await this.commands.execute<SubmitVisitorVariables, SubmitVisitorVariablesResult>(
      new SubmitVisitorVariables(auth.orgId, params.visitorId, body, apiKey, auth.keyId, correlationId),
    );
    // Read-your-writes: answer (and let the next GET answer) only from a projection that holds the write.
    await this.readModel.waitFor(position);
    return this.queries.execute<GetVisitor, VisitorResponse>(new GetVisitor(auth.orgId, params.visitorId, (body.rooms ?? []).map(roomLabel)));
  }

  /** The visitor's display name and variables; `room` (an id or a name) adds the variables limited to that room. */
  @Get()
  @RequireScopes('variables:read')
  async get(
    @Param(new ZodPipe(VisitorIdParams, 'path')) params: VisitorIdParams,
    @Query(new ZodPipe(VisitorQuery, 'query')) query: VisitorQuery,
    @Auth() auth: AuthContext,
  ): Promise<VisitorResponse> {
    return this.queries.execute<GetVisitor, VisitorResponse>(new GetVisitor(auth.orgId, params.visitorId, query.room ? [query.room] : []));
  }
}
