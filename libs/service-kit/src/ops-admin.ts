import { Readable } from 'node:stream';
import { Controller, type DynamicModule, Get, Headers, Inject, Module, Param, Res } from '@nestjs/common';
import { ConsumersResponse, ExportedEvent, OpaqueId } from '@svp/contracts';
import type { EventStore, RecordedEvent } from '@svp/event-store';
import { type ConsumerGroupRef, type MessageBus, consumerGroupLagJson } from '@svp/messaging';
import type { Logger } from 'pino';
import { z } from 'zod';
import { AppError } from './app-error.js';
import type { RouteDoc } from './openapi.js';
import { requireRootToken } from './root-token.js';
import { parseOrThrow } from './zod-pipe.js';

/**
 * Operator endpoints beside the projections' (root token): consumer lag of the service's consumer
 * groups, and a session's full event history in this service's streams (an export, streamed).
 */
export interface OpsAdminOptions {
  service: string;
  logger: Logger;
  rootToken?: string;
  bus?: MessageBus;
  /** The service's durable consumer groups and their topics (its workers' `consumes`). */
  consumers?: readonly ConsumerGroupRef[];
  store?: EventStore;
  /** The names of this service's streams that belong to a session (none: the export is not served). */
  sessionStreams?: (orgId: string, sessionId: string) => readonly string[];
}
const OPS_ADMIN_OPTIONS = Symbol('OPS_ADMIN_OPTIONS');

/** GET /admin/v1/consumers: each consumer group's committed offsets against its partitions' ends. */
@Controller('admin/v1/consumers')
export class ConsumersAdminController {
  constructor(@Inject(OPS_ADMIN_OPTIONS) private readonly options: OpsAdminOptions) {}

  @Get()
  async list(@Headers('authorization') authorization: string | undefined): Promise<ConsumersResponse> {
    requireRootToken(authorization, this.options.rootToken);
    const { bus, service } = this.options;
    const groups = this.options.consumers ?? [];
    if (!bus?.consumerLag)
      return { service, supported: false, reason: 'this message bus client cannot read committed offsets (KAFKA_CLIENT=platformatic)', consumers: [] };
    try {
      return { service, supported: true, consumers: (await bus.consumerLag(groups)).map(consumerGroupLagJson) };
    } catch (error) {
      throw new AppError('SERVICE_UNAVAILABLE', 'The bus did not answer the consumer lag', { reason: error instanceof Error ? error.message : String(error) });
    }
  }
}

const SessionEventsParams = z.object({ orgId: OpaqueId, sessionId: OpaqueId });
/** Events read from the store at a time while streaming. */
const PAGE = 500;

/**
 * GET /admin/v1/orgs/{orgId}/sessions/{sessionId}/events: every event of the session's streams in
 * this service, stream by stream in revision order, as NDJSON (one event a line), read a page at a
 * time. `x-event-count` says how many lines follow (each stream up to the revision it had when the
 * export began); a failure part-way ends the body with one `{"error":…}` line. A store that fails
 * before the first line answers 503 SERVICE_UNAVAILABLE (the error body), as a failure part-way is
 * reported in its line.
 */
@Controller('admin/v1/orgs/:orgId/sessions/:sessionId/events')
export class SessionEventsAdminController {
  constructor(@Inject(OPS_ADMIN_OPTIONS) private readonly options: OpsAdminOptions) {}

