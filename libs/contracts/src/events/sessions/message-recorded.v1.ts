import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';

/** A message was accepted in a session (the content stays with the messaging channel). */
export const MessageRecordedV1 = integrationEvent(
  'MessageRecorded',
  1,
  z.object({
    sessionId: z.string(),
    from: z.enum(['VISITOR', 'AGENT', 'BOT']),
    actorId: z.string().optional(),
    messagesCount: z.number().int().positive(),
  }),
);
export type MessageRecordedV1 = z.infer<typeof MessageRecordedV1>;
