import { type DynamicModule, Module } from '@nestjs/common';
import { API_KEY_INTROSPECTOR, ApiKeyGuard, ROOT_TOKEN, RootTokenGuard } from '@svp/service-kit';
import { ApiKeysController } from './api-keys.controller.js';
import { LocalApiKeyIntrospector } from './api-keys.js';
import type { IdentityCore } from './identity-core.js';
import { OrgsController } from './orgs.controller.js';
import { SigningKeysController } from './signing-keys.controller.js';
import { IDENTITY_CORE } from './tokens.js';
import { VerificationController } from './verification.controller.js';

export interface IdentityModuleDeps {
  core: IdentityCore;
  rootToken: string;
}

/** The identity service's HTTP module: thin controllers over IdentityCore. */
@Module({})
export class IdentityModule {
  static register(deps: IdentityModuleDeps): DynamicModule {
    return {
      module: IdentityModule,
      controllers: [OrgsController, ApiKeysController, SigningKeysController, VerificationController],
      providers: [
        { provide: IDENTITY_CORE, useValue: deps.core },
        // Identity authenticates keys from its own read models (the others ask it over HTTP).
        { provide: API_KEY_INTROSPECTOR, useValue: new LocalApiKeyIntrospector((credential) => deps.core.introspectCredential(credential)) },
        { provide: ROOT_TOKEN, useValue: deps.rootToken },
        RootTokenGuard,
        ApiKeyGuard,
      ],
    };
  }
}
