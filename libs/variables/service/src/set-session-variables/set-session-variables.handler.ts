import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { NameValue, VariableSource } from '@svp/contracts';
import { type EventStore, WrongExpectedRevisionError } from '@svp/event-store';
import { AppError } from '@svp/service-kit';
import type { VariableLimits } from '@svp/variables-domain';
import { runSessionVariablesCommand } from '../session-variables.store.js';
import { EVENT_STORE, VARIABLES_OPTIONS } from '../tokens.js';

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

export interface VariablesOptions {
  limits: VariableLimits;
  /** Attempts on an optimistic-concurrency conflict before answering 409. */
  maxConflictRetries: number;
}

/**
 * Command → load stream → pure decide → append with the revision read (runSessionVariablesCommand);
 * a refused command or a conflict that outlasts the retries answers with the error body.
 */
@CommandHandler(SetSessionVariables)
export class SetSessionVariablesHandler implements ICommandHandler<SetSessionVariables, SetSessionVariablesResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(VARIABLES_OPTIONS) private readonly options: VariablesOptions,
  ) {}

  async execute(command: SetSessionVariables): Promise<SetSessionVariablesResult> {
    try {
      const result = await runSessionVariablesCommand(
        this.store,
        {
          type: 'SetSessionVariables',
          data: {
            orgId: command.orgId,
            sessionId: command.sessionId,
            values: command.values,
            source: command.source,
            setBy: command.setBy,
            now: new Date().toISOString(),
          },
        },
        { ...this.options, correlationId: command.correlationId },
      );
      if (!result.ok) throw new AppError(result.error.code, result.error.message, result.error.details);
      return { position: result.position };
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError)
        throw new AppError('CONFLICT', 'The session variables changed concurrently; retry', {
          expected: String(error.expected),
          actual: String(error.actual),
        });
      throw error;
    }
  }
}
