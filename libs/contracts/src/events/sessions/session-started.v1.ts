import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { NameValue } from '../../domain.js';

/** A visitor's first contact on a channel started a session; the variables service stores the initial values. */
export const SessionStartedV1 = integrationEvent(
  'SessionStarted',
  1,
  z.object({
    sessionId: z.string(),
    visitorId: z.string(),
    channelId: z.string(),
    brandId: z.string().optional(),
    sessionVariableValues: z.array(NameValue).default([]),
    startedAt: z.iso.datetime({ offset: true }),
  }),
);
export type SessionStartedV1 = z.infer<typeof SessionStartedV1>;
