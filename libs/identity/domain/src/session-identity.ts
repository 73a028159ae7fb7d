import type { MappedClaimVariable, VariableValue, VerificationFailureReason } from '@svp/contracts';

/**
 * A session's identity record (stream `sessionidentity-<orgId>.<sessionId>`): every verification of
 * a messaging JWT for the session, the successful ones and the failed ones with their reason, so
 * support can see why an authentication did not take. Pure decider: the verification itself (crypto,
 * key lookups) happened before; its outcome comes in the command, with a hash of the token (never the
 * token).
 */

export interface VerifiedIdentity {
  kid: string;
  externalId: string;
  /** Where the external id is unique: `brand:<brandId>`, or `org` (no brand, or the org links its brands). */
  externalIdScope: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean | null;
  claims: Record<string, VariableValue>;
  variables: MappedClaimVariable[];
  brandId?: string;
  visitorId?: string;
}

export interface VerificationFailed {
  reason: VerificationFailureReason;
  detail: string;
  kid?: string;
}

export interface AttemptRecord {
  at: string;
  authenticated: boolean;
  kid?: string;
  reason?: VerificationFailureReason;
  detail?: string;
  externalId?: string | null;
}

export type SessionIdentityState =
  | { status: 'unknown' }
  | {
      status: 'anonymous';
      orgId: string;
      sessionId: string;
      lastFailure: AttemptRecord;
      lastTokenHash: string;
      /** `OK` or the reason of the last attempt: the same token with the same outcome is no new attempt. */
      lastOutcome: string;
    }
  | {
      status: 'authenticated';
      orgId: string;
      sessionId: string;
      identity: VerifiedIdentity;
      verifiedAt: string;
      lastFailure: AttemptRecord | null;
      lastTokenHash: string;
      lastOutcome: string;
    }
  /** The session's visitor was erased: the record goes (its stream is deleted next); nothing more is recorded on it. */
  | { status: 'erased'; orgId: string; sessionId: string };

export const initialSessionIdentityState = (): SessionIdentityState => ({ status: 'unknown' });

export type SessionIdentityCommand =
  | {
      type: 'RecordVerification';
      data: {
        orgId: string;
        sessionId: string;
        /** SHA-256 of the token: the same token verified again has no second effect. */
        tokenHash: string;
        outcome: ({ authenticated: true } & VerifiedIdentity) | ({ authenticated: false } & VerificationFailed);
        now: string;
      };
    }
  | {
      /** The session's visitor was erased (VisitorErased from the variables service): the record's personal data goes. */
      type: 'EraseSessionIdentity';
      data: { orgId: string; sessionId: string; erasureId: string; now: string };
    };

export type SessionIdentityEvent =
  | {
      type: 'SessionIdentityVerified';
      data: VerifiedIdentity & { orgId: string; sessionId: string; tokenHash: string; previousExternalId?: string; at: string };
    }
  | {
      type: 'SessionIdentityRejected';
      data: VerificationFailed & { orgId: string; sessionId: string; tokenHash: string; at: string };
    }
  | { type: 'SessionIdentityErased'; data: { orgId: string; sessionId: string; erasureId: string; at: string } };

export function decideSessionIdentity(command: SessionIdentityCommand, state: SessionIdentityState): SessionIdentityEvent[] {
  if (command.type === 'EraseSessionIdentity') {
    const { orgId, sessionId, erasureId, now } = command.data;
    // Nothing recorded, or erased already (a redelivery): nothing to erase.
    if (state.status === 'unknown' || state.status === 'erased') return [];
    return [{ type: 'SessionIdentityErased', data: { orgId, sessionId, erasureId, at: now } }];
  }
  // An erased record takes nothing more until its stream is deleted (the verification is still answered).
  if (state.status === 'erased') return [];
  const { orgId, sessionId, tokenHash, outcome, now } = command.data;
  // The same token with the same outcome again: the record already holds it. (The same token with
  // another outcome, e.g. not yet valid and then valid, or valid and then its key revoked, is recorded.)
  const outcomeCode = outcome.authenticated ? 'OK' : outcome.reason;
  if (state.status !== 'unknown' && state.lastTokenHash === tokenHash && state.lastOutcome === outcomeCode) return [];
  if (outcome.authenticated) {
    const { authenticated: _authenticated, ...identity } = outcome;
    const previous =
      state.status === 'authenticated' &&
      (state.identity.externalId !== identity.externalId || state.identity.externalIdScope !== identity.externalIdScope)
        ? state.identity.externalId
        : undefined;
    return [
      {
        type: 'SessionIdentityVerified',
        data: { orgId, sessionId, ...identity, tokenHash, ...(previous !== undefined ? { previousExternalId: previous } : {}), at: now },
      },
    ];
  }
  // A failed attempt never undoes an earlier successful one (that token was valid); it is recorded.
  const { authenticated: _authenticated, ...failure } = outcome;
  return [{ type: 'SessionIdentityRejected', data: { orgId, sessionId, ...failure, tokenHash, at: now } }];
}

export function evolveSessionIdentity(state: SessionIdentityState, event: SessionIdentityEvent): SessionIdentityState {
  switch (event.type) {
    case 'SessionIdentityVerified': {
      if (state.status === 'erased') return state;
      const { orgId, sessionId, tokenHash, at, previousExternalId: _previous, ...identity } = event.data;
      return {
        status: 'authenticated',
        orgId,
        sessionId,
        identity,
        verifiedAt: at,
        lastFailure: state.status === 'unknown' ? null : state.lastFailure,
        lastTokenHash: tokenHash,
        lastOutcome: 'OK',
      };
    }
    case 'SessionIdentityErased':
      return { status: 'erased', orgId: event.data.orgId, sessionId: event.data.sessionId };
    case 'SessionIdentityRejected': {
      if (state.status === 'erased') return state;
      const { orgId, sessionId, tokenHash, at, reason, detail, kid } = event.data;
      const lastFailure: AttemptRecord = { at, authenticated: false, reason, detail, ...(kid ? { kid } : {}) };
      if (state.status === 'authenticated') return { ...state, lastFailure, lastTokenHash: tokenHash, lastOutcome: reason };
      return { status: 'anonymous', orgId, sessionId, lastFailure, lastTokenHash: tokenHash, lastOutcome: reason };
    }
    default:
      return exhaustive(event);
  }
}

/** Stream of one org's session's identity record (session ids are per org). */
export const sessionIdentityStream = (orgId: string, sessionId: string): string => `sessionidentity-${orgId}.${sessionId}`;
export const SESSION_IDENTITY_EVENT_TYPES = ['SessionIdentityVerified', 'SessionIdentityRejected', 'SessionIdentityErased'] as const satisfies readonly SessionIdentityEvent['type'][];

/** Where an external id is unique: per brand, unless the org links its brands (or there is no brand). */
export const externalIdScope = (brandId: string | undefined, linkBrands: boolean): string =>
  brandId && !linkBrands ? `brand:${brandId}` : 'org';

function exhaustive(value: never): never {
  throw new Error(`Unhandled: ${JSON.stringify(value)}`);
}
