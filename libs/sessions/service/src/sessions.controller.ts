import { Controller, Get, Inject, Param, UseGuards } from '@nestjs/common';
import { SessionIdParams } from '@svp/contracts';
import { ApiKeyGuard, AppError, Auth, type AuthContext, RequireScopes, ZodPipe } from '@svp/service-kit';
import { type VariableActivity, VariableActivityStore } from './variable-activity.js';

@Controller()
@UseGuards(ApiKeyGuard)
export class SessionsController {
  constructor(@Inject(VariableActivityStore) private readonly activity: VariableActivityStore) {}

  /** What the sessions service has learnt over Kafka of a session's variable changes. */
  @Get('internal/v1/sessions/:sessionId/variable-activity')
  @RequireScopes('sessions:read')
  async variableActivity(
    @Param(new ZodPipe(SessionIdParams, 'path')) params: SessionIdParams,
    @Auth() auth: AuthContext,
  ): Promise<VariableActivity> {
    const activity = await this.activity.get(auth.orgId, params.sessionId);
    if (!activity) throw new AppError('NOT_FOUND', `No variable activity known for session ${params.sessionId}`);
    return activity;
  }
}