  @Get()
  async export(
    @Headers('authorization') authorization: string | undefined,
    @Param() rawParams: Record<string, string>,
    @Res() reply: StreamReply,
  ): Promise<void> {
    requireRootToken(authorization, this.options.rootToken);
    const { orgId, sessionId } = parseOrThrow(SessionEventsParams, rawParams, 'path');
    const store = this.options.store!;
    const streams = [...this.options.sessionStreams!(orgId, sessionId)];
    const { service, logger } = this.options;
    // Each stream's first and last revision now: the export is bounded to what was there when it began.
    let ranges: Array<{ stream: string; first: bigint; last: bigint }>;
    try {
      ranges = await Promise.all(
        streams.map(async (stream) => {
          const last = await store.streamRevision(stream);
          if (last === undefined) return { stream, first: 0n, last: -1n };
          const [first] = await store.readStream(stream, { maxCount: 1 });
          return { stream, first: first?.streamRevision ?? 0n, last: first ? last : -1n };
        }),
      );
    } catch (error) {
      logger.error({ err: error, sessionId }, 'session export failed before it began');
      throw new AppError('SERVICE_UNAVAILABLE', 'The export could not begin: the event store failed', { reason: error instanceof Error ? error.message : String(error) });
    }
    const count = ranges.reduce((sum, r) => sum + (r.last >= r.first ? r.last - r.first + 1n : 0n), 0n);
    async function* lines(): AsyncGenerator<string> {
      try {
        for (const { stream, first, last } of ranges) {
          let from = first;
          while (from <= last) {
            const page = await store.readStream(stream, { fromRevision: from, maxCount: Number(min(BigInt(PAGE), last - from + 1n)) });
            if (page.length === 0) break; // deleted or truncated while exporting
            for (const event of page) yield `${JSON.stringify(exported(service, event))}\n`;
            from = page.at(-1)!.streamRevision + 1n;
          }
        }
      } catch (error) {
        logger.error({ err: error, sessionId }, 'session export failed part-way');
        yield `${JSON.stringify(new AppError('SERVICE_UNAVAILABLE', 'The export stopped part-way: the event store failed', { reason: error instanceof Error ? error.message : String(error) }).toBody())}\n`;
      }
    }
    reply
      .header('content-type', 'application/x-ndjson; charset=utf-8')
      .header('x-event-count', count.toString())
      .header('x-streams', streams.join(','))
      .send(Readable.from(lines()));
  }
}

interface StreamReply {
  header(name: string, value: string): StreamReply;
  send(payload: unknown): unknown;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

export function exported(service: string, event: RecordedEvent): ExportedEvent {
  return {
    service,
    stream: event.streamName,
    streamRevision: event.streamRevision.toString(),
    globalPosition: event.globalPosition.toString(),
    eventId: event.eventId,
    type: event.type,
    recordedAt: event.recordedAt.toISOString(),
    data: event.data,
    metadata: event.metadata,
  };
}

@Module({})
export class OpsAdminModule {
  static register(options: OpsAdminOptions): DynamicModule {
    return {
      module: OpsAdminModule,
      controllers: [ConsumersAdminController, ...(options.sessionStreams && options.store ? [SessionEventsAdminController] : [])],
      providers: [{ provide: OPS_ADMIN_OPTIONS, useValue: options }],
    };
  }
}

export const consumersRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/admin/v1/consumers',
    summary: "Consumer lag of this service's consumer groups: committed offset against high watermark per partition (root token)",
    tags: ['admin'],
    responses: { 200: ConsumersResponse },
    errors: [401, 403, 503],
    auth: 'rootToken',
  },
];

export const sessionEventsRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/admin/v1/orgs/{orgId}/sessions/{sessionId}/events',
    summary:
      "A session's full event history in this service's streams, as NDJSON (one event a line: service, stream, streamRevision, globalPosition, eventId, type, recordedAt, data, metadata); header x-event-count (root token)",
    tags: ['admin'],
    params: SessionEventsParams,
    responses: {
      200: {
        contentType: 'application/x-ndjson',
        schema: ExportedEvent,
        description:
          "NDJSON (application/x-ndjson): one ExportedEvent a line (the schema here is a line's), stream by stream in revision order; header x-event-count says how many lines follow (0 and an empty body: no event of that session here). A failure part-way ends the body with one ErrorBody line ({\"error\":{code,message,details?}}) instead of the rest.",
      },
    },
    errors: [400, 401, 403, 503],
    auth: 'rootToken',
  },
];
