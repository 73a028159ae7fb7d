import { type DynamicModule, Module } from '@nestjs/common';
import { API_KEY_INTROSPECTOR, type ApiKeyIntrospector, ApiKeyGuard } from '@svp/service-kit';
import { ChannelsController } from './channels.controller.js';
import type { SessionsCore } from './sessions-core.js';
import { SessionsController } from './sessions.controller.js';
import { SESSIONS_CORE, WEBHOOKS } from './tokens.js';
import { VariableActivityStore } from './variable-activity.js';
import type { Webhooks } from './webhooks.js';
import { WebhooksController } from './webhooks.controller.js';

/** The sessions service's HTTP module: thin controllers over SessionsCore and Webhooks. */
@Module({})
export class SessionsModule {
  static register(deps: { core: SessionsCore; webhooks: Webhooks; activity: VariableActivityStore; introspector: ApiKeyIntrospector }): DynamicModule {
    return {
      module: SessionsModule,
      controllers: [SessionsController, ChannelsController, WebhooksController],
      providers: [
        { provide: SESSIONS_CORE, useValue: deps.core },
        { provide: WEBHOOKS, useValue: deps.webhooks },
        { provide: VariableActivityStore, useValue: deps.activity },
        { provide: API_KEY_INTROSPECTOR, useValue: deps.introspector },
        ApiKeyGuard,
      ],
    };
  }
}
