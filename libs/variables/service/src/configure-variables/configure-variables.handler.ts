import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { PutVariableSettingsBody, VariableSettingsResponse } from '@svp/contracts';
import type { StreamWriter } from '@svp/service-kit';
import { decisionError, withConflictAnswer } from '../errors.js';
import type { VariableSettingsReader } from '../settings.js';
import { runSettingsCommand } from '../stores.js';
import { SETTINGS, STREAM_WRITER } from '../tokens.js';

export class ConfigureVariables {
  constructor(
    readonly orgId: string,
    readonly body: PutVariableSettingsBody,
    readonly correlationId: string | undefined,
  ) {}
}

/** An org changes its limits (those not given keep their value) and its retention; answers the settings in force. */
@CommandHandler(ConfigureVariables)
export class ConfigureVariablesHandler implements ICommandHandler<ConfigureVariables, VariableSettingsResponse> {
  constructor(
    @Inject(STREAM_WRITER) private readonly writer: StreamWriter,
    @Inject(SETTINGS) private readonly settings: VariableSettingsReader,
  ) {}

  async execute({ orgId, body, correlationId }: ConfigureVariables): Promise<VariableSettingsResponse> {
    const result = await withConflictAnswer('variable settings', () =>
      runSettingsCommand(
        this.writer,
        {
          type: 'ConfigureVariables',
          data: { orgId, ...(body.limits ? { limits: body.limits } : {}), ...(body.retentionDays !== undefined ? { retentionDays: body.retentionDays } : {}), now: new Date().toISOString() },
        },
        this.settings.defaults,
        correlationId ? { correlationId } : {},
      ),
    );
    if (!result.ok) throw decisionError(result.error);
    // Read-your-writes: the next command of the org is decided with these limits.
    await this.settings.waitFor(result.position);
    return this.settings.view(orgId);
  }
}
