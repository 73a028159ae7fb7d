import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { type ErrorBody, ErrorCode, type GraphqlRequest } from '@svp/contracts';
import { AppError, type ErrorRenderer } from '@svp/service-kit';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type OperationDefinitionNode,
  type SelectionNode,
  type ValidationContext,
  type ValidationRule,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
} from 'graphql';
import type { Logger } from 'pino';

export interface GraphqlLimits {
  /** The deepest selection accepted (GRAPHQL_MAX_DEPTH). */
  maxDepth: number;
  /** The most an operation may cost (GRAPHQL_MAX_COST: objects 2, scalars 1, times 1.5 per level of depth). */
  maxCost: number;
  /** Whether __schema and __type are answered (GRAPHQL_INTROSPECTION). */
  introspection: boolean;
  /** The most calls to the services one query or mutation may make (GRAPHQL_MAX_SERVICE_CALLS). */
  maxServiceCalls: number;
}

/** Has the errors a rule reports carry a code (introspection refused: FORBIDDEN). */
function coded(rule: ValidationRule, code: ErrorCode, limit: Record<string, unknown>): ValidationRule {
  return (context: ValidationContext) =>
    rule(
      new Proxy(context, {
        get(target, property, receiver) {
          if (property === 'reportError')
            return (error: GraphQLError) =>
              target.reportError(new GraphQLError(error.message, { nodes: error.nodes, extensions: { ...error.extensions, code, status: 400, details: limit } }));
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
    );
}

/** Reports a graphql-armor rejection as a validation error with a code (armor throws by default: a 500). */
const rejectWith =
  (details: Record<string, unknown>) =>
  (context: ValidationContext | null, error: GraphQLError): void =>
    context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'LIMIT_EXCEEDED', status: 400, details } }));

export function validationRules(limits: GraphqlLimits): ValidationRule[] {
  const armor = { ignoreIntrospection: true, exposeLimits: true, propagateOnRejection: false };
  return [
    ...specifiedRules,
    maxDepthRule({ ...armor, n: limits.maxDepth, onReject: [rejectWith({ limit: 'maxDepth', max: limits.maxDepth })] }),
    costLimitRule({ ...armor, maxCost: limits.maxCost, onReject: [rejectWith({ limit: 'maxCost', max: limits.maxCost })] }),
    ...(limits.introspection ? [] : [coded(NoSchemaIntrospectionCustomRule, 'FORBIDDEN', { introspection: false })]),
  ];
}

export type Prepared = { ok: true; document: DocumentNode; operation: OperationDefinitionNode } | { ok: false; errors: GraphQLError[] };

const requestError = (message: string, code: ErrorCode = 'VALIDATION_FAILED', details?: unknown) =>
  new GraphQLError(message, { extensions: { code, status: 400, ...(details !== undefined ? { details } : {}) } });

/**
 * The top-level fields an operation runs, fragments followed (a mutation's writes: each makes at
 * least one service call). Pure.
 */
export function rootFieldCount(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const count = (selections: readonly SelectionNode[], seen: ReadonlySet<string>): number =>
    selections.reduce((sum, selection) => {
      if (selection.kind === Kind.FIELD) return sum + (selection.name.value === '__typename' ? 0 : 1);
      if (selection.kind === Kind.INLINE_FRAGMENT) return sum + count(selection.selectionSet.selections, seen);
      const name = selection.name.value;
      const fragment = fragments.get(name);
      return fragment && !seen.has(name) ? sum + count(fragment.selectionSet.selections, new Set([...seen, name])) : sum;
    }, 0);
  return count(operation.selectionSet.selections, new Set());
}

/**
 * Parses and validates one operation (the limits included); the errors are the request's fault (400).
 * A mutation with more top-level fields than `maxServiceCalls` is refused here, before any of its
 * writes runs (at execution it would fail part-way, its earlier writes done but not answered).
 */
