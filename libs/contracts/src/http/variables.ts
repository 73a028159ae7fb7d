import { z } from 'zod';
import { MAX_VARIABLE_NAME_LENGTH, NameValue, OpaqueId, StorableText, VariableName, VariableScope, VariableSource, VariableValue } from '../domain.js';

export const SessionIdParams = z.object({ sessionId: OpaqueId });
export type SessionIdParams = z.infer<typeof SessionIdParams>;
export const VisitorIdParams = z.object({ visitorId: OpaqueId });
export type VisitorIdParams = z.infer<typeof VisitorIdParams>;
export const VariableNameParams = z.object({ sessionId: OpaqueId, name: VariableName });
export type VariableNameParams = z.infer<typeof VariableNameParams>;
export const VisitorVariableNameParams = z.object({ visitorId: OpaqueId, name: VariableName });
export type VisitorVariableNameParams = z.infer<typeof VisitorVariableNameParams>;

/** The most variables one request may carry; the org's limit per session or visitor applies as well. */
export const MAX_VARIABLES_PER_REQUEST = 1000;

/** `PUT /v1/sessions/{sessionId}/variables`: merge (same name overwrites). */
export const PutSessionVariablesBody = z.strictObject({
  sessionVariableValues: z.array(NameValue).min(1).max(MAX_VARIABLES_PER_REQUEST),
});
export type PutSessionVariablesBody = z.infer<typeof PutSessionVariablesBody>;

/**
 * `POST /internal/v1/variables/check` (any valid key of the org): would these session variables be
 * accepted, with the org's limits? The sessions service asks it before a session starts with
 * `sessionVariableValues`, so bad initial values get their 4xx at `POST /v1/sessions`.
 */
export const CheckVariablesBody = z.strictObject({
  sessionVariableValues: z.array(NameValue).max(MAX_VARIABLES_PER_REQUEST),
});
export type CheckVariablesBody = z.infer<typeof CheckVariablesBody>;
export const CheckVariablesResponse = z.object({ ok: z.literal(true) });
export type CheckVariablesResponse = z.infer<typeof CheckVariablesResponse>;

/** Internal `POST /internal/v1/variables/sessions/batch`: the variables of several sessions in one call (the gateway's batches). */
export const SessionsVariablesBatchBody = z.strictObject({
  sessionIds: z.array(OpaqueId).min(1).max(200),
  room: z.string().min(1).max(128).optional(),
});
export type SessionsVariablesBatchBody = z.infer<typeof SessionsVariablesBatchBody>;

/** Internal `POST /internal/v1/variables/visitors/batch`: several visitors in one call. */
export const VisitorsBatchBody = z.strictObject({
  visitorIds: z.array(OpaqueId).min(1).max(200),
  room: z.string().min(1).max(128).optional(),
});
export type VisitorsBatchBody = z.infer<typeof VisitorsBatchBody>;

/** A point in time, ISO 8601 with an offset (`2026-12-02T10:00:00Z`). */
const Instant = z.iso.datetime({ offset: true });

/**
 * `GET /v1/sessions/{sessionId}/variables?asOf=&room=`: `asOf` reads the state at that time (folded
 * from the event store, the audit log); `room` (a room's id or name) adds the visitor variables
 * limited to that room.
 */
export const SessionVariablesQuery = z.object({
  asOf: Instant.optional(),
  room: z.string().min(1).max(128).optional(),
});
export type SessionVariablesQuery = z.infer<typeof SessionVariablesQuery>;

/**
 * One variable as every read shows it, with its provenance.
 *
 * `version` 0 with `updatedAt` null is a variable that was never set: the metadata scope is always
 * shown in full (providedName, providedEmail, authenticatedExternalId, authenticatedStatus), so a
 * session nobody authenticated still answers `authenticatedStatus: false` (never empty, as Zendesk's
 * metadata) and null for the others, with no version and no time of change. Every variable that was
 * set has version ≥ 1 and its `updatedAt`.
 */
export const VariableView = z.object({
  name: VariableName,
  value: VariableValue,
  scope: VariableScope,
  source: VariableSource,
  verified: z.boolean(),
  updatedAt: Instant.nullable(),
  version: z.number().int().nonnegative(),
});
export type VariableView = z.infer<typeof VariableView>;

