import { type DynamicModule, Module } from '@nestjs/common';
import { API_KEY_INTROSPECTOR, type ApiKeyIntrospector, ApiKeyGuard } from '@svp/service-kit';
import { SessionsController } from './sessions.controller.js';
import { VariableActivityStore } from './variable-activity.js';

@Module({})
export class SessionsModule {
  static register(deps: { activity: VariableActivityStore; introspector: ApiKeyIntrospector }): DynamicModule {
    return {
      module: SessionsModule,
      controllers: [SessionsController],
      providers: [
        { provide: VariableActivityStore, useValue: deps.activity },
        { provide: API_KEY_INTROSPECTOR, useValue: deps.introspector },
        ApiKeyGuard,
      ],
    };
  }
}
