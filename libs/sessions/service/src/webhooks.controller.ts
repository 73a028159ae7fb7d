import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { CreateWebhookBody, ReplayIdParams, ReplayWebhookBody, WebhookIdParams } from '@svp/contracts';
import { ApiKeyGuard, Auth, type AuthContext, RequireScopes, ZodPipe } from '@svp/service-kit';
import { z } from 'zod';
import { WEBHOOKS } from './tokens.js';
import type { Webhooks } from './webhooks.js';

type HookParams = z.infer<typeof WebhookIdParams>;
export const DeliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), before: z.string().regex(/^\d{1,18}$/, 'a delivery id').optional() });

/** IM_Session_Status webhook subscriptions, their delivery log and replay (webhooks:admin). */
@Controller('v1/webhooks')
@UseGuards(ApiKeyGuard)
export class WebhooksController {
  constructor(@Inject(WEBHOOKS) private readonly webhooks: Webhooks) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('webhooks:admin')
  create(@Body(new ZodPipe(CreateWebhookBody, 'body')) body: z.infer<typeof CreateWebhookBody>, @Auth() auth: AuthContext) {
    return this.webhooks.create(auth.orgId, body);
  }

  @Get()
  @RequireScopes('webhooks:admin')
  async list(@Auth() auth: AuthContext) {
    return { webhooks: await this.webhooks.list(auth.orgId) };
  }

  @Get(':webhookId')
  @RequireScopes('webhooks:admin')
  get(@Param(new ZodPipe(WebhookIdParams, 'path')) params: HookParams, @Auth() auth: AuthContext) {
    return this.webhooks.get(auth.orgId, params.webhookId);
  }

  /** The delivery log: every delivery with its attempts (status codes, errors, latency), newest first. */
  @Get(':webhookId/deliveries')
  @RequireScopes('webhooks:admin')
  async deliveries(
    @Param(new ZodPipe(WebhookIdParams, 'path')) params: HookParams,
    @Query(new ZodPipe(DeliveriesQuery, 'query')) query: z.infer<typeof DeliveriesQuery>,
    @Auth() auth: AuthContext,
  ) {
    return { deliveries: await this.webhooks.deliveryLog(auth.orgId, params.webhookId, query) };
  }

  /** Sends every IM_Session_Status of the org since `from` again (in order per session). */
  @Post(':webhookId/replay')
  @HttpCode(202)
  @RequireScopes('webhooks:admin')
  replay(
    @Param(new ZodPipe(WebhookIdParams, 'path')) params: HookParams,
    @Body(new ZodPipe(ReplayWebhookBody, 'body')) body: z.infer<typeof ReplayWebhookBody>,
    @Auth() auth: AuthContext,
  ) {
    return this.webhooks.replay(auth.orgId, params.webhookId, body?.from);
  }

  /** How far a replay's deliveries got (pending, delivered, failed, cancelled). */
  @Get(':webhookId/replays/:replayId')
  @RequireScopes('webhooks:admin')
  replayStatus(@Param(new ZodPipe(ReplayIdParams, 'path')) params: z.infer<typeof ReplayIdParams>, @Auth() auth: AuthContext) {
    return this.webhooks.replayStatus(auth.orgId, params.webhookId, params.replayId);
  }

  @Post(':webhookId/enable')
  @HttpCode(200)
  @RequireScopes('webhooks:admin')
  enable(@Param(new ZodPipe(WebhookIdParams, 'path')) params: HookParams, @Auth() auth: AuthContext) {
    return this.webhooks.enable(auth.orgId, params.webhookId);
  }

  @Delete(':webhookId')
  @RequireScopes('webhooks:admin')
  remove(@Param(new ZodPipe(WebhookIdParams, 'path')) params: HookParams, @Auth() auth: AuthContext) {
    return this.webhooks.remove(auth.orgId, params.webhookId);
  }
}
