import { randomUUID } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { NameValue, VariableSource } from '@svp/contracts';
import { type EventStore, WrongExpectedRevisionError } from '@svp/event-store';
import { AppError } from '@svp/service-kit';
import {
  type SessionVariablesEvent,
  type SessionVariablesState,
  type VariableLimits,
  decide,
  evolve,
  initialState,
  sessionVariablesStream,
} from '@svp/variables-domain';
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

/** Loads a session-variables stream and folds it into the decider's state. */
export async function loadSessionVariables(store: EventStore, orgId: string, sessionId: string) {
  const events = await store.readStream(sessionVariablesStream(orgId, sessionId));
  const state = events.reduce<SessionVariablesState>(
    (s, e) => evolve(s, { type: e.type, data: e.data } as SessionVariablesEvent),
    initialState(),
  );
  const last = events.at(-1);
  return { state, revision: last?.streamRevision, position: last?.globalPosition ?? 0n };
}

/**
 * Command → load stream → pure decide → append with the revision read. On a concurrency conflict the
 * whole decision runs again (it is pure), a bounded number of times.
 */
@CommandHandler(SetSessionVariables)
export class SetSessionVariablesHandler implements ICommandHandler<SetSessionVariables, SetSessionVariablesResult> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(VARIABLES_OPTIONS) private readonly options: VariablesOptions,
  ) {}

  async execute(command: SetSessionVariables): Promise<SetSessionVariablesResult> {
    const stream = sessionVariablesStream(command.orgId, command.sessionId);
    for (let attempt = 1; ; attempt++) {
      const { state, revision, position } = await loadSessionVariables(this.store, command.orgId, command.sessionId);
      const decision = decide(
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
        state,
        this.options.limits,
      );
      if (!decision.ok) throw new AppError(decision.error.code, decision.error.message, decision.error.details);
      if (decision.events.length === 0) return { position };
      try {
        const result = await this.store.appendToStream(
          stream,
          decision.events.map((e) => ({
            eventId: randomUUID(),
            type: e.type,
            data: e.data,
            metadata: { orgId: command.orgId, ...(command.correlationId ? { correlationId: command.correlationId } : {}) },
          })),
          { expectedRevision: revision ?? 'no_stream' },
        );
        return { position: result.lastGlobalPosition };
      } catch (error) {
        if (error instanceof WrongExpectedRevisionError && attempt < this.options.maxConflictRetries) continue;
        if (error instanceof WrongExpectedRevisionError)
          throw new AppError('CONFLICT', 'The session variables changed concurrently; retry', {
            expected: String(error.expected),
            actual: String(error.actual),
          });
        throw error;
      }
    }
  }
}
