import { z } from 'zod';

/**
 * The operator endpoints' answers (root token), shared by the services that serve them
 * (libs/service-kit: admin.ts, ops-admin.ts) and the ops CLI (apps/ops-cli) that reads them.
 * Positions, offsets and revisions are strings: they are 64-bit.
 */

/** A projection as `GET /admin/v1/projections` shows it. */
export const ProjectionStatusJson = z.object({
  name: z.string(),
  version: z.number().int(),
  table: z.string(),
  state: z.enum(['catching-up', 'live', 'stopped', 'failed']),
  position: z.string(),
  head: z.string().nullable(),
  lag: z.string().nullable(),
  failures: z.number().int(),
  error: z.string().optional(),
  /** When failed: when the runner tries again (ISO time; the backoff doubles from `initialDelayMs` to `maxDelayMs`). */
  retryAt: z.string().optional(),
  rebuild: z
    .object({ table: z.string(), position: z.string(), head: z.string(), eventsApplied: z.number().int(), progress: z.number() })
    .optional(),
  /** The last rebuild asked of this process (in memory): running, switched, failed or abandoned. */
  lastRebuild: z
    .object({
      state: z.enum(['running', 'switched', 'failed', 'abandoned']),
      startedAt: z.string(),
      finishedAt: z.string().optional(),
      table: z.string().optional(),
      eventsApplied: z.number().int().optional(),
      error: z.string().optional(),
    })
    .optional(),
});
export type ProjectionStatusJson = z.infer<typeof ProjectionStatusJson>;

/** `GET /admin/v1/projections`. */
export const ProjectionsResponse = z.object({ projections: z.array(ProjectionStatusJson) });
export type ProjectionsResponse = z.infer<typeof ProjectionsResponse>;

/** One partition of a consumer group: its committed offset (null: none yet) against the partition's ends. */
export const PartitionLagJson = z.object({
  topic: z.string(),
  partition: z.number().int(),
  committed: z.string().nullable(),
  low: z.string(),
  high: z.string(),
  lag: z.string(),
});
export type PartitionLagJson = z.infer<typeof PartitionLagJson>;

/** A consumer group's lag, as `GET /admin/v1/consumers` lists it. */
export const ConsumerGroupJson = z.object({ groupId: z.string(), topics: z.array(z.string()), lag: z.string(), partitions: z.array(PartitionLagJson) });
export type ConsumerGroupJson = z.infer<typeof ConsumerGroupJson>;

/** `GET /admin/v1/consumers`. */
export const ConsumersResponse = z.object({
  service: z.string(),
  supported: z.boolean(),
  reason: z.string().optional(),
  consumers: z.array(ConsumerGroupJson),
});
export type ConsumersResponse = z.infer<typeof ConsumersResponse>;

/**
 * One line of `GET /admin/v1/orgs/{orgId}/sessions/{sessionId}/events` (NDJSON, content type
 * application/x-ndjson): an event of one of the session's streams in that service, as stored.
 */
export const ExportedEvent = z
  .object({
    /** The service whose store holds the stream. */
    service: z.string(),
    stream: z.string(),
    streamRevision: z.string().regex(/^\d+$/),
    /** Position in that service's store (in the distributed mode each service has its own). */
    globalPosition: z.string().regex(/^\d+$/),
    eventId: z.string(),
    type: z.string(),
    /** ISO 8601. */
    recordedAt: z.string(),
    data: z.unknown(),
    metadata: z.record(z.string(), z.unknown()),
  })
  .meta({
    id: 'ExportedEvent',
    description:
      'One line of a session export (NDJSON): an event of one of the session\'s streams, as stored. A failure part-way ends the body with one line `{"error":{code,message,details?}}` (the ErrorBody) instead.',
  });
export type ExportedEvent = z.infer<typeof ExportedEvent>;
