import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { VariableName, VariableSource, VariableValue } from '../../domain.js';

/** Visitor-scope variables were submitted (merged or replaced); keyed by visitorId. */
export const VisitorVariablesChangedV1 = integrationEvent(
  'VisitorVariablesChanged',
  1,
  z.object({
    visitorId: z.string(),
    replaceExisting: z.boolean(),
    changes: z.array(
      z.object({
        name: VariableName,
        value: VariableValue,
        source: VariableSource,
        verified: z.boolean(),
        version: z.number().int().positive(),
        rooms: z.array(z.string()).optional(),
      }),
    ),
    displayName: z.string().optional(),
    /** Added: the names a replacing submit (replaceExisting true) removed; absent when none were. */
    removed: z.array(VariableName).optional(),
  }),
);
export type VisitorVariablesChangedV1 = z.infer<typeof VisitorVariablesChangedV1>;
