import type { VariableSource, VariableValue } from '@svp/contracts';

/** One variable as an aggregate holds it: its value and provenance. */
export interface VariableState {
  value: VariableValue;
  source: VariableSource;
  verified: boolean;
  version: number;
  updatedAt: string;
  /** An API key id, `session-start`, `claim:<kid>`, `key-revoked:<kid>`. */
  setBy?: string;
  /** The signing key that vouches for a verified value (signed data, or the identity a claim came from). */
  kid?: string;
}

/** A change of one variable, as events carry it. */
export interface VariableChange {
  name: string;
  value: VariableValue;
  source: VariableSource;
  verified: boolean;
  version: number;
}

export type DecisionError =
  | { code: 'LIMIT_EXCEEDED'; message: string; details: Record<string, unknown> }
  | { code: 'FORBIDDEN'; message: string; details: Record<string, unknown> }
  | { code: 'CONFLICT'; message: string; details: Record<string, unknown> }
  | { code: 'VALIDATION_FAILED'; message: string; details: Record<string, unknown> };

/** A session-scope (or visitor-scope) variable produced from a verified claim by the org's claim mapping. */
export interface MappedSessionVariable {
  name: string;
  value: VariableValue;
  /** The claim it was read from. */
  claim: string;
}

/**
 * A mapped claim variable that was not stored, and why: a metadata name (read-only), a name or value
 * longer than the limits, or one variable too many. A verified identity is never refused for it (its
 * metadata still holds); the caller reports these.
 */
export interface SkippedVariable {
  name: string;
  claim: string;
  reason: 'METADATA_NAME' | 'NAME_TOO_LONG' | 'VALUE_TOO_LONG' | 'TOO_MANY_VARIABLES';
}

/** Names the metadata scope owns: only identity writes them. */
export const METADATA_NAMES = ['providedName', 'providedEmail', 'authenticatedExternalId', 'authenticatedStatus'] as const;
export type MetadataName = (typeof METADATA_NAMES)[number];

export const isMetadataName = (name: string): name is MetadataName => (METADATA_NAMES as readonly string[]).includes(name);

/** `setBy` of what a verified claim wrote: the key that verified it, when known. */
export const claimSetBy = (kid: string | undefined): string => (kid ? `claim:${kid}` : 'claim');

/** The key named by a `claim:<kid>` setBy (events written before claims carried their kid). */
export const kidOfSetBy = (setBy: string | undefined): string | undefined => (setBy?.startsWith('claim:') ? setBy.slice('claim:'.length) : undefined);

/** `setBy` of a change made because the signing key `kid` was revoked. */
export const revokedSetBy = (kid: string): string => `key-revoked:${kid}`;

/** `setBy` of the initial variables a session started with. */
export const SESSION_START_SET_BY = 'session-start';

export const own = <T>(record: Record<string, T>, name: string): T | undefined => (Object.hasOwn(record, name) ? record[name] : undefined);

export function exhaustive(value: never): never {
  throw new Error(`Unhandled: ${JSON.stringify(value)}`);
}

const encoder = new TextEncoder();
export const utf8Length = (value: string): number => encoder.encode(value).length;
