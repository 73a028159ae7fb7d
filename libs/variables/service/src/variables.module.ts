import { type DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import type { EventStore } from '@svp/event-store';
import { API_KEY_INTROSPECTOR, type ApiKeyIntrospector, ApiKeyGuard, type SignatureVerifier } from '@svp/service-kit';
import { GetSessionVariablesHandler } from './get-session-variables/get-session-variables.handler.js';
import { GetVisitorHandler } from './get-visitor/get-visitor.handler.js';
import type { VariablesReadModel, VisitorReadModel } from './read-model.js';
import { SessionVariablesController } from './session-variables.controller.js';
import {
  SetSessionVariablesHandler,
  type VariablesOptions,
} from './set-session-variables/set-session-variables.handler.js';
import { SubmitVisitorVariablesHandler } from './submit-visitor-variables/submit-visitor-variables.handler.js';
import { EVENT_STORE, SIGNATURE_VERIFIER, VARIABLES_OPTIONS, VARIABLES_READ_MODEL, VISITOR_READ_MODEL } from './tokens.js';
import { VisitorVariablesController } from './visitor-variables.controller.js';

export interface VariablesModuleDeps {
  store: EventStore;
  readModel: VariablesReadModel;
  visitorReadModel: VisitorReadModel;
  introspector: ApiKeyIntrospector;
  /** Identity's signature check, for signed visitor submits. */
  signatures: SignatureVerifier;
  options: VariablesOptions;
}

/** The variables service's HTTP module: thin composition of controllers, handlers and ports. */
@Module({})
export class VariablesModule {
  static register(deps: VariablesModuleDeps): DynamicModule {
    return {
      module: VariablesModule,
      imports: [CqrsModule.forRoot()],
      controllers: [SessionVariablesController, VisitorVariablesController],
      providers: [
        { provide: EVENT_STORE, useValue: deps.store },
        { provide: VARIABLES_READ_MODEL, useValue: deps.readModel },
        { provide: VISITOR_READ_MODEL, useValue: deps.visitorReadModel },
        { provide: API_KEY_INTROSPECTOR, useValue: deps.introspector },
        { provide: SIGNATURE_VERIFIER, useValue: deps.signatures },
        { provide: VARIABLES_OPTIONS, useValue: deps.options },
        ApiKeyGuard,
        SetSessionVariablesHandler,
        GetSessionVariablesHandler,
        SubmitVisitorVariablesHandler,
        GetVisitorHandler,
      ],
    };
  }
}
