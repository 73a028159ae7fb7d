import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { CheckVariablesBody, type CheckVariablesResponse } from '@svp/contracts';
import { ApiKeyGuard, Auth, type AuthContext, RequireScopes, ZodPipe } from '@svp/service-kit';
import { decide, initialState } from '@svp/variables-domain';
import { decisionError } from './errors.js';
import type { VariableSettingsReader } from './settings.js';
import { SETTINGS } from './tokens.js';

/** What other services ask the variables service synchronously. */
@Controller('internal/v1/variables')
@UseGuards(ApiKeyGuard)
export class InternalVariablesController {
  constructor(@Inject(SETTINGS) private readonly settings: VariableSettingsReader) {}

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
}
