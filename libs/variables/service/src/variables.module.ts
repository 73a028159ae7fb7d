import { type DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import type { EventStore } from '@svp/event-store';
import { API_KEY_INTROSPECTOR, type ApiKeyIntrospector, ApiKeyGuard } from '@svp/service-kit';
import { GetSessionVariablesHandler } from './get-session-variables/get-session-variables.handler.js';
import type { VariablesReadModel } from './read-model.js';
import { SessionVariablesController } from './session-variables.controller.js';
import {
  SetSessionVariablesHandler,
  type VariablesOptions,
} from './set-session-variables/set-session-variables.handler.js';
import { EVENT_STORE, VARIABLES_OPTIONS, VARIABLES_READ_MODEL } from './tokens.js';

export interface VariablesModuleDeps {
  store: EventStore;
  readModel: VariablesReadModel;
  introspector: ApiKeyIntrospector;
  options: VariablesOptions;
}

/** The variables service's HTTP module: thin composition of controllers, handlers and ports. */
@Module({})
export class VariablesModule {
  static register(deps: VariablesModuleDeps): DynamicModule {
    return {
      module: VariablesModule,
      imports: [CqrsModule.forRoot()],
      controllers: [SessionVariablesController],
      providers: [
        { provide: EVENT_STORE, useValue: deps.store },
        { provide: VARIABLES_READ_MODEL, useValue: deps.readModel },
        { provide: API_KEY_INTROSPECTOR, useValue: deps.introspector },
        { provide: VARIABLES_OPTIONS, useValue: deps.options },
        ApiKeyGuard,
        SetSessionVariablesHandler,
        GetSessionVariablesHandler,
      ],
    };
  }
}
