import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { EndReason } from '../../domain.js';

/**
 * A session's session-scope variables (and its metadata) were discarded: the session ended, or its
 * visitor was erased (`erasureId`). Reads no longer return them. Keyed by sessionId.
 */
export const SessionVariablesDiscardedV1 = integrationEvent(
  'SessionVariablesDiscarded',
  1,
  z.object({
    sessionId: z.string(),
    reason: EndReason.optional(),
    count: z.number().int().nonnegative(),
    /** Added: set when the variables went with an erasure of the session's visitor. */
    erasureId: z.string().optional(),
    /** Added: until when the stream is kept in the event store for audit (absent: deleted at once). */
    retainUntil: z.iso.datetime({ offset: true }).optional(),
  }),
);
export type SessionVariablesDiscardedV1 = z.infer<typeof SessionVariablesDiscardedV1>;