export const VariablesResponse = z.object({ variables: z.array(VariableView) });
export type VariablesResponse = z.infer<typeof VariablesResponse>;

/**
 * What a change in a variable's history was: `set` (a value written), `removed` (a replacing visitor
 * submit left it out), `unverified` (the signing key that vouched for it was revoked), `discarded`
 * (the session ended) or `erased` (the visitor was erased; seen only until the stream is deleted).
 */
export const VariableChangeKind = z.enum(['set', 'removed', 'unverified', 'discarded', 'erased']);
export type VariableChangeKind = z.infer<typeof VariableChangeKind>;

/** One entry of a variable's history: the value it had from then on, and who or what set it. */
export const VariableHistoryEntry = VariableView.extend({
  /** An API key id, `session-start`, `claim:<kid>` for a verified claim, `key-revoked:<kid>`. */
  setBy: z.string().optional(),
  /** The stored event that made the change. */
  eventId: z.string(),
  change: VariableChangeKind,
});
export type VariableHistoryEntry = z.infer<typeof VariableHistoryEntry>;

/**
 * `GET /v1/sessions/{sessionId}/variables/{name}/history`: every value the name had in this session,
 * oldest first, from each scope a read of the session shows (session, visitor, metadata).
 */
export const VariableHistoryResponse = z.object({
  name: VariableName,
  history: z.array(VariableHistoryEntry),
});
export type VariableHistoryResponse = z.infer<typeof VariableHistoryResponse>;

/** `POST /v1/visitors/{visitorId}/variables` (giosg style). */
export const SubmitVisitorVariablesBody = z.strictObject({
  data: z.record(VariableName, VariableValue).optional(),
  token: z.string().optional(),
  signing: z.enum(['plain', 'HS256', 'RS256', 'ES256']),
  replaceExisting: z.boolean(),
  rooms: z.array(z.union([z.strictObject({ id: StorableText }), z.strictObject({ name: StorableText })])).optional(),
});
export type SubmitVisitorVariablesBody = z.infer<typeof SubmitVisitorVariablesBody>;

export const VisitorResponse = z.object({
  visitorId: z.string(),
  displayName: z.string(),
  variables: z.array(VariableView),
});
export type VisitorResponse = z.infer<typeof VisitorResponse>;

/**
 * `GET /v1/visitors/{visitorId}?room=&asOf=`: `room` (a room's id or name) adds the variables limited
 * to that room; `asOf` reads the visitor as it was at that time.
 */
export const VisitorQuery = z.object({ room: z.string().min(1).max(128).optional(), asOf: Instant.optional() });
export type VisitorQuery = z.infer<typeof VisitorQuery>;

/** `GET /v1/visitors/{visitorId}/variables/{name}/history`: every value the visitor variable had. */
export const VisitorVariableHistoryResponse = VariableHistoryResponse;

// ── Limits and retention, per org ─────────────────────────────────────────────────────────────────

/** The most an org may raise each limit to. */
export const VARIABLE_LIMIT_CEILINGS = {
  maxNameLength: MAX_VARIABLE_NAME_LENGTH,
  maxValueBytes: 64 * 1024,
  maxSessionVariables: MAX_VARIABLES_PER_REQUEST,
  maxVisitorVariables: MAX_VARIABLES_PER_REQUEST,
} as const;

const limit = (max: number) => z.number().int().min(1).max(max);

/** An org's variable limits (each also named in the LIMIT_EXCEEDED error it causes). */
export const VariableLimitsSchema = z.strictObject({
  /** Longest variable name, in characters. Default 128. */
  maxNameLength: limit(VARIABLE_LIMIT_CEILINGS.maxNameLength),
  /** Longest string value, in UTF-8 bytes. Default 4096. */
  maxValueBytes: limit(VARIABLE_LIMIT_CEILINGS.maxValueBytes),
  /** Most session-scope variables one session holds. Default 250. */
  maxSessionVariables: limit(VARIABLE_LIMIT_CEILINGS.maxSessionVariables),
  /** Most variables one visitor holds. Default 250. */
  maxVisitorVariables: limit(VARIABLE_LIMIT_CEILINGS.maxVisitorVariables),
});
export type VariableLimitsSchema = z.infer<typeof VariableLimitsSchema>;

