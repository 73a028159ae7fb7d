import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import type { ErasureResponse } from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import { AppError, type DocumentReader, type StreamWriter, randomId } from '@svp/service-kit';
import { erasedStreams, visitorVariablesStream } from '@svp/variables-domain';
import { withConflictAnswer } from '../errors.js';
import type { ErasureDoc } from '../index-projections.js';
import { loadFolded, runErasureCommand, visitorFold } from '../stores.js';
import { EVENT_STORE, STREAM_WRITER } from '../tokens.js';

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
 * Records the erasure of a visitor: their sessions are read from the visitor's stream (which links
 * every session they started), the record written (no personal data:
 * the visitor, their session ids, who asked, when). From the record on it is durable: a timer carries
 * it out (every stream marked erased) and each stream is then deleted once the read models and the
 * Kafka relay have passed it; a crash at any point resumes where it stopped.
 */
@CommandHandler(EraseVisitor)
export class EraseVisitorHandler implements ICommandHandler<EraseVisitor, EraseVisitorResult> {
  constructor(
    @Inject(STREAM_WRITER) private readonly writer: StreamWriter,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute({ orgId, visitorId, requestedBy, correlationId }: EraseVisitor): Promise<EraseVisitorResult> {
    const { state } = await loadFolded(this.store, visitorVariablesStream(orgId, visitorId), visitorFold);
    const sessionIds = state.status === 'known' ? state.sessions : [];
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
