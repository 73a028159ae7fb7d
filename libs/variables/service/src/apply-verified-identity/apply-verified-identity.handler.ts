import type { IdentityVerifiedV1 } from '@svp/contracts';
import type { StreamWriter } from '@svp/service-kit';
import type { SessionVariablesCommand, VariableLimits } from '@svp/variables-domain';
import { type SessionCommandResult, runSessionCommand } from '../stores.js';

/**
 * The command an IdentityVerified event asks for, or undefined when it changes nothing: a failed
 * verification sets no variable (the identity service keeps why, in the session's identity record),
 * and neither does one without a session.
 */
export function applyVerifiedIdentityCommand(event: IdentityVerifiedV1): Extract<SessionVariablesCommand, { type: 'ApplyVerifiedIdentity' }> | undefined {
  const { data } = event;
  if (!data.authenticated || !data.sessionId) return undefined;
  return {
    type: 'ApplyVerifiedIdentity',
    data: {
      orgId: event.orgId,
      sessionId: data.sessionId,
      ...(data.kid ? { kid: data.kid } : {}),
      externalId: data.externalId,
      name: data.name,
      email: data.email,
      // Visitor-scope mapped claims belong to the visitor's stream (applyClaimVariables): only session
      // scope is applied here.
      mapped: (data.variables ?? []).filter((v) => v.scope === 'session').map(({ name, value, claim }) => ({ name, value, claim })),
      // The time of the verification, not of this delivery: a redelivery decides the same.
      now: event.occurredAt,
    },
  };
}

/**
 * Applies a verified identity to the session's variables (load, decide, append with the revision
 * read, retried on a conflict). The events appended name the integration event as their cause, so a
 * redelivery decides nothing. Answers undefined when the event changes nothing by its nature.
 */
export async function applyVerifiedIdentity(writer: StreamWriter, event: IdentityVerifiedV1, limits: VariableLimits): Promise<SessionCommandResult | undefined> {
  const command = applyVerifiedIdentityCommand(event);
  if (!command) return undefined;
  const result = await runSessionCommand(writer, command, limits, {
    causationId: event.eventId,
    ...(event.correlationId ? { correlationId: event.correlationId } : {}),
  });
  // The decider never refuses a verified identity (what cannot be stored is skipped and reported).
  if (!result.ok) throw new Error(`ApplyVerifiedIdentity refused: ${result.error.code} ${result.error.message}`);
  return result;
}
