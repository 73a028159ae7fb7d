import { type AuthContext, type ServiceMetrics, inSpan, tracingEnabled } from '@svp/service-kit';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError, type GraphQLSchema, Kind, type OperationDefinitionNode, type ValidationRule, execute } from 'graphql';
import type { Logger } from 'pino';
import type { GraphqlRequest } from '@svp/contracts';
import { type GraphqlLimits, type Prepared, errorBodyOf, formatError, prepare, validationRules } from './execution.js';
import type { LiveHub } from './live-hub.js';
import { Loaders } from './loaders.js';
import { type GatewayContext, buildSchema } from './resolvers.js';
import { ServiceClient, type ServiceCallMetrics, type ServiceUrls } from './service-client.js';

export interface GatewayRuntimeOptions {
  urls: ServiceUrls;
  limits: GraphqlLimits;
  hub: LiveHub;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** How long a subscription event waits for the variables read to show its change (ms). */
  freshnessTimeoutMs?: number;
}

export interface HttpAnswer {
  status: number;
  body: { data?: unknown; errors?: readonly GraphQLFormattedError[]; error?: unknown };
}

/**
 * The gateway's GraphQL engine, shared by POST /graphql and graphql-ws: one schema, the validation
 * rules (depth, cost, introspection), a context per operation (the caller, its credential, fresh
 * loaders), and one way of formatting errors.
 */
export class GatewayRuntime {
  readonly schema: GraphQLSchema = buildSchema();
  readonly rules: readonly ValidationRule[];
  private readonly callMetrics?: ServiceCallMetrics;
  private readonly operations?: ReturnType<ServiceMetrics['counter']>;

  constructor(readonly options: GatewayRuntimeOptions) {
    this.rules = validationRules(options.limits);
    if (options.metrics) {
      this.callMetrics = {
        calls: options.metrics.counter('svp_gateway_service_calls_total', 'Calls the gateway made to the services, by service, route and status', ['service', 'route', 'status']),
        duration: options.metrics.histogram('svp_gateway_service_call_seconds', 'Latency of the gateway\'s calls to the services', ['service', 'route'], [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]),
      };
      this.operations = options.metrics.counter('svp_gateway_operations_total', 'GraphQL operations by type and outcome', ['type', 'outcome']);
    }
  }

  get logger(): Logger {
    return this.options.logger;
  }

  prepare(request: GraphqlRequest): Prepared {
    return prepare(this.schema, this.rules, request, this.options.limits.maxServiceCalls);
  }

  /**
   * A fresh context for one operation: the caller's credential, forwarded to every service call.
   * Queries and mutations are held to GRAPHQL_MAX_SERVICE_CALLS; a subscription's context lasts as
   * long as it does (each event's read), so it has no budget.
   */
  context(auth: AuthContext, bearer: string, correlationId?: string, options: { budgeted?: boolean } = {}): GatewayContext {
    const budget = options.budgeted === false ? undefined : { used: 0, max: this.options.limits.maxServiceCalls };
    const client = new ServiceClient(this.options.urls, bearer, this.callMetrics, correlationId, budget);
    return {
      auth,
      client,
      loaders: new Loaders(client, auth.visitor !== undefined),
      hub: this.options.hub,
      logger: this.options.logger,
      ...(this.options.freshnessTimeoutMs !== undefined ? { freshnessTimeoutMs: this.options.freshnessTimeoutMs } : {}),
    };
  }

  formatResult(result: ExecutionResult): FormattedExecutionResult {
    return {
      ...('data' in result ? { data: result.data } : {}),
      ...(result.errors?.length ? { errors: result.errors.map((e) => formatError(e, this.logger)) } : {}),
    };
  }

  countOperation(type: string, outcome: 'ok' | 'errors' | 'refused'): void {
    this.operations?.inc({ type, outcome });
  }

  /**
   * POST /graphql. A request the gateway cannot run (a syntax error, an unknown field, a limit, a
   * subscription, variables of the wrong type) is 400 with `errors` and the contract's `error` body;
   * an operation that ran is 200 with `data` and, when some fields failed, `errors` whose extensions
   * carry the service's code, status and details.
   */
  async executeHttp(request: GraphqlRequest, auth: AuthContext, bearer: string, correlationId?: string): Promise<HttpAnswer> {
    const prepared = this.prepare(request);
    if (!prepared.ok) return this.refused(prepared.errors.map((e) => formatError(e, this.logger)), 'unknown');
    const type = prepared.operation.operation;
    if (type === 'subscription')
      return this.refused(
        [{ message: 'Subscriptions are served over graphql-ws at /graphql (a WebSocket), not over HTTP POST', extensions: { code: 'VALIDATION_FAILED', status: 400 } }],
        type,
      );
    const run = () =>
      execute({
        schema: this.schema,
        document: prepared.document,
        variableValues: request.variables ?? undefined,
        operationName: request.operationName ?? undefined,
        contextValue: this.context(auth, bearer, correlationId),
      });
    // Traced: the operation as a span, the parent of every service call it makes (docs/tracing.md).
    const result = tracingEnabled() ? await traceOperation(prepared.operation, run) : await run();
    const formatted = this.formatResult(result);
    // No data at all: the variables did not fit the operation (a request error, GraphQL over HTTP's 400).
    if (!('data' in formatted)) return this.refused(formatted.errors ?? [], type);
    this.countOperation(type, formatted.errors ? 'errors' : 'ok');
    return { status: 200, body: formatted };
  }

  private refused(errors: readonly GraphQLFormattedError[], type: string): HttpAnswer {
    this.countOperation(type, 'refused');
    return { status: 400, body: { errors, ...errorBodyOf(errors) } };
  }
}

/**
 * One query or mutation as a span named by its type and operation name (or its first root field:
 * `mutation setSessionVariables`), failed when the operation produced no data.
 */
function traceOperation(operation: OperationDefinitionNode, run: () => Promise<ExecutionResult> | ExecutionResult): Promise<ExecutionResult> {
  const fields = operation.selectionSet.selections.flatMap((selection) => (selection.kind === Kind.FIELD ? [selection.name.value] : []));
  const name = operation.name?.value ?? fields[0];
  return inSpan(
    name ? `${operation.operation} ${name}` : operation.operation,
    {
      kind: SpanKind.INTERNAL,
      attributes: {
        'graphql.operation.type': operation.operation,
        ...(operation.name ? { 'graphql.operation.name': operation.name.value } : {}),
        'svp.graphql.root_fields': fields,
      },
    },
    async (span) => {
      const result = await run();
      if (result.errors?.length) {
        span?.setAttribute('svp.graphql.errors', result.errors.length);
        if (!result.data) span?.setStatus({ code: SpanStatusCode.ERROR, message: result.errors[0]!.message });
      }
      return result;
    },
  );
}
