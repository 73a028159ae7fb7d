import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';

/** A visitor was erased everywhere; carries no personal data. Keyed by visitorId. */
export const VisitorErasedV1 = integrationEvent('VisitorErased', 1, z.object({ visitorId: z.string() }));
export type VisitorErasedV1 = z.infer<typeof VisitorErasedV1>;
