import { type DynamicModule, Module } from '@nestjs/common';
import type { EventStore } from '@svp/event-store';
import { API_KEY_INTROSPECTOR, type DocumentReader } from '@svp/service-kit';
import type { ApiKeyDoc } from './api-keys.projection.js';
import { LocalApiKeyIntrospector } from './api-keys.js';
import { type IdentityOptions, OrgsController } from './orgs.controller.js';
import { API_KEYS_READ_MODEL, EVENT_STORE, IDENTITY_OPTIONS } from './tokens.js';

export interface IdentityModuleDeps {
  store: EventStore;
  keys: DocumentReader<ApiKeyDoc>;
  options: IdentityOptions;
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
        { provide: IDENTITY_OPTIONS, useValue: deps.options },
      ],
    };
  }
}
