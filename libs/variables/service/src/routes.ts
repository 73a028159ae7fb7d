import { PutSessionVariablesBody, SessionIdParams, VariablesResponse } from '@svp/contracts';
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
];
