import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  type ErasureResponse,
  SubmitVisitorVariablesBody,
  type VariableHistoryResponse,
  VisitorIdParams,
  VisitorQuery,
  type VisitorResponse,
  VisitorVariableNameParams,
} from '@svp/contracts';
import { ApiKeyGuard, AppError, Auth, type AuthContext, RequireScopes, VisitorAccess, ZodPipe, bearerToken } from '@svp/service-kit';
import { roomLabel } from '@svp/variables-domain';
import { EraseVisitor, type EraseVisitorResult, type ErasuresReadModel, erasureView } from './erase-visitor/erase-visitor.handler.js';
import { GetVisitorVariableHistory } from './get-variable-history/get-variable-history.handler.js';
import { GetVisitor } from './get-visitor/get-visitor.handler.js';
import type { VisitorReadModel } from './read-model.js';
import { SubmitVisitorVariables, type SubmitVisitorVariablesResult } from './submit-visitor-variables/submit-visitor-variables.handler.js';
import { ERASURES_READ_MODEL, VISITOR_READ_MODEL } from './tokens.js';

/** How long DELETE /v1/visitors/{id} waits for the erasure to complete before answering 202 (it goes on either way). */
export const ERASURE_WAIT_MS = 10_000;

interface StatusReply {
  status(code: number): unknown;
}

@Controller('v1/visitors/:visitorId')
@UseGuards(ApiKeyGuard)
export class VisitorVariablesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    @Inject(VISITOR_READ_MODEL) private readonly readModel: VisitorReadModel,
    @Inject(ERASURES_READ_MODEL) private readonly erasures: ErasuresReadModel,
  ) {}

  /**
   * giosg's `submit(data, signing, replaceExisting, rooms)`. Answers with the visitor as a read for the
   * submit's rooms sees it (a submit naming no room: as a read naming none).
   */
  @Post('variables')
  @HttpCode(200)
  @RequireScopes('variables:write')
  @VisitorAccess({ visitor: 'visitorId' })
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
      new SubmitVisitorVariables(auth.orgId, params.visitorId, body, apiKey, auth.keyId, correlationId, auth.visitor ? 'widget' : 'api'),
    );
    // Read-your-writes: answer (and let the next GET answer) only from a projection that holds the write.
    await this.readModel.waitFor(position);
    return this.queries.execute<GetVisitor, VisitorResponse>(new GetVisitor(auth.orgId, params.visitorId, (body.rooms ?? []).map(roomLabel)));
  }

  /** The visitor's display name and variables; `room` (an id or a name) adds the variables limited to that room; `asOf` reads the past. */
  @Get()
  @RequireScopes('variables:read')
  @VisitorAccess({ visitor: 'visitorId' })
  async get(
    @Param(new ZodPipe(VisitorIdParams, 'path')) params: VisitorIdParams,
    @Query(new ZodPipe(VisitorQuery, 'query')) query: VisitorQuery,
    @Auth() auth: AuthContext,
  ): Promise<VisitorResponse> {
    return this.queries.execute<GetVisitor, VisitorResponse>(new GetVisitor(auth.orgId, params.visitorId, query.room ? [query.room] : [], query.asOf));
  }

  /** Every value the visitor variable had, with provenance. */
  @Get('variables/:name/history')
  @RequireScopes('variables:read')
  @VisitorAccess({ visitor: 'visitorId' })
  async history(@Param(new ZodPipe(VisitorVariableNameParams, 'path')) params: VisitorVariableNameParams, @Auth() auth: AuthContext): Promise<VariableHistoryResponse> {
    return this.queries.execute<GetVisitorVariableHistory, VariableHistoryResponse>(new GetVisitorVariableHistory(auth.orgId, params.visitorId, params.name));
  }

  /**
   * Erases the visitor everywhere in this service: their variables and the variables of their
   * sessions (streams deleted, read models cleared); an erasure record without personal data stays,
   * and VisitorErased tells the other services. 200 once complete; 202 while it is still under way
   * (GET /v1/erasures/{erasureId} follows it).
   */
  @Delete()
  @RequireScopes('variables:admin')
  async erase(
    @Param(new ZodPipe(VisitorIdParams, 'path')) params: VisitorIdParams,
    @Auth() auth: AuthContext,
    @Res({ passthrough: true }) reply: StatusReply,
    @Headers('x-correlation-id') correlationId?: string,
  ): Promise<ErasureResponse> {
    const { erasureId, position } = await this.commands.execute<EraseVisitor, EraseVisitorResult>(
      new EraseVisitor(auth.orgId, params.visitorId, auth.keyId, correlationId),
    );
    await this.erasures.waitFor(position);
    const key = `${auth.orgId}.${erasureId}`;
    const deadline = Date.now() + ERASURE_WAIT_MS;
    let doc = await this.erasures.get(key);
    while (doc?.status !== 'completed' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      doc = await this.erasures.get(key);
    }
    if (!doc) throw new AppError('SERVICE_UNAVAILABLE', 'The erasure is recorded but its record cannot be read yet', { erasureId });
    reply.status(doc.status === 'completed' ? 200 : 202);
    return erasureView(doc);
  }
}
