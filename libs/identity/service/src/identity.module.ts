import { type DynamicModule, Module } from '@nestjs/common';
import type { EventStore } from '@svp/event-store';
import { API_KEY_INTROSPECTOR, type DocumentReader, ROOT_TOKEN, RootTokenGuard } from '@svp/service-kit';
import type { Logger } from 'pino';
import type { ApiKeyDoc } from './api-keys.projection.js';
import { LocalApiKeyIntrospector } from './api-keys.js';
import { OrgsController } from './orgs.controller.js';
import { API_KEYS_READ_MODEL, EVENT_STORE, IDENTITY_LOGGER } from './tokens.js';

export interface IdentityModuleDeps {
  store: EventStore;
  keys: DocumentReader<ApiKeyDoc>;
  rootToken: string;
  logger: Logger;
}

@Module({})
export class IdentityModule {
  static register(deps: IdentityModuleDeps): DynamicModule {
    return {
      module: IdentityModule,
      controllers: [OrgsController],
      providers: [
        { provide: EVENT_STORE, useValue: deps.store },
        { provide: API_KEYS_READ_MODEL, useValue: deps.keys },
        { provide: API_KEY_INTROSPECTOR, useValue: new LocalApiKeyIntrospector(deps.keys) },
        { provide: ROOT_TOKEN, useValue: deps.rootToken },
        { provide: IDENTITY_LOGGER, useValue: deps.logger },
        RootTokenGuard,
      ],
    };
  }
}
