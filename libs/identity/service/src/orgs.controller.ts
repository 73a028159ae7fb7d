import { randomUUID } from 'node:crypto';
import { Body, Controller, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import {
  API_SCOPES,
  CreateOrgBody,
  type CreateOrgResponse,
  IntrospectApiKeyBody,
  type IntrospectApiKeyResponse,
} from '@svp/contracts';
import { type EventStore, WrongExpectedRevisionError } from '@svp/event-store';
import { decideOrg, initialOrgState, orgStream } from '@svp/identity-domain';
import { API_KEY_INTROSPECTOR, AppError, type ApiKeyIntrospector, type DocumentReader, ZodPipe, bearerToken } from '@svp/service-kit';
import type { z } from 'zod';
import type { ApiKeyDoc } from './api-keys.projection.js';
import { generateApiKey, randomId, safeEqual } from './api-keys.js';
import { API_KEYS_READ_MODEL, EVENT_STORE, IDENTITY_OPTIONS } from './tokens.js';

export interface IdentityOptions {
  rootToken: string;
}

@Controller()
export class OrgsController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(API_KEYS_READ_MODEL) private readonly keys: DocumentReader<ApiKeyDoc>,
    @Inject(API_KEY_INTROSPECTOR) private readonly introspector: ApiKeyIntrospector,
    @Inject(IDENTITY_OPTIONS) private readonly options: IdentityOptions,
  ) {}

  /** Creates an org and its first API key (every scope); the key is shown only in this answer. */
  @Post('v1/orgs')
  @HttpCode(201)
  async createOrg(
    @Headers('authorization') authorization: string | undefined,
    @Body(new ZodPipe(CreateOrgBody, 'body')) body: z.infer<typeof CreateOrgBody>,
  ): Promise<CreateOrgResponse> {
    const token = bearerToken(authorization);
    if (!token) throw new AppError('UNAUTHENTICATED', 'Missing "Authorization: Bearer <root token>" header');
    if (!safeEqual(token, this.options.rootToken)) throw new AppError('FORBIDDEN', 'Org creation needs the root token');
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
    try {
      const result = await this.store.appendToStream(
        orgStream(orgId),
        decision.events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata: { orgId } })),
        { expectedRevision: 'no_stream' },
      );
      // The key works on every service as soon as this answer arrives.
      await this.keys.waitFor(result.lastGlobalPosition);
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) throw new AppError('CONFLICT', `Org ${orgId} exists`);
      throw error;
    }
    return { orgId, apiKey };
  }

  /** Internal: who an API key belongs to. Other services call this (cached) to authenticate. */
  @Post('internal/v1/api-keys/introspect')
  @HttpCode(200)
  async introspect(
    @Body(new ZodPipe(IntrospectApiKeyBody, 'body')) body: z.infer<typeof IntrospectApiKeyBody>,
  ): Promise<IntrospectApiKeyResponse> {
    return this.introspector.introspect(body.apiKey);
  }
}
