import {
  PutSessionVariablesBody,
  SessionIdParams,
  SubmitVisitorVariablesBody,
  VariablesResponse,
  VisitorIdParams,
  VisitorQuery,
  VisitorResponse,
} from '@svp/contracts';
import type { RouteDoc } from '@svp/service-kit';

/** The variables service's HTTP contract, for its OpenAPI document (/docs). */
export const variablesRoutes: RouteDoc[] = [
  {
    method: 'put',
    path: '/v1/sessions/{sessionId}/variables',
    summary: 'Merge session variables (same name overwrites); answers with all session variables',
    tags: ['session variables'],
    params: SessionIdParams,
    body: PutSessionVariablesBody,
    responses: { 200: VariablesResponse },
    errors: [400, 401, 403, 404, 409, 413, 422, 429],
  },
  {
    method: 'get',
    path: '/v1/sessions/{sessionId}/variables',
    summary: "A session's variables with provenance",
    tags: ['session variables'],
    params: SessionIdParams,
    responses: { 200: VariablesResponse },
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
    errors: [400, 401, 403, 409, 413, 422, 429, 503],
  },
  {
    method: 'get',
    path: '/v1/visitors/{visitorId}',
    summary: "A visitor's display name and variables with provenance; `room` (an id or a name) adds the variables limited to that room",
    tags: ['visitor variables'],
    params: VisitorIdParams,
    query: VisitorQuery,
    responses: { 200: VisitorResponse },
    errors: [400, 401, 403, 429],
  },
];
