import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import {
  ListSessionsQuery,
  ReplyStatusQuery,
  SessionEventBody,
  SessionIdParams,
  SessionSettingsBody,
  SessionsBatchBody,
  type SessionsBatchResponse,
  StartSessionBody,
  type SessionView,
  type VisitorTokenResponse,
} from '@svp/contracts';
import { ApiKeyGuard, AppError, Auth, type AuthContext, RequireAnyScope, RequireScopes, VisitorAccess, ZodPipe, bearerToken } from '@svp/service-kit';
import type { z } from 'zod';
import type { SessionsCore } from './sessions-core.js';
import { SESSIONS_CORE } from './tokens.js';
import { type VariableActivity, VariableActivityStore } from './variable-activity.js';

@Controller()
@UseGuards(ApiKeyGuard)
export class SessionsController {
  constructor(
    @Inject(SESSIONS_CORE) private readonly sessions: SessionsCore,
    @Inject(VariableActivityStore) private readonly activity: VariableActivityStore,
  ) {}

  /**
   * A visitor's first contact on a channel: a new session (CREATED) with its initial variables, and
   * a visitor token for the browser. A widget key (scope `widget`) may do this and nothing else.
   */
  @Post('v1/sessions')
  @HttpCode(201)
  @RequireAnyScope('sessions:write', 'widget')
  start(
    @Body(new ZodPipe(StartSessionBody, 'body')) body: StartSessionBody,
    @Auth() auth: AuthContext,
    @Headers('authorization') authorization: string | undefined,
    @Headers('x-correlation-id') correlationId?: string,
  ) {
    // The guard authenticated this very key; the variables service checks the initial variables with it.
    const widgetOnly = !auth.scopes.includes('sessions:write');
    return this.sessions.startSession({ orgId: auth.orgId, apiKey: bearerToken(authorization), widgetOnly }, body, correlationId);
  }

  /** A fresh visitor token for a live session (the browser's, before its token expires). */
  @Post('v1/sessions/:sessionId/visitor-token')
  @HttpCode(200)
  @RequireScopes('sessions:read')
  @VisitorAccess({ session: 'sessionId' })
  visitorToken(@Param(new ZodPipe(SessionIdParams, 'path')) params: SessionIdParams, @Auth() auth: AuthContext): Promise<VisitorTokenResponse> {
    return this.sessions.refreshVisitorToken(auth.orgId, params.sessionId);
  }

  /** Several sessions at once (the gateway batches the sessions of one GraphQL request). */
  @Post('internal/v1/sessions/batch')
  @HttpCode(200)
  @RequireScopes('sessions:read')
  async batch(@Body(new ZodPipe(SessionsBatchBody, 'body')) body: SessionsBatchBody, @Auth() auth: AuthContext): Promise<SessionsBatchResponse> {
    return { sessions: await this.sessions.getSessions(auth.orgId, body.sessionIds) };
  }

  @Get('v1/sessions')
  @RequireScopes('sessions:read')
  list(@Query(new ZodPipe(ListSessionsQuery, 'query')) query: ListSessionsQuery, @Auth() auth: AuthContext) {
    return this.sessions.listSessions(auth.orgId, query);
  }

  @Get('v1/sessions/:sessionId')
  @RequireScopes('sessions:read')
  @VisitorAccess({ session: 'sessionId' })
  get(@Param(new ZodPipe(SessionIdParams, 'path')) params: SessionIdParams, @Auth() auth: AuthContext): Promise<SessionView> {
    return this.sessions.getSession(auth.orgId, params.sessionId);
  }

  /** Drives the lifecycle (ROUTED, ASSIGNED, MESSAGE, HOLD, END, BLOCK, PRESENCE); 409 names the current status. */
  @Post('v1/sessions/:sessionId/events')
  @HttpCode(200)
  @RequireScopes('sessions:write')
  @VisitorAccess({ session: 'sessionId' })
  event(
    @Param(new ZodPipe(SessionIdParams, 'path')) params: SessionIdParams,
    @Body(new ZodPipe(SessionEventBody, 'body')) body: SessionEventBody,
    @Auth() auth: AuthContext,
    @Headers('x-correlation-id') correlationId?: string,
  ): Promise<SessionView> {
    // A visitor may end their own session (logout), message as the visitor, and tell their presence; the rest is the business's.
    if (auth.visitor && !(body.type === 'END' || body.type === 'PRESENCE' || (body.type === 'MESSAGE' && body.from === 'VISITOR')))
      throw new AppError('FORBIDDEN', `A visitor token cannot send ${body.type === 'MESSAGE' ? `a MESSAGE from ${body.from}` : body.type}`, { visitorToken: true, type: body.type });
    if (auth.visitor && body.type === 'END' && body.reason !== 'logout' && body.reason !== 'closed')
      throw new AppError('FORBIDDEN', `A visitor ends their session with reason logout or closed, not ${body.reason}`, { visitorToken: true, reason: body.reason });
    return this.sessions.applyEvent(auth.orgId, params.sessionId, body, correlationId);
  }

  /** Can this actor send a message now? */
  @Get('v1/sessions/:sessionId/reply-status')
  @RequireScopes('sessions:read')
  @VisitorAccess({ session: 'sessionId' })
  async replyStatus(
    @Param(new ZodPipe(SessionIdParams, 'path')) params: SessionIdParams,
    @Query(new ZodPipe(ReplyStatusQuery, 'query')) query: z.infer<typeof ReplyStatusQuery>,
    @Auth() auth: AuthContext,
  ) {
    return {
      replyStatus: await this.sessions.replyStatusFor(auth.orgId, params.sessionId, {
        ...(query.actorId ? { id: query.actorId } : {}),
        ...(query.actorType ? { type: query.actorType } : {}),
      }),
    };
  }

  @Get('v1/session-settings')
  @RequireScopes('sessions:read')
  settings(@Auth() auth: AuthContext) {
    return this.sessions.timeouts(auth.orgId);
  }

  /** The org's inactivity timeout and how long an expired session lasts before it ends (reason timeout). */
  @Put('v1/session-settings')
  @RequireScopes('sessions:write')
  setSettings(@Body(new ZodPipe(SessionSettingsBody, 'body')) body: z.infer<typeof SessionSettingsBody>, @Auth() auth: AuthContext) {
    return this.sessions.setTimeouts(auth.orgId, body);
  }

  /** What the sessions service has learnt over Kafka of a session's variable changes. */
  @Get('internal/v1/sessions/:sessionId/variable-activity')
  @RequireScopes('sessions:read')
  async variableActivity(@Param(new ZodPipe(SessionIdParams, 'path')) params: SessionIdParams, @Auth() auth: AuthContext): Promise<VariableActivity> {
    const activity = await this.activity.get(auth.orgId, params.sessionId);
    if (!activity) throw new AppError('NOT_FOUND', `No variable activity known for session ${params.sessionId}`);
    return activity;
  }
}
