import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { ErasureResponse } from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import type { SqlClient } from '@svp/postgres';
import type { ProjectionRunner } from '@svp/projections';
import { AppError, type DocumentReader, type StreamWriter, randomId } from '@svp/service-kit';
import { erasedStreams } from '@svp/variables-domain';
import { withConflictAnswer } from '../errors.js';
import { type ErasureDoc, sessionsOfVisitor, visitorSessionsProjection } from '../index-projections.js';
import { runErasureCommand } from '../stores.js';
import { STREAM_WRITER, VISITOR_SESSIONS } from '../tokens.js';

/** Which sessions a visitor had, complete up to the log's head (an erasure must find them all). */
export class VisitorSessions {
  constructor(
    private readonly runner: ProjectionRunner,
    private readonly sql: SqlClient,
    private readonly store: EventStore,
  ) {}

  async of(orgId: string, visitorId: string): Promise<string[]> {
    try {
      await this.runner.waitForPosition(visitorSessionsProjection.name, await this.store.headPosition(), { timeoutMs: 10_000 });
    } catch (error) {
      throw new AppError('SERVICE_UNAVAILABLE', "The visitor's sessions cannot be listed yet (a read model is behind); nothing was erased; retry shortly", {
        reason: error instanceof Error ? error.message : String(error),
      });
    }
    return sessionsOfVisitor(this.sql, await this.runner.activeTable(visitorSessionsProjection.name), orgId, visitorId);
  }
}

export class EraseVisitor {
  constructor(
    readonly orgId: string,
    readonly visitorId: string,
    /** Who asked (an API key id). */
    readonly requestedBy: string | undefined,
    readonly correlationId: string | undefined,
  ) {}
}

export interface EraseVisitorResult {
  erasureId: string;
  /** Global position of the erasure record. */
  position: bigint;
}

/**
 * Records the erasure of a visitor: their sessions are listed, the record written (no personal data:
 * the visitor, their session ids, who asked, when). From the record on it is durable: a timer carries
 * it out (every stream marked erased) and each stream is then deleted once the read models and the
 * Kafka relay have passed it; a crash at any point resumes where it stopped.
 */
@CommandHandler(EraseVisitor)
export class EraseVisitorHandler implements ICommandHandler<EraseVisitor, EraseVisitorResult> {
  constructor(
    @Inject(STREAM_WRITER) private readonly writer: StreamWriter,
    @Inject(VISITOR_SESSIONS) private readonly sessions: VisitorSessions,
  ) {}

  async execute({ orgId, visitorId, requestedBy, correlationId }: EraseVisitor): Promise<EraseVisitorResult> {
    const sessionIds = await this.sessions.of(orgId, visitorId);
    const erasureId = randomId('era');
    const result = await withConflictAnswer('erasure', () =>
      runErasureCommand(
        this.writer,
        { type: 'RecordVisitorErasure', data: { orgId, erasureId, visitorId, sessionIds, ...(requestedBy ? { requestedBy } : {}), now: new Date().toISOString() } },
        correlationId ? { correlationId } : {},
      ),
    );
    if (!result.ok) throw new AppError('CONFLICT', 'The erasure could not be recorded');
    return { erasureId, position: result.position };
  }
}

/** An erasure record as the API shows it. */
export function erasureView(doc: ErasureDoc): ErasureResponse {
  const { record } = doc;
  return {
    erasureId: record.erasureId,
    visitorId: record.visitorId,
    status: doc.status === 'completed' ? 'completed' : 'pending',
    sessions: record.sessionIds.length,
    streams: erasedStreams(record).length,
    requestedAt: record.requestedAt,
    completedAt: doc.status === 'completed' ? doc.completedAt : null,
  };
}

/** The erasures read model, for the controller. */
export type ErasuresReadModel = DocumentReader<ErasureDoc>;
