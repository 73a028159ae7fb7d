import { SessionIdParams } from '@svp/contracts';
import type { RouteDoc } from '@svp/service-kit';
import { z } from 'zod';

export const VariableActivityResponse = z.object({
  orgId: z.string(),
  sessionId: z.string(),
  changesTotal: z.number().int(),
  variableNames: z.array(z.string()),
  lastChangeAt: z.iso.datetime({ offset: true }),
  discarded: z.boolean(),
});

export const sessionsRoutes: RouteDoc[] = [
  {
    method: 'get',
    path: '/internal/v1/sessions/{sessionId}/variable-activity',
    summary: "Variable activity of a session, as learnt from variables.events.v1 over the bus",
    tags: ['internal'],
    params: SessionIdParams,
    responses: { 200: VariableActivityResponse },
    errors: [400, 401, 403, 404],
  },
];
