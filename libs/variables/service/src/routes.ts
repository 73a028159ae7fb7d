import {
  CheckVariablesBody,
  CheckVariablesResponse,
  ErasureIdParams,
  ErasureResponse,
  PutSessionVariablesBody,
  PutVariableSettingsBody,
  SalesIqErrorBody,
  SalesIqGetQuery,
  SalesIqParams,
  SalesIqSessionResponse,
  SalesIqSetBody,
  SessionIdParams,
  SessionVariablesQuery,
  SubmitVisitorVariablesBody,
  VariableHistoryResponse,
  VariableNameParams,
  VariableSettingsResponse,
  VariablesResponse,
  VisitorIdParams,
  VisitorQuery,
  VisitorResponse,
  VisitorVariableNameParams,
} from '@svp/contracts';
import type { RouteDoc } from '@svp/service-kit';

/** The variables service's HTTP contract, for its OpenAPI document (/docs). */
export const variablesRoutes: RouteDoc[] = [
  {
    method: 'put',
    path: '/v1/sessions/{sessionId}/variables',
    summary:
      'Merge session variables (same name overwrites; values keep their JSON type); answers with the session\'s variables, all scopes. ' +
      'Past a limit (name length, value size, variables per session): 400 LIMIT_EXCEEDED naming it, nothing stored. Metadata names: 403',
    tags: ['session variables'],
    params: SessionIdParams,
    body: PutSessionVariablesBody,
    responses: { 200: VariablesResponse },
    errors: [400, 401, 403, 409, 413, 415, 429, 503],
  },
  {
    method: 'get',
    path: '/v1/sessions/{sessionId}/variables',
    summary:
      "A session's variables with provenance: session, visitor and metadata scope together (session scope wins a name clash; " +
      'the four metadata variables always shown, authenticatedStatus true or false). `asOf`: the state at that time; `room`: adds the visitor variables limited to that room',
    tags: ['session variables'],
    params: SessionIdParams,
    query: SessionVariablesQuery,
    responses: { 200: VariablesResponse },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'get',
    path: '/v1/sessions/{sessionId}/variables/{name}/history',
    summary: 'Every value the name had in this session (session, visitor and metadata scope), oldest first, with provenance and what kind of change it was',
    tags: ['session variables'],
    params: VariableNameParams,
    responses: { 200: VariableHistoryResponse },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'post',
    path: '/v1/visitors/{visitorId}/variables',
    summary:
      'Submit visitor variables (giosg style): plain data (unverified) or a JWT signed with one of the org\'s keys (its claims, verified); ' +
      'replaceExisting false merges by key, true replaces everything; rooms limit the data to some rooms; `username` sets the display name. ' +
      'A token that does not verify stores nothing and answers 401 INVALID_TOKEN with the reason',
    tags: ['visitor variables'],
    params: VisitorIdParams,
    body: SubmitVisitorVariablesBody,
    responses: { 200: VisitorResponse },
    errors: [400, 401, 403, 409, 413, 415, 429, 503],
  },
  {
    method: 'get',
    path: '/v1/visitors/{visitorId}',
    summary: "A visitor's display name and variables with provenance; `room` (an id or a name) adds the variables limited to that room; `asOf` reads the visitor as it was then",
    tags: ['visitor variables'],
    params: VisitorIdParams,
    query: VisitorQuery,
    responses: { 200: VisitorResponse },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'get',
    path: '/v1/visitors/{visitorId}/variables/{name}/history',
    summary: 'Every value the visitor variable had, oldest first, with provenance',
    tags: ['visitor variables'],
    params: VisitorVariableNameParams,
    responses: { 200: VariableHistoryResponse },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'delete',
    path: '/v1/visitors/{visitorId}',
    summary:
      'Erase a visitor everywhere (variables:admin): their variables and their sessions\' variables are deleted from the event store and the read models, ' +
      'VisitorErased is published, an erasure record without personal data is kept. 200 when complete, 202 while still under way',
    tags: ['erasure'],
    params: VisitorIdParams,
    responses: { 200: ErasureResponse, 202: ErasureResponse },
    errors: [400, 401, 403, 429, 503],
  },
  {
    method: 'get',
    path: '/v1/erasures/{erasureId}',
    summary: 'An erasure record and whether it is complete (variables:admin)',
    tags: ['erasure'],
    params: ErasureIdParams,
    responses: { 200: ErasureResponse },
    errors: [400, 401, 403, 404, 429],
  },
  {
    method: 'get',
    path: '/v1/variables/settings',
    summary: "The org's variable limits and retention (the defaults until it sets its own)",
    tags: ['settings'],
    responses: { 200: VariableSettingsResponse },
    errors: [401, 403, 429],
  },
  {
    method: 'put',
    path: '/v1/variables/settings',
    summary:
      "Change the org's variable limits (those not given keep their value; each up to its ceiling) and how many days an ended session's variables are kept for audit (0: deleted at once) (variables:admin)",
    tags: ['settings'],
    body: PutVariableSettingsBody,
    responses: { 200: VariableSettingsResponse },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'get',
    path: '/api/v2/{portal}/visitorsessions/{sessionId}',
    summary:
      'SalesIQ-compatible visitorsession.get: `{ object: "session", url, data: { <key>: <value> } }`; `key` for one variable, else every variable the session shows. ' +
      'Errors in SalesIQ\'s shape (1005: the portal is not one of the org\'s brands)',
    tags: ['SalesIQ-compatible'],
    params: SalesIqParams,
    query: SalesIqGetQuery,
    responses: { 200: SalesIqSessionResponse },
    errors: [400, 401, 403, 404, 429],
    errorBody: SalesIqErrorBody,
  },
  {
    method: 'post',
    path: '/api/v2/{portal}/visitorsessions/{sessionId}',
    summary: 'SalesIQ-compatible visitorsession.set: `{ data: { … } }` merges session variables (source bot); answers the data set. Errors in SalesIQ\'s shape',
    tags: ['SalesIQ-compatible'],
    params: SalesIqParams,
    body: SalesIqSetBody,
    responses: { 200: SalesIqSessionResponse },
    errors: [400, 401, 403, 404, 409, 429],
    errorBody: SalesIqErrorBody,
  },
  {
    method: 'post',
    path: '/internal/v1/variables/check',
    summary:
      'Internal (the sessions service asks it before POST /v1/sessions stores a session with sessionVariableValues): would these initial variables be accepted with the org\'s limits? 200, or the error a write would get; nothing is stored',
    tags: ['internal'],
    body: CheckVariablesBody,
    responses: { 200: CheckVariablesResponse },
    errors: [400, 401, 403, 429],
  },
];
