import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';

/** A session was blocked; it ends and its session variables are discarded. */
export const SessionBlockedV1 = integrationEvent(
  'SessionBlocked',
  1,
  z.object({ sessionId: z.string(), visitorId: z.string(), blockedAt: z.iso.datetime({ offset: true }) }),
);
export type SessionBlockedV1 = z.infer<typeof SessionBlockedV1>;