export function prepare(schema: GraphQLSchema, rules: readonly ValidationRule[], request: GraphqlRequest, maxServiceCalls?: number): Prepared {
  let document: DocumentNode;
  try {
    // Bounded parsing: a query of a million tokens is refused before it is built.
    document = parse(request.query, { maxTokens: 10_000 });
  } catch (error) {
    const syntax = error instanceof GraphQLError ? error : new GraphQLError(String(error));
    return { ok: false, errors: [new GraphQLError(syntax.message, { source: syntax.source, positions: syntax.positions, extensions: { code: 'VALIDATION_FAILED', status: 400 } })] };
  }
  let errors: readonly GraphQLError[];
  try {
    errors = validate(schema, document, rules, { maxErrors: 20 });
  } catch (error) {
    // A rule that throws instead of reporting (graphql-js stops at maxErrors by throwing, too): still the request's 400.
    return { ok: false, errors: [requestError(error instanceof Error ? error.message.replace(/^Syntax Error: /, '') : 'The query could not be validated')] };
  }
  if (errors.length > 0)
    return { ok: false, errors: errors.map((e) => (e.extensions.code ? e : new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'VALIDATION_FAILED', status: 400 } }))) };
  const operation = getOperationAST(document, request.operationName ?? undefined);
  if (!operation)
    return {
      ok: false,
      errors: [requestError(request.operationName ? `No operation named "${request.operationName}" in the document` : 'The document holds several operations: name the one to run (operationName)')],
    };
  if (maxServiceCalls !== undefined && operation.operation === 'mutation') {
    const writes = rootFieldCount(document, operation);
    if (writes > maxServiceCalls)
      return {
        ok: false,
        errors: [requestError(`This mutation runs ${writes} fields, each a call to the services: at most ${maxServiceCalls} per request`, 'LIMIT_EXCEEDED', { limit: 'maxServiceCalls', max: maxServiceCalls })],
      };
  }
  return { ok: true, document, operation };
}

const KNOWN_CODES = new Set<string>(ErrorCode.options);

/**
 * An error as the client sees it: message, locations, path and extensions { code, status, details,
 * service }. A service's error keeps its code; an error nobody meant to show (a bug) is INTERNAL with
 * a plain message and is logged, never leaked.
 */
export function formatError(error: GraphQLError, logger: Logger): GraphQLFormattedError {
  const original = error.originalError;
  if (original instanceof AppError) {
    return { ...error.toJSON(), message: original.message, extensions: { code: original.code, status: original.status, ...(original.details !== undefined ? { details: original.details } : {}) } };
  }
  const code = error.extensions?.code;
  if (typeof code === 'string' && KNOWN_CODES.has(code)) return error.toJSON();
  // Argument and variable coercion (a wrong type, a bad enum value, a bad scalar): the request's fault.
  if (!original || original instanceof GraphQLError) return { ...error.toJSON(), extensions: { ...error.extensions, code: 'VALIDATION_FAILED', status: 400 } };
  logger.error({ err: original, path: error.path }, 'resolver failed');
  return { message: 'Internal error', ...(error.locations ? { locations: error.locations } : {}), ...(error.path ? { path: error.path } : {}), extensions: { code: 'INTERNAL', status: 500 } };
}

/** The contract's error body for a GraphQL answer that carries no data (beside `errors`, for plain HTTP clients). */
export function errorBodyOf(errors: readonly GraphQLFormattedError[]): ErrorBody {
  const first = errors[0];
  const code = first?.extensions?.code;
  // The first error's details as the body's (a limit's { limit, max }, as the services give them); every error when there are several.
  const given = first?.extensions?.details;
  const own = given === undefined ? {} : typeof given === 'object' && given !== null && !Array.isArray(given) ? (given as Record<string, unknown>) : { value: given };
  const details = errors.length > 1 ? { ...own, errors } : given !== undefined ? own : undefined;
  return {
    error: {
      code: typeof code === 'string' && KNOWN_CODES.has(code) ? (code as ErrorCode) : 'VALIDATION_FAILED',
      message: first?.message ?? 'Bad GraphQL request',
      ...(details !== undefined ? { details } : {}),
    },
  };
}

/**
 * /graphql's answers to requests refused before GraphQL runs (no or a bad credential, over quota, a
 * body that is not a GraphQL request): the contract's error body, and the same error in GraphQL's
 * `errors`, so both a plain HTTP client and a GraphQL client read it.
 */
export const graphqlErrorRenderer: ErrorRenderer = {
  prefix: '/graphql',
  render: (status, body) => ({
    status,
    body: {
      ...body,
      errors: [{ message: body.error.message, extensions: { code: body.error.code, status, ...(body.error.details !== undefined ? { details: body.error.details } : {}) } }],
    },
  }),
};
