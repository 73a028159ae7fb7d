import { GraphqlRequest, GraphqlResponse } from '@svp/contracts';
import { DemoDeliveriesQuery, DemoSignBody } from './demo/demo.controller.js';
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

const html = z.string().meta({ description: 'HTML' });

/** The demo's routes (DEMO_ENABLED; embedded mode). Local use only: no authentication, and 403 for any client but this machine (LocalOnlyGuard). */
export const demoRoutes: RouteDoc[] = [
  { method: 'get', path: '/demo', summary: 'The demo: a sample shop with the widget beside a live agent console', tags: ['demo'], responses: { 200: html }, auth: 'none', errors: [] },
  {
    method: 'get',
    path: '/demo/config',
    summary: 'The demo org\'s widget key and console key (local use only)',
    tags: ['demo'],
    responses: { 200: z.object({ orgId: z.string(), channelId: z.string(), widgetKey: z.string(), consoleKey: z.string() }) },
    errors: [403, 503],
    auth: 'none',
  },
  {
    method: 'post',
    path: '/demo/sign',
    summary: 'Signs a messaging JWT with the demo org\'s HS256 key (what a business\'s back-end does at sign-in)',
    tags: ['demo'],
    body: DemoSignBody,
    responses: { 200: z.object({ token: z.string(), kid: z.string(), expiresAt: z.string() }) },
    errors: [400, 403, 503],
    auth: 'none',
  },
  {
    method: 'post',
    path: '/demo/webhook',
    summary: 'The demo\'s IM_Session_Status webhook receiver (checks X-Signature over the raw body; 401 when it does not match)',
    tags: ['demo'],
    responses: { 200: z.object({ received: z.literal(true) }) },
    errors: [401, 403, 503],
    auth: 'none',
  },
  {
    method: 'get',
    path: '/demo/deliveries',
    summary: 'What the demo\'s receiver got, newest first',
    tags: ['demo'],
    query: DemoDeliveriesQuery,
    responses: { 200: z.object({ deliveries: z.array(z.object({ receivedAt: z.string(), eventId: z.string().nullable(), signatureValid: z.boolean(), body: z.unknown() })) }) },
    errors: [400, 403],
    auth: 'none',
  },
];
