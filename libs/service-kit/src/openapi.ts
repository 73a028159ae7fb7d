import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { ErrorBody } from '@svp/contracts';
import type { z } from 'zod';

/** One route of a service's public contract, described by the same zod schemas that validate it. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'delete' | 'patch';
  /** OpenAPI path, with `{param}` placeholders. */
  path: string;
  summary: string;
  tags?: string[];
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Status → response schema (undefined for an empty body), or a body of another content type (NDJSON) with its description. */
  responses: Record<number, z.ZodType | undefined | ResponseDoc>;
  /** Error statuses this route can answer, each with the contract's error body. */
  errors?: number[];
  /** The error body's schema when the route answers errors in another shape (the SalesIQ-compatible routes). */
  errorBody?: z.ZodType;
  auth?: 'apiKey' | 'rootToken' | 'none';
}

/** A response body that is not one JSON document: e.g. NDJSON, `schema` describing each line. */
export interface ResponseDoc {
  contentType: string;
  schema: z.ZodType;
  description: string;
}

const isResponseDoc = (value: z.ZodType | ResponseDoc): value is ResponseDoc => 'contentType' in value && typeof value.contentType === 'string';

/** The OpenAPI 3.1 document of a service, generated from its route docs. */
export function buildOpenApiDocument(title: string, version: string, routes: readonly RouteDoc[]) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An org API key (`svp_…`), or the root token for org creation',
  });
  for (const route of routes) {
    const responses: Record<string, { description: string; content?: Record<string, { schema: z.ZodType }> }> = {};
    for (const [status, schema] of Object.entries(route.responses)) {
      responses[status] = !schema
        ? { description: `HTTP ${status}` }
        : isResponseDoc(schema)
          ? { description: schema.description, content: { [schema.contentType]: { schema: schema.schema } } }
          : { description: `HTTP ${status}`, content: { 'application/json': { schema } } };
    }
    for (const status of route.errors ?? [400]) {
      responses[String(status)] = { description: `Error ${status}`, content: { 'application/json': { schema: route.errorBody ?? ErrorBody } } };
    }
    registry.registerPath({
      method: route.method,
      path: route.path,
      summary: route.summary,
      tags: route.tags,
      security: route.auth === 'none' ? [] : [{ bearer: [] }],
      request: {
        ...(route.params ? { params: route.params } : {}),
        ...(route.query ? { query: route.query } : {}),
        ...(route.body ? { body: { content: { 'application/json': { schema: route.body } } } } : {}),
      },
      responses,
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title, version, description: `${title}: part of the session & visitor variables platform` },
  });
}
