import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { AssigneeType } from '../../domain.js';

/** A session was assigned (or transferred) to an agent or a bot. */
export const SessionAssignedV1 = integrationEvent(
  'SessionAssigned',
  1,
  z.object({
    sessionId: z.string(),
    assigneeId: z.string(),
    assigneeType: AssigneeType,
    previousAssigneeId: z.string().nullable(),
  }),
);
export type SessionAssignedV1 = z.infer<typeof SessionAssignedV1>;
