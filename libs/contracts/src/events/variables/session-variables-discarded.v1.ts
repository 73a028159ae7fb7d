import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { EndReason } from '../../domain.js';

/** A session's session-scope variables were discarded (the session ended); keyed by sessionId. */
export const SessionVariablesDiscardedV1 = integrationEvent(
  'SessionVariablesDiscarded',
  1,
  z.object({ sessionId: z.string(), reason: EndReason.optional(), count: z.number().int().nonnegative() }),
);
export type SessionVariablesDiscardedV1 = z.infer<typeof SessionVariablesDiscardedV1>;
