import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Put, Query, UseGuards } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  PutSessionVariablesBody,
  SessionIdParams,
  SessionVariablesQuery,
  type VariableHistoryResponse,
  VariableNameParams,
  type VariablesResponse,
  type VariableView,
} from '@svp/contracts';
import { ApiKeyGuard, Auth, type AuthContext, RequireScopes, VisitorAccess, ZodPipe } from '@svp/service-kit';
import { GetSessionVariables } from './get-session-variables/get-session-variables.handler.js';
import { GetSessionVariableHistory } from './get-variable-history/get-variable-history.handler.js';
import type { VariablesReadModel } from './read-model.js';
import { SetSessionVariables, type SetSessionVariablesResult } from './set-session-variables/set-session-variables.handler.js';
import { VARIABLES_READ_MODEL } from './tokens.js';

@Controller('v1/sessions/:sessionId/variables')
@UseGuards(ApiKeyGuard)
export class SessionVariablesController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    @Inject(VARIABLES_READ_MODEL) private readonly readModel: VariablesReadModel,
  ) {}

  /** Merges the given variables (same name overwrites) and answers with the session's variables. */
  @Put()
  @HttpCode(200)
  @RequireScopes('variables:write')
  @VisitorAccess({ session: 'sessionId' })
  async put(
    @Param(new ZodPipe(SessionIdParams, 'path')) params: SessionIdParams,
    @Body(new ZodPipe(PutSessionVariablesBody, 'body')) body: PutSessionVariablesBody,
    @Auth() auth: AuthContext,
    @Headers('x-correlation-id') correlationId?: string,
  ): Promise<VariablesResponse> {
    const { position } = await this.commands.execute<SetSessionVariables, SetSessionVariablesResult>(
      // The visitor's own page (a visitor token) writes as the widget; everyone else through the API.
      new SetSessionVariables(auth.orgId, params.sessionId, body.sessionVariableValues, auth.visitor ? 'widget' : 'api', auth.keyId, correlationId),
    );
    // Read-your-writes: answer (and let the next GET answer) only from a projection that holds the write.
    await this.readModel.waitFor(position);
    return { variables: await this.queries.execute<GetSessionVariables, VariableView[]>(new GetSessionVariables(auth.orgId, params.sessionId)) };
  }

  /** Session, visitor and metadata scope together; `asOf` for the state at a past time, `room` for the visitor variables of a room. */
  @Get()
  @RequireScopes('variables:read')
  @VisitorAccess({ session: 'sessionId' })
  async get(
    @Param(new ZodPipe(SessionIdParams, 'path')) params: SessionIdParams,
    @Query(new ZodPipe(SessionVariablesQuery, 'query')) query: SessionVariablesQuery,
    @Auth() auth: AuthContext,
  ): Promise<VariablesResponse> {
    return {
      variables: await this.queries.execute<GetSessionVariables, VariableView[]>(
        new GetSessionVariables(auth.orgId, params.sessionId, query.room ? [query.room] : [], query.asOf),
      ),
    };
  }

  /** Every value the name had in this session (session, visitor and metadata scope), with provenance. */
  @Get(':name/history')
  @RequireScopes('variables:read')
  @VisitorAccess({ session: 'sessionId' })
  async history(@Param(new ZodPipe(VariableNameParams, 'path')) params: VariableNameParams, @Auth() auth: AuthContext): Promise<VariableHistoryResponse> {
    return this.queries.execute<GetSessionVariableHistory, VariableHistoryResponse>(new GetSessionVariableHistory(auth.orgId, params.sessionId, params.name));
  }
}
