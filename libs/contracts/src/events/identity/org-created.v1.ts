import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';

/** A tenant was created. */
export const OrgCreatedV1 = integrationEvent('OrgCreated', 1, z.object({ orgId: z.string(), name: z.string() }));
export type OrgCreatedV1 = z.infer<typeof OrgCreatedV1>;
