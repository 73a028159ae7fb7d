import { z } from 'zod';

/**
 * The envelope every integration event carries on Kafka (and every domain event's metadata holds):
 * `type` and `version` name the contract, `eventId` makes redelivery harmless (consumers' inboxes key
 * on it), `correlationId`/`causationId` tie an event to the request and the event that caused it.
 */
export const EnvelopeFields = {
  eventId: z.uuid(),
  type: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  orgId: z.string().min(1),
  correlationId: z.string().min(1).optional(),
  causationId: z.string().min(1).optional(),
};

export const EventEnvelope = z.object({ ...EnvelopeFields, data: z.unknown() });
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** Builds the schema of one integration event version from its type name, version and body. */
export function integrationEvent<const T extends string, const V extends number, D extends z.ZodType>(
  type: T,
  version: V,
  data: D,
) {
  return z.object({ ...EnvelopeFields, type: z.literal(type), version: z.literal(version), data });
}
