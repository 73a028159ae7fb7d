import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { NameValue, VariableSource } from '@svp/contracts';
import type { StreamWriter } from '@svp/service-kit';
import { decisionError, withConflictAnswer } from '../errors.js';
import type { VariableSettingsReader } from '../settings.js';
import { runSessionCommand } from '../stores.js';
import { SETTINGS, STREAM_WRITER } from '../tokens.js';

export class SetSessionVariables {
  constructor(
    readonly orgId: string,
    readonly sessionId: string,
    readonly values: NameValue[],
    readonly source: Extract<VariableSource, 'widget' | 'api' | 'agent' | 'bot'>,
    readonly setBy: string | undefined,
    readonly correlationId: string | undefined,
  ) {}
}

export interface SetSessionVariablesResult {
  /** Global position of the last event appended (or of the stream's head when nothing changed). */
  position: bigint;
}

/**
 * Command → load stream → pure decide (with the org's limits) → append with the revision read; a
 * refused command answers with the error body, nothing stored.
 */
@CommandHandler(SetSessionVariables)
export class SetSessionVariablesHandler implements ICommandHandler<SetSessionVariables, SetSessionVariablesResult> {
  constructor(
    @Inject(STREAM_WRITER) private readonly writer: StreamWriter,
    @Inject(SETTINGS) private readonly settings: VariableSettingsReader,
  ) {}

  async execute(command: SetSessionVariables): Promise<SetSessionVariablesResult> {
    const { limits } = await this.settings.get(command.orgId);
    const result = await withConflictAnswer('session variables', () =>
      runSessionCommand(
        this.writer,
        {
          type: 'SetSessionVariables',
          data: {
            orgId: command.orgId,
            sessionId: command.sessionId,
            values: command.values,
            source: command.source,
            ...(command.setBy ? { setBy: command.setBy } : {}),
            now: new Date().toISOString(),
          },
        },
        limits,
        command.correlationId ? { correlationId: command.correlationId } : {},
      ),
    );
    if (!result.ok) throw decisionError(result.error);
    return { position: result.position };
  }
}
