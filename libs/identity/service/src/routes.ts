import { CreateOrgBody, CreateOrgResponse, IntrospectApiKeyResponse } from '@svp/contracts';
import type { RouteDoc } from '@svp/service-kit';

export const identityRoutes: RouteDoc[] = [
  {
    method: 'post',
    path: '/v1/orgs',
    summary: 'Create an org (root token); answers with its first API key, shown only here',
    tags: ['orgs'],
    body: CreateOrgBody,
    responses: { 201: CreateOrgResponse },
    errors: [400, 401, 403],
    auth: 'rootToken',
  },
  {
    method: 'post',
    path: '/internal/v1/api-keys/introspect',
    summary: 'Internal: the org and scopes of the bearer API key (the other services call it, cached briefly)',
    tags: ['internal'],
    responses: { 200: IntrospectApiKeyResponse },
    errors: [401],
    auth: 'apiKey',
  },
];
