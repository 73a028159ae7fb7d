import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';

/** A brand (a SalesIQ portal) was added to an org. */
export const BrandCreatedV1 = integrationEvent(
  'BrandCreated',
  1,
  z.object({ orgId: z.string(), brandId: z.string(), name: z.string() }),
);
export type BrandCreatedV1 = z.infer<typeof BrandCreatedV1>;
