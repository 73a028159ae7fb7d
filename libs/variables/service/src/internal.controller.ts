import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import {
  CheckVariablesBody,
  type CheckVariablesResponse,
  SessionsVariablesBatchBody,
  type SessionsVariablesBatchResponse,
  type VariableView,
  VisitorsBatchBody,
  type VisitorsBatchResponse,
  type VisitorResponse,
} from '@svp/contracts';
import { GetSessionVariables } from './get-session-variables/get-session-variables.handler.js';
import { GetVisitor } from './get-visitor/get-visitor.handler.js';
import { ApiKeyGuard, Auth, type AuthContext, RequireScopes, ZodPipe } from '@svp/service-kit';
import { decide, initialState } from '@svp/variables-domain';
import { decisionError } from './errors.js';
import type { VariableSettingsReader } from './settings.js';
import { SETTINGS } from './tokens.js';

/** What other services ask the variables service synchronously. */
@Controller('internal/v1/variables')
@UseGuards(ApiKeyGuard)
export class InternalVariablesController {
  constructor(
    @Inject(SETTINGS) private readonly settings: VariableSettingsReader,
    private readonly queries: QueryBus,
  ) {}

  /**
   * Would a new session accept these initial variables? The same pure decision a write makes (the
   * org's limits, metadata names read-only), on a session holding nothing; nothing is stored. Answers
   * 200, or the error the write would get.
   */
  @Post('check')
  @HttpCode(200)
  @RequireScopes()
  async check(@Body(new ZodPipe(CheckVariablesBody, 'body')) body: CheckVariablesBody, @Auth() auth: AuthContext): Promise<CheckVariablesResponse> {
    const { limits } = await this.settings.get(auth.orgId);
    const decision = decide(
      { type: 'SetSessionVariables', data: { orgId: auth.orgId, sessionId: 'check', values: body.sessionVariableValues, source: 'widget', now: new Date(0).toISOString() } },
      initialState(),
      limits,
    );
    if (!decision.ok) throw decisionError(decision.error);
    return { ok: true };
  }

  /** The variables of several sessions (the gateway batches the sessions of one GraphQL request). */
  @Post('sessions/batch')
  @HttpCode(200)
  @RequireScopes('variables:read')
  async sessions(@Body(new ZodPipe(SessionsVariablesBatchBody, 'body')) body: SessionsVariablesBatchBody, @Auth() auth: AuthContext): Promise<SessionsVariablesBatchResponse> {
    const rooms = body.room ? [body.room] : [];
    return {
      sessions: await Promise.all(
        body.sessionIds.map(async (sessionId) => ({
          sessionId,
          variables: await this.queries.execute<GetSessionVariables, VariableView[]>(new GetSessionVariables(auth.orgId, sessionId, rooms)),
        })),
      ),
    };
  }

  /** Several visitors at once. */
  @Post('visitors/batch')
  @HttpCode(200)
  @RequireScopes('variables:read')
  async visitors(@Body(new ZodPipe(VisitorsBatchBody, 'body')) body: VisitorsBatchBody, @Auth() auth: AuthContext): Promise<VisitorsBatchResponse> {
    const rooms = body.room ? [body.room] : [];
    return { visitors: await Promise.all(body.visitorIds.map((visitorId) => this.queries.execute<GetVisitor, VisitorResponse>(new GetVisitor(auth.orgId, visitorId, rooms)))) };
  }
}
