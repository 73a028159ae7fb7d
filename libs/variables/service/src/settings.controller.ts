import { Body, Controller, Get, Headers, Inject, Param, Put, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ErasureIdParams, type ErasureResponse, PutVariableSettingsBody, type VariableSettingsResponse } from '@svp/contracts';
import { ApiKeyGuard, AppError, Auth, type AuthContext, RequireScopes, ZodPipe } from '@svp/service-kit';
import { ConfigureVariables } from './configure-variables/configure-variables.handler.js';
import { type ErasuresReadModel, erasureView } from './erase-visitor/erase-visitor.handler.js';
import type { VariableSettingsReader } from './settings.js';
import { ERASURES_READ_MODEL, SETTINGS } from './tokens.js';

/** An org's variable limits and retention. */
@Controller('v1/variables/settings')
@UseGuards(ApiKeyGuard)
export class VariableSettingsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(SETTINGS) private readonly settings: VariableSettingsReader,
  ) {}

  @Get()
  @RequireScopes('variables:read')
  async get(@Auth() auth: AuthContext): Promise<VariableSettingsResponse> {
    return this.settings.view(auth.orgId);
  }

  @Put()
  @RequireScopes('variables:admin')
  async put(
    @Body(new ZodPipe(PutVariableSettingsBody, 'body')) body: PutVariableSettingsBody,
    @Auth() auth: AuthContext,
    @Headers('x-correlation-id') correlationId?: string,
  ): Promise<VariableSettingsResponse> {
    return this.commands.execute<ConfigureVariables, VariableSettingsResponse>(new ConfigureVariables(auth.orgId, body, correlationId));
  }
}

/** The erasure records of an org. */
@Controller('v1/erasures')
@UseGuards(ApiKeyGuard)
export class ErasuresController {
  constructor(@Inject(ERASURES_READ_MODEL) private readonly erasures: ErasuresReadModel) {}

  @Get(':erasureId')
  @RequireScopes('variables:admin')
  async get(@Param(new ZodPipe(ErasureIdParams, 'path')) params: ErasureIdParams, @Auth() auth: AuthContext): Promise<ErasureResponse> {
    const doc = await this.erasures.get(`${auth.orgId}.${params.erasureId}`);
    if (!doc) throw new AppError('NOT_FOUND', `No erasure ${params.erasureId} in this org`, { erasureId: params.erasureId });
    return erasureView(doc);
  }
}
