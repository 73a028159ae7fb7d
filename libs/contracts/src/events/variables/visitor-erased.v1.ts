import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';

/**
 * A visitor was erased everywhere: their variables and the variables of their sessions are deleted
 * from the event store and the read models. Carries no personal data (no variable name or value).
 * Keyed by visitorId. Consumers holding data about the visitor or these sessions erase it too.
 */
export const VisitorErasedV1 = integrationEvent(
  'VisitorErased',
  1,
  z.object({
    visitorId: z.string(),
    /** Added: the erasure record (GET /v1/erasures/{erasureId}). */
    erasureId: z.string().optional(),
    /** Added: the visitor's sessions whose variables were erased. */
    sessionIds: z.array(z.string()).optional(),
  }),
);
export type VisitorErasedV1 = z.infer<typeof VisitorErasedV1>;
