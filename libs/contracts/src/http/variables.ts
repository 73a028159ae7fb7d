import { z } from 'zod';
import { NameValue, OpaqueId, VariableName, VariableScope, VariableSource, VariableValue } from '../domain.js';

export const SessionIdParams = z.object({ sessionId: OpaqueId });
export type SessionIdParams = z.infer<typeof SessionIdParams>;
export const VisitorIdParams = z.object({ visitorId: OpaqueId });
export type VisitorIdParams = z.infer<typeof VisitorIdParams>;
export const VariableNameParams = z.object({ sessionId: OpaqueId, name: VariableName });

/** `PUT /v1/sessions/{sessionId}/variables`: merge (same name overwrites). */
export const PutSessionVariablesBody = z.strictObject({
  sessionVariableValues: z.array(NameValue).min(1).max(100),
});
export type PutSessionVariablesBody = z.infer<typeof PutSessionVariablesBody>;

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
  updatedAt: z.iso.datetime({ offset: true }).nullable(),
  version: z.number().int().nonnegative(),
});
export type VariableView = z.infer<typeof VariableView>;

export const VariablesResponse = z.object({ variables: z.array(VariableView) });
export type VariablesResponse = z.infer<typeof VariablesResponse>;

/** `GET /v1/sessions/{sessionId}/variables/{name}/history`. */
export const VariableHistoryResponse = z.object({
  name: VariableName,
  history: z.array(VariableView.extend({ setBy: z.string().optional(), eventId: z.string() })),
});
export type VariableHistoryResponse = z.infer<typeof VariableHistoryResponse>;

/** `POST /v1/visitors/{visitorId}/variables` (giosg style). */
export const SubmitVisitorVariablesBody = z.strictObject({
  data: z.record(VariableName, VariableValue).optional(),
  token: z.string().optional(),
  signing: z.enum(['plain', 'HS256', 'RS256', 'ES256']),
  replaceExisting: z.boolean(),
  rooms: z.array(z.union([z.strictObject({ id: z.string() }), z.strictObject({ name: z.string() })])).optional(),
});
export type SubmitVisitorVariablesBody = z.infer<typeof SubmitVisitorVariablesBody>;

export const VisitorResponse = z.object({
  visitorId: z.string(),
  displayName: z.string(),
  variables: z.array(VariableView),
});
export type VisitorResponse = z.infer<typeof VisitorResponse>;

/** `GET /v1/visitors/{visitorId}?room=`: a room's id or name; variables limited to other rooms are left out. */
export const VisitorQuery = z.object({ room: z.string().min(1).max(128).optional() });
export type VisitorQuery = z.infer<typeof VisitorQuery>;

/** SalesIQ-compatible `GET/POST /api/v2/{portal}/visitorsessions/{sessionId}`. */
export const SalesIqSessionResponse = z.object({
  object: z.literal('session'),
  url: z.string(),
  data: z.record(z.string(), VariableValue),
});
export const SalesIqSetBody = z.object({ data: z.record(VariableName, VariableValue) });
export const SalesIqErrorBody = z.object({ error: z.object({ code: z.number().int(), message: z.string() }) });
