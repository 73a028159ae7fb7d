import { z } from 'zod';

/** Conversation statuses (DESIGN.md section 3). */
export const SessionStatus = z.enum(['CREATED', 'OPEN', 'ON_HOLD', 'ON_PROGRESS', 'ENDED', 'BLOCKED']);
export type SessionStatus = z.infer<typeof SessionStatus>;

/** Whether messages can be exchanged (DESIGN.md section 1: all 19 values). */
export const ReplyStatus = z.enum([
  'ACCEPTED',
  'CHANNEL_INACTIVE',
  'CHANNEL_REVOKED',
  'SESSION_ENDED',
  'SESSION_BLOCKED',
  'SESSION_EXPIRED',
  'UNASSIGNED',
  'NOT_AN_ASSIGNEE',
  'CREDIT_EXHAUSTED',
  'ACCESSTOKEN_EXPIRED',
  'PERMISSION_REVOKED',
  'UNEXPECTED_ERROR',
  'PAGE_REMOVED',
  'SANDBOX_LIMIT_REACHED',
  'CHANNEL_DELETED',
  'ENDUSER_OFFLINE',
  'CONFIG_SKIPPED_CHANNEL',
  'OUTGOING_LIMIT_REACHED',
  'ASSIGNED_TO_OTHER_SERVICE',
]);
export type ReplyStatus = z.infer<typeof ReplyStatus>;

export const AssigneeType = z.enum(['AGENT', 'BOT']);
export type AssigneeType = z.infer<typeof AssigneeType>;

export const EndReason = z.enum(['logout', 'timeout', 'closed', 'agent', 'blocked']);
export type EndReason = z.infer<typeof EndReason>;

export const VariableScope = z.enum(['session', 'visitor', 'metadata']);
export type VariableScope = z.infer<typeof VariableScope>;

export const VariableSource = z.enum(['widget', 'api', 'signed', 'claim', 'agent', 'bot']);
export type VariableSource = z.infer<typeof VariableSource>;

/**
 * Text that can be stored: no NUL character and no unpaired UTF-16 surrogate (PostgreSQL's jsonb, where
 * events and read models live, takes neither; JSON allows both).
 */
// eslint-disable-next-line no-control-regex -- the NUL is what it looks for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const StorableText = z.string().refine((text) => !UNSTORABLE.test(text), {
  message: 'must not hold NUL characters or unpaired surrogates',
});

/** A variable's value keeps its JSON type: "6320834868293" stays a string, 42 stays a number. */
export const VariableValue = z.union([StorableText, z.number(), z.boolean(), z.null()]);
export type VariableValue = z.infer<typeof VariableValue>;

/** Names that would reach a JavaScript object's prototype machinery: never a variable name. */
export const RESERVED_VARIABLE_NAMES: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** The longest variable name any org may allow (an org's own limit may be lower). */
export const MAX_VARIABLE_NAME_LENGTH = 128;

/**
 * Variable names: 1 to 128 characters of letters, digits, `_`, `.`, `-` and space (an org may set a
 * lower maximum length). Names are compared exactly: `UserName` and `username` are two variables.
 */
export const VariableName = z
  .string()
  .min(1)
  .max(MAX_VARIABLE_NAME_LENGTH)
  .regex(/^[A-Za-z0-9_. -]+$/, 'must hold only letters, digits, _ . - and space')
  .refine((name) => !RESERVED_VARIABLE_NAMES.includes(name), { message: 'is a reserved name' });

/** `{ name, value }`, the shape Zoho's sessionVariableValues use. */
export const NameValue = z.object({ name: VariableName, value: VariableValue });
export type NameValue = z.infer<typeof NameValue>;

/** Opaque ids used in paths and stream names (never personal data). */
export const OpaqueId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'must hold only letters, digits, _ and -');

export const API_SCOPES = [
  'variables:read',
  'variables:write',
  'sessions:read',
  'sessions:write',
  'identity:admin',
  'webhooks:admin',
  /** Added: the org's variable limits and retention, and erasing a visitor. */
  'variables:admin',
  /**
   * Added: a widget key's only scope. Safe in a browser: it can start a session for a visitor (and
   * get that session's visitor token), nothing else.
   */
  'widget',
] as const;
export const ApiScope = z.enum(API_SCOPES);
/**
 * What a visitor token carries: every route open to visitors (marked so in each service) needs one of
 * these, and reaches only the token's own session and visitor; the other routes refuse it.
 */
export const VISITOR_SCOPES = ['variables:read', 'variables:write', 'sessions:read', 'sessions:write'] as const;
export type ApiScope = z.infer<typeof ApiScope>;

/** Signing algorithms a signing key can have (never `none`, never anything else). */
export const SIGNING_ALGS = ['HS256', 'RS256', 'ES256'] as const;
export const SigningAlg = z.enum(SIGNING_ALGS);
export type SigningAlg = z.infer<typeof SigningAlg>;

/** A signing key's id (the JWT header `kid`): chosen by the platform or given by the org. */
export const Kid = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/, 'must hold only letters, digits, . _ and -')
  .refine((kid) => !RESERVED_VARIABLE_NAMES.includes(kid), { message: 'is a reserved name' });

/** Why a token did not verify (the `reason` of a failed verification, also kept on the session's identity record). */
export const VERIFICATION_FAILURE_REASONS = [
  'TOKEN_EXPIRED',
  'TOKEN_NOT_YET_VALID',
  'SIGNATURE_INVALID',
  'KID_UNKNOWN',
  'KID_REVOKED',
  'ALG_NOT_ALLOWED',
  'CLAIM_MISSING',
  'MALFORMED',
] as const;
export const VerificationFailureReason = z.enum(VERIFICATION_FAILURE_REASONS);
export type VerificationFailureReason = z.infer<typeof VerificationFailureReason>;

/** Claims read into the metadata themselves; every other claim is a custom claim. */
export const REGISTERED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti'] as const;

/** One custom claim an org maps to a typed session or visitor variable (verified, source `claim`). */
export const ClaimMappingEntry = z.strictObject({
  claim: z.string().min(1).max(128),
  variable: VariableName,
  scope: z.enum(['session', 'visitor']),
  type: z.enum(['string', 'number', 'boolean']),
});
export type ClaimMappingEntry = z.infer<typeof ClaimMappingEntry>;

/** A variable produced from a verified claim by the org's claim mapping. */
export const MappedClaimVariable = z.object({
  name: VariableName,
  value: VariableValue,
  scope: z.enum(['session', 'visitor']),
  claim: z.string(),
});
export type MappedClaimVariable = z.infer<typeof MappedClaimVariable>;
