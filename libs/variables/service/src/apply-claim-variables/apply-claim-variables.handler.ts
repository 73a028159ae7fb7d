import type { IdentityVerifiedV1 } from '@svp/contracts';
import type { StreamWriter } from '@svp/service-kit';
import type { VariableLimits, VisitorVariablesCommand } from '@svp/variables-domain';
import { type VisitorCommandResult, runVisitorCommand } from '../stores.js';

/**
 * The visitor-scope command an IdentityVerified event asks for, or undefined when it has none: only a
 * successful verification that names the visitor and carries visitor-scope mapped claims sets
 * visitor variables (source `claim`, verified).
 */
export function applyClaimVariablesCommand(event: IdentityVerifiedV1): Extract<VisitorVariablesCommand, { type: 'ApplyClaimVariables' }> | undefined {
  const { data } = event;
  if (!data.authenticated || !data.visitorId) return undefined;
  const values = (data.variables ?? []).filter((v) => v.scope === 'visitor').map(({ name, value, claim }) => ({ name, value, claim }));
  if (values.length === 0) return undefined;
  return {
    type: 'ApplyClaimVariables',
    data: {
      orgId: event.orgId,
      visitorId: data.visitorId,
      sessionId: data.sessionId,
      ...(data.kid ? { kid: data.kid } : {}),
      values,
      // The time of the verification, not of this delivery: a redelivery decides the same.
      now: event.occurredAt,
    },
  };
}

/**
 * Applies a verified identity's visitor-scope mapped claims to the visitor's variables. The events
 * appended name the integration event as their cause, so a redelivery decides nothing. Answers
 * undefined when the event has nothing for a visitor.
 */
export async function applyClaimVariables(writer: StreamWriter, event: IdentityVerifiedV1, limits: VariableLimits): Promise<VisitorCommandResult | undefined> {
  const command = applyClaimVariablesCommand(event);
  if (!command) return undefined;
  const result = await runVisitorCommand(writer, command, limits, {
    causationId: event.eventId,
    ...(event.correlationId ? { correlationId: event.correlationId } : {}),
  });
  // The decider never refuses mapped claims (what cannot be stored is skipped and reported).
  if (!result.ok) throw new Error(`ApplyClaimVariables refused: ${result.error.code} ${result.error.message}`);
  return result;
}
