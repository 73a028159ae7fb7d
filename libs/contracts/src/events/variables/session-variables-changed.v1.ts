import { z } from 'zod';
import { integrationEvent } from '../../envelope.js';
import { VariableName, VariableSource, VariableValue } from '../../domain.js';

/** Session-scope variables were set (merged) on a session; keyed by sessionId on variables.events.v1. */
export const SessionVariablesChangedV1 = integrationEvent(
  'SessionVariablesChanged',
  1,
  z.object({
    sessionId: z.string(),
    changes: z.array(
      z.object({
        name: VariableName,
        value: VariableValue,
        source: VariableSource,
        verified: z.boolean(),
        /** The variable's version after this change (1 for a new variable). */
        version: z.number().int().positive(),
        /** Added: `metadata` for identity's read-only variables; absent means `session`. */
        scope: z.enum(['session', 'metadata']).optional(),
      }),
    ),
    setBy: z.string().optional(),
  }),
);
export type SessionVariablesChangedV1 = z.infer<typeof SessionVariablesChangedV1>;
