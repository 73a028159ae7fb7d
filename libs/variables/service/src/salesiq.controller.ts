import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  type ErrorBody,
  type ErrorCode,
  SalesIqGetQuery,
  SalesIqParams,
  SalesIqSessionResponse,
  SalesIqSetBody,
  type SalesIqErrorBody,
  type VariableView,
} from '@svp/contracts';
import { ApiKeyGuard, AppError, Auth, type AuthContext, type ErrorRenderer, RequireScopes, ZodPipe } from '@svp/service-kit';
import { sessionKey } from '@svp/variables-domain';
import type { BrandDirectory } from './brands.js';
import { GetSessionVariables } from './get-session-variables/get-session-variables.handler.js';
import type { VariablesReadModel } from './read-model.js';
import { SetSessionVariables, type SetSessionVariablesResult } from './set-session-variables/set-session-variables.handler.js';
import { BRANDS, VARIABLES_READ_MODEL } from './tokens.js';

/** The prefix of the SalesIQ-compatible routes (their errors answer in SalesIQ's shape). */
export const SALESIQ_PREFIX = '/api/v2/';

/** Why a portal is refused: SalesIQ's 1005. */
const UNKNOWN_PORTAL = 'UNKNOWN_PORTAL';

/**
 * SalesIQ's numeric error codes for the contract's codes. 1002, 1005 and 1006 are SalesIQ's own
 * (invalid authorization header, invalid portal, invalid URL; 1001 its general error); the 11xx
 * codes are this platform's, in SalesIQ's shape, for what SalesIQ documents no code for. The HTTP
 * status stays the contract's (SalesIQ itself answers 200), so a client that reads only the body
 * sees what SalesIQ would send, and one that checks the status sees a clear 4xx.
 */
export const SALESIQ_ERROR_CODES: Readonly<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 1002,
  INVALID_TOKEN: 1002,
  NOT_FOUND: 1006,
  VALIDATION_FAILED: 1101,
  PAYLOAD_TOO_LARGE: 1101,
  UNSUPPORTED_MEDIA_TYPE: 1101,
  LIMIT_EXCEEDED: 1102,
  FORBIDDEN: 1103,
  CONFLICT: 1104,
  RATE_LIMITED: 1105,
  SERVICE_UNAVAILABLE: 1001,
  INTERNAL: 1001,
};

/** The contract's error body in SalesIQ's shape: `{ error: { code: <number>, message, param? } }`. */
export function toSalesIqError(status: number, body: ErrorBody): { status: number; body: SalesIqErrorBody } {
  const details = body.error.details as { reason?: string; issues?: { path?: string }[]; name?: string } | undefined;
  if (details?.reason === UNKNOWN_PORTAL) return { status, body: { error: { code: 1005, message: 'Invalid portal or wrong screenname' } } };
  if (body.error.code === 'NOT_FOUND') return { status, body: { error: { code: 1006, message: 'Invalid URL' } } };
  if (body.error.code === 'UNAUTHENTICATED') return { status, body: { error: { code: 1002, message: `Invalid authorization header. ${body.error.message}` } } };
  const param = details?.issues?.[0]?.path || details?.name;
  return { status, body: { error: { code: SALESIQ_ERROR_CODES[body.error.code], message: body.error.message, ...(param ? { param } : {}) } } };
}

export const salesIqErrorRenderer: ErrorRenderer = { prefix: SALESIQ_PREFIX, render: toSalesIqError };

/**
 * Zoho SalesIQ's visitorsessions API (what a Zobot's `visitorsession.get/set` calls), on this
 * platform's session variables: `portal` is one of the org's brands (by name, any case); reading
 * answers `{ object: 'session', url, data }` with every variable a read of the session shows (or the
 * one `key`); setting writes session variables (source `bot`). Scopes variables:read and
 * variables:write; each call is metered against the org's quota like every API call.
 */
@Controller('api/v2/:portal/visitorsessions')
@UseGuards(ApiKeyGuard)
export class SalesIqController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    @Inject(BRANDS) private readonly brands: BrandDirectory,
    @Inject(VARIABLES_READ_MODEL) private readonly readModel: VariablesReadModel,
  ) {}

  @Get(':sessionId')
  @RequireScopes('variables:read')
  async get(
    @Param(new ZodPipe(SalesIqParams, 'path')) params: SalesIqParams,
    @Query(new ZodPipe(SalesIqGetQuery, 'query')) query: SalesIqGetQuery,
    @Auth() auth: AuthContext,
  ): Promise<SalesIqSessionResponse> {
    await this.checkPortal(auth.orgId, params);
    const views = await this.queries.execute<GetSessionVariables, VariableView[]>(new GetSessionVariables(auth.orgId, params.sessionId));
    const shown = query.key === undefined ? views : views.filter((v) => v.name === query.key);
    return { object: 'session', url: `/api/v2/${params.portal}/visitorsessions`, data: Object.fromEntries(shown.map((v) => [v.name, v.value])) };
  }

  @Post(':sessionId')
  @HttpCode(200)
  @RequireScopes('variables:write')
  async set(
    @Param(new ZodPipe(SalesIqParams, 'path')) params: SalesIqParams,
    @Body(new ZodPipe(SalesIqSetBody, 'body')) body: SalesIqSetBody,
    @Auth() auth: AuthContext,
  ): Promise<SalesIqSessionResponse> {
    await this.checkPortal(auth.orgId, params);
    const values = Object.entries(body.data).map(([name, value]) => ({ name, value }));
    if (values.length === 0) throw new AppError('VALIDATION_FAILED', 'Invalid body: data: give at least one key', { issues: [{ path: 'data', message: 'is empty' }] });
    const { position } = await this.commands.execute<SetSessionVariables, SetSessionVariablesResult>(
      new SetSessionVariables(auth.orgId, params.sessionId, values, 'bot', auth.keyId, undefined),
    );
    await this.readModel.waitFor(position);
    return { object: 'session', url: `/api/v2/${params.portal}/visitorsessions`, data: body.data };
  }

  /** The portal must be one of the org's brands, and the session's brand when the session has one. */
  private async checkPortal(orgId: string, { portal, sessionId }: SalesIqParams): Promise<void> {
    const brand = await this.brands.byName(orgId, portal);
    const session = brand ? await this.readModel.get(sessionKey(orgId, sessionId)) : undefined;
    if (!brand || (session?.brandId && session.brandId !== brand.brandId))
      throw new AppError('NOT_FOUND', 'Invalid portal or wrong screenname', { reason: UNKNOWN_PORTAL, portal });
  }
}
