import { GraphqlRequest, GraphqlResponse } from '@svp/contracts';
import type { RouteDoc } from '@svp/service-kit';
import { z } from 'zod';

/** The gateway's HTTP routes in its OpenAPI document (the GraphQL schema itself is in docs/gateway.md and by introspection). */
export const gatewayRoutes: RouteDoc[] = [
  {
    method: 'post',
    path: '/graphql',
    summary:
      'GraphQL over HTTP: queries and mutations (subscriptions over graphql-ws at the same path). Bearer: an org API key, a widget key (startSession only) or a visitor token (its own session and visitor). 200 once the operation ran (errors of failed fields carry extensions.code); 400 for a request that cannot run.',
    tags: ['graphql'],
    body: GraphqlRequest,
    responses: { 200: GraphqlResponse },
    errors: [400, 401, 403, 429, 503],
  },
  {
    method: 'get',
    path: '/sdk/widget.js',
    summary: 'The widget SDK, one ES module for a business\'s page: import { init } from "<gateway>/sdk/widget.js" (docs/widget.md)',
    tags: ['widget'],
    responses: { 200: z.string().meta({ description: 'JavaScript (text/javascript)' }) },
    errors: [404],
    auth: 'none',
  },
];
