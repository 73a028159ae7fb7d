import { z } from 'zod';

export const HealthResponse = z.object({ status: z.literal('ok'), service: z.string() });
export const ReadinessResponse = z.object({
  status: z.enum(['ready', 'not_ready']),
  service: z.string(),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), error: z.string().optional() })),
});
export type ReadinessResponse = z.infer<typeof ReadinessResponse>;
