import { type DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import type { EventStore } from '@svp/event-store';
import { API_KEY_INTROSPECTOR, type ApiKeyIntrospector, ApiKeyGuard, type SignatureVerifier, type StreamWriter } from '@svp/service-kit';
import type { BrandDirectory } from './brands.js';
import type { RevokedKeys } from './revoked-keys.js';
import { ConfigureVariablesHandler } from './configure-variables/configure-variables.handler.js';
import { EraseVisitorHandler, type ErasuresReadModel } from './erase-visitor/erase-visitor.handler.js';
import { GetSessionVariablesHandler } from './get-session-variables/get-session-variables.handler.js';
import { GetSessionVariableHistoryHandler, GetVisitorVariableHistoryHandler } from './get-variable-history/get-variable-history.handler.js';
import { GetVisitorHandler } from './get-visitor/get-visitor.handler.js';
import type { VariablesReadModel, VisitorReadModel } from './read-model.js';
import { InternalVariablesController } from './internal.controller.js';
import { SalesIqController } from './salesiq.controller.js';
import { SessionVariablesController } from './session-variables.controller.js';
import { SetSessionVariablesHandler } from './set-session-variables/set-session-variables.handler.js';
import { ErasuresController, VariableSettingsController } from './settings.controller.js';
import type { VariableSettingsReader } from './settings.js';
import { SubmitVisitorVariablesHandler } from './submit-visitor-variables/submit-visitor-variables.handler.js';
import {
  BRANDS,
  ERASURES_READ_MODEL,
  EVENT_STORE,
  REVOKED_KEYS,
  SETTINGS,
  SIGNATURE_VERIFIER,
  STREAM_WRITER,
  VARIABLES_READ_MODEL,
  VISITOR_READ_MODEL,
} from './tokens.js';
import { VisitorVariablesController } from './visitor-variables.controller.js';

export interface VariablesModuleDeps {
  store: EventStore;
  writer: StreamWriter;
  readModel: VariablesReadModel;
  visitorReadModel: VisitorReadModel;
  erasures: ErasuresReadModel;
  settings: VariableSettingsReader;
  brands: BrandDirectory;
  revokedKeys: RevokedKeys;
  introspector: ApiKeyIntrospector;
  /** Identity's signature check, for signed visitor submits. */
  signatures: SignatureVerifier;
}

/** The variables service's HTTP module: thin composition of controllers, handlers and ports. */
@Module({})
export class VariablesModule {
  static register(deps: VariablesModuleDeps): DynamicModule {
    return {
      module: VariablesModule,
      imports: [CqrsModule.forRoot()],
      controllers: [SessionVariablesController, VisitorVariablesController, VariableSettingsController, ErasuresController, SalesIqController, InternalVariablesController],
      providers: [
        { provide: EVENT_STORE, useValue: deps.store },
        { provide: STREAM_WRITER, useValue: deps.writer },
        { provide: VARIABLES_READ_MODEL, useValue: deps.readModel },
        { provide: VISITOR_READ_MODEL, useValue: deps.visitorReadModel },
        { provide: ERASURES_READ_MODEL, useValue: deps.erasures },
        { provide: SETTINGS, useValue: deps.settings },
        { provide: BRANDS, useValue: deps.brands },
        { provide: REVOKED_KEYS, useValue: deps.revokedKeys },
        { provide: API_KEY_INTROSPECTOR, useValue: deps.introspector },
        { provide: SIGNATURE_VERIFIER, useValue: deps.signatures },
        ApiKeyGuard,
        SetSessionVariablesHandler,
        GetSessionVariablesHandler,
        GetSessionVariableHistoryHandler,
        GetVisitorVariableHistoryHandler,
        SubmitVisitorVariablesHandler,
        GetVisitorHandler,
        ConfigureVariablesHandler,
        EraseVisitorHandler,
      ],
    };
  }
}
