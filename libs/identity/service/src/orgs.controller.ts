import { randomUUID } from 'node:crypto';
import { Body, Controller, Headers, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { API_SCOPES, CreateOrgBody, type CreateOrgResponse, type IntrospectApiKeyResponse } from '@svp/contracts';
import { type EventStore, WrongExpectedRevisionError } from '@svp/event-store';
import { decideOrg, initialOrgState, orgStream } from '@svp/identity-domain';
import {
  API_KEY_INTROSPECTOR,
  AppError,
  type ApiKeyIntrospector,
  type DocumentReader,
  RootTokenGuard,
  ZodPipe,
  bearerToken,
} from '@svp/service-kit';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ApiKeyDoc } from './api-keys.projection.js';
import { generateApiKey, randomId } from './api-keys.js';
import { API_KEYS_READ_MODEL, EVENT_STORE, IDENTITY_LOGGER } from './tokens.js';

@Controller()
export class OrgsController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(API_KEYS_READ_MODEL) private readonly keys: DocumentReader<ApiKeyDoc>,
    @Inject(API_KEY_INTROSPECTOR) private readonly introspector: ApiKeyIntrospector,
    @Inject(IDENTITY_LOGGER) private readonly logger: Logger,
  ) {}

  /** Creates an org and its first API key (every scope); the key is shown only in this answer. */
  @Post('v1/orgs')
  @HttpCode(201)
  @UseGuards(RootTokenGuard)
  async createOrg(@Body(new ZodPipe(CreateOrgBody, 'body')) body: z.infer<typeof CreateOrgBody>): Promise<CreateOrgResponse> {
    const orgId = randomId('org');
    const { apiKey, keyHash } = generateApiKey();
    const decision = decideOrg(
      {
        type: 'CreateOrg',
        data: { orgId, name: body.name, keyId: randomId('key'), keyHash, scopes: [...API_SCOPES], now: new Date().toISOString() },
      },
      initialOrgState(),
    );
    if (!decision.ok) throw new AppError(decision.error.code, decision.error.message);
    let position: bigint;
    try {
      const result = await this.store.appendToStream(
        orgStream(orgId),
        decision.events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata: { orgId } })),
        { expectedRevision: 'no_stream' },
      );
      position = result.lastGlobalPosition;
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) throw new AppError('CONFLICT', `Org ${orgId} exists`);
      throw error;
    }
    // The key works on every service as soon as this answer arrives. The org is stored either way:
    // a slow projection must not lose the key, which is shown only in this answer.
    await this.keys.waitFor(position).catch((err) => this.logger.warn({ err, orgId }, 'API key not yet readable; answering anyway'));
    return { orgId, apiKey };
  }

  /** Internal: who the bearer API key belongs to. Other services call this (cached) to authenticate. */
  @Post('internal/v1/api-keys/introspect')
  @HttpCode(200)
  async introspect(@Headers('authorization') authorization: string | undefined): Promise<IntrospectApiKeyResponse> {
    const key = bearerToken(authorization);
    if (!key) throw new AppError('UNAUTHENTICATED', 'Missing "Authorization: Bearer <API key>" header');
    return this.introspector.introspect(key);
  }
}
