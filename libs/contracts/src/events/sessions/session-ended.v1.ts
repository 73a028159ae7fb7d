import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { EndReason } from '../../domain.js';

/** A session ended; the variables service discards its session variables. */
export const SessionEndedV1 = integrationEvent(
  'SessionEnded',
  1,
  z.object({ sessionId: z.string(), visitorId: z.string(), reason: EndReason, endedAt: z.iso.datetime({ offset: true }) }),
);
export type SessionEndedV1 = z.infer<typeof SessionEndedV1>;
