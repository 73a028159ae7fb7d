import { z } from 'zod';

/** `POST /graphql` (and a graphql-ws `subscribe` payload): one GraphQL operation. */
export const GraphqlRequest = z.object({
  query: z.string().min(1).max(100_000),
  variables: z.record(z.string(), z.unknown()).nullish(),
  operationName: z.string().max(200).nullish(),
  extensions: z.record(z.string(), z.unknown()).nullish(),
});
export type GraphqlRequest = z.infer<typeof GraphqlRequest>;

/** What a GraphQL error carries besides its message: the service's error code, the HTTP status it would have had, its details. */
export const GraphqlErrorExtensions = z
  .object({
    code: z.string(),
    status: z.number().int(),
    details: z.unknown().optional(),
    /** The service that answered (identity, sessions, variables); absent for the gateway's own errors. */
    service: z.string().optional(),
  })
  .loose();

export const GraphqlError = z.object({
  message: z.string(),
  locations: z.array(z.object({ line: z.number().int(), column: z.number().int() })).optional(),
  path: z.array(z.union([z.string(), z.number().int()])).optional(),
  extensions: GraphqlErrorExtensions.optional(),
});

/**
 * `POST /graphql`'s answer: 200 `{ data, errors? }` once the operation ran (fields that failed are null
 * with an error each); 400 `{ errors, error }` for a request that cannot run (syntax, unknown field,
 * wrong variables, the depth or cost limit), `error` being the contract's error body.
 */
export const GraphqlResponse = z.object({
  data: z.record(z.string(), z.unknown()).nullable().optional(),
  errors: z.array(GraphqlError).optional(),
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }).optional(),
});
export type GraphqlResponse = z.infer<typeof GraphqlResponse>;
