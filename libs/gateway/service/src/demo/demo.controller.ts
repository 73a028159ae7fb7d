import { Body, Controller, Get, Headers, HttpCode, Inject, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { AppError, ZodPipe } from '@svp/service-kit';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { DEMO } from '../tokens.js';
import type { DemoSource } from './demo-config.js';
import { LocalOnlyGuard } from './local-only.guard.js';
import { demoPage, demoScript } from './page.js';
import type { WebhookInbox } from './webhook-inbox.js';

export interface DemoRuntime {
  source: DemoSource;
  inbox: WebhookInbox;
}

export const DemoSignBody = z.strictObject({
  externalId: z.string().min(1).max(128),
  name: z.string().min(1).max(200).optional(),
  email: z.email().max(200).optional(),
  /** Custom claims (the org's claim mapping turns mapped ones into variables). */
  claims: z.record(z.string().max(64), z.union([z.string().max(500), z.number(), z.boolean()])).optional(),
});
export const DemoDeliveriesQuery = z.object({ sessionId: z.string().min(1).max(128).optional() });

interface Reply {
  header(name: string, value: string): Reply;
  status(code: number): Reply;
  send(payload: string): unknown;
}

/**
 * The demo (DEMO_ENABLED, the embedded mode): a sample shop with the widget beside an agent console,
 * all served by the gateway. Local use only: it hands the page a console key and signs any identity.
 */
@Controller('demo')
@UseGuards(LocalOnlyGuard)
export class DemoController {
  constructor(@Inject(DEMO) private readonly demo: DemoRuntime) {}

  @Get()
  page(@Res() reply: Reply): void {
    reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(demoPage);
  }

  @Get('app.js')
  script(@Res() reply: Reply): void {
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'no-store').send(demoScript);
  }

  /** The keys the page runs with: the widget key (what a business pastes) and the console's key. */
  @Get('config')
  config() {
    const config = this.ready();
    return { orgId: config.orgId, channelId: config.channelId, widgetKey: config.widgetKey, consoleKey: config.consoleKey };
  }

  /** What a business's back-end does when its user signs in: a messaging JWT signed with the org's key. */
  @Post('sign')
  @HttpCode(200)
  async sign(@Body(new ZodPipe(DemoSignBody, 'body')) body: z.infer<typeof DemoSignBody>) {
    const config = this.ready();
    const expiresAt = Math.floor(Date.now() / 1000) + 600;
    const token = await new SignJWT({
      ...(body.claims ?? {}),
      external_id: body.externalId,
      ...(body.name ? { name: body.name } : {}),
      ...(body.email ? { email: body.email, email_verified: true } : {}),
    })
      .setProtectedHeader({ alg: 'HS256', kid: config.signingKid, typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(new TextEncoder().encode(config.signingSecret));
    return { token, kid: config.signingKid, expiresAt: new Date(expiresAt * 1000).toISOString() };
  }

  /** The demo's webhook receiver: checks X-Signature over the raw body, keeps the delivery; 401 when the signature is wrong. */
  @Post('webhook')
  @HttpCode(200)
  webhook(
    @Req() request: { rawBody?: Buffer; body?: unknown },
    @Headers('x-signature') signature: string | undefined,
    @Headers('x-event-id') eventId: string | undefined,
  ) {
    const config = this.ready();
    const raw = request.rawBody ?? Buffer.from(JSON.stringify(request.body ?? null));
    const delivery = this.demo.inbox.receive(raw, { ...(signature ? { signature } : {}), ...(eventId ? { eventId } : {}) }, config.webhookSecret);
    // A forged delivery is refused and not kept: it cannot push the real ones out of the list.
    if (!delivery.signatureValid) throw new AppError('INVALID_TOKEN', 'X-Signature is not the HMAC-SHA256 of the body with the webhook secret', { reason: 'BAD_SIGNATURE' });
    return { received: true };
  }

  /** The deliveries the receiver got, newest first (one session's when sessionId is given). */
  @Get('deliveries')
  deliveries(@Query(new ZodPipe(DemoDeliveriesQuery, 'query')) query: z.infer<typeof DemoDeliveriesQuery>) {
    return { deliveries: this.demo.inbox.list(query.sessionId) };
  }

  private ready() {
    const config = this.demo.source.config();
    if (!config) throw new AppError('SERVICE_UNAVAILABLE', 'The demo is still being set up (the platform creates its org and keys at start-up); try again in a moment');
    return config;
  }
}