/** How long an ended session's variables stay in the event store for audit (0: deleted at once). */
export const MAX_RETENTION_DAYS = 3650;

/** `PUT /v1/variables/settings` (variables:admin): the limits to change (others keep their value) and the retention. */
export const PutVariableSettingsBody = z
  .strictObject({
    limits: VariableLimitsSchema.partial().optional(),
    retentionDays: z.number().int().min(0).max(MAX_RETENTION_DAYS).optional(),
  })
  .refine((body) => body.limits !== undefined || body.retentionDays !== undefined, { message: 'give limits, retentionDays or both' });
export type PutVariableSettingsBody = z.infer<typeof PutVariableSettingsBody>;

export const VariableSettingsResponse = z.object({
  limits: VariableLimitsSchema,
  retentionDays: z.number().int().nonnegative(),
  /** When the org last changed them; null while the defaults apply. */
  updatedAt: Instant.nullable(),
});
export type VariableSettingsResponse = z.infer<typeof VariableSettingsResponse>;

// ── Erasure ───────────────────────────────────────────────────────────────────────────────────────

export const ErasureIdParams = z.object({ erasureId: OpaqueId });
export type ErasureIdParams = z.infer<typeof ErasureIdParams>;

/**
 * `DELETE /v1/visitors/{visitorId}` (variables:admin) and `GET /v1/erasures/{erasureId}`: the erasure
 * record. It keeps no variable name or value: only which visitor, how many streams, and when.
 * `completed` once every stream is deleted from the event store; `pending` while one waits for the
 * read models and the Kafka relay to pass its last event (seconds, normally).
 */
export const ErasureResponse = z.object({
  erasureId: z.string(),
  visitorId: z.string(),
  status: z.enum(['pending', 'completed']),
  /** Sessions of the visitor whose variables were erased. */
  sessions: z.number().int().nonnegative(),
  /** Event-store streams deleted (the visitor's, each session's). */
  streams: z.number().int().nonnegative(),
  requestedAt: Instant,
  completedAt: Instant.nullable(),
});
export type ErasureResponse = z.infer<typeof ErasureResponse>;

// ── SalesIQ-compatible visitorsessions API ────────────────────────────────────────────────────────

/** `/api/v2/{portal}/visitorsessions/{sessionId}`: `portal` is a brand's name (SalesIQ's screen name). */
export const SalesIqParams = z.object({ portal: z.string().min(1).max(100), sessionId: OpaqueId });
export type SalesIqParams = z.infer<typeof SalesIqParams>;
/** `?key=<name>`: one variable; without it, every variable a read of the session shows. */
export const SalesIqGetQuery = z.object({ key: VariableName.optional() });
export type SalesIqGetQuery = z.infer<typeof SalesIqGetQuery>;

/** SalesIQ-compatible `GET/POST /api/v2/{portal}/visitorsessions/{sessionId}`. */
export const SalesIqSessionResponse = z.object({
  object: z.literal('session'),
  url: z.string(),
  data: z.record(z.string(), VariableValue),
});
export type SalesIqSessionResponse = z.infer<typeof SalesIqSessionResponse>;
export const SalesIqSetBody = z.object({ data: z.record(VariableName, VariableValue) });
export type SalesIqSetBody = z.infer<typeof SalesIqSetBody>;
/** SalesIQ's error shape: numeric codes (1005: unknown portal); see docs/migrating/zoho-salesiq.md for the table. */
export const SalesIqErrorBody = z.object({
  error: z.object({ code: z.number().int(), message: z.string(), param: z.string().optional() }),
});
export type SalesIqErrorBody = z.infer<typeof SalesIqErrorBody>;

export const SessionsVariablesBatchResponse = z.object({ sessions: z.array(z.object({ sessionId: z.string(), variables: z.array(VariableView) })) });
export type SessionsVariablesBatchResponse = z.infer<typeof SessionsVariablesBatchResponse>;
export const VisitorsBatchResponse = z.object({ visitors: z.array(VisitorResponse) });
export type VisitorsBatchResponse = z.infer<typeof VisitorsBatchResponse>;
