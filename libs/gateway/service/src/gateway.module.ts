import { type DynamicModule, Module } from '@nestjs/common';
import { API_KEY_INTROSPECTOR, type ApiKeyIntrospector, ApiKeyGuard } from '@svp/service-kit';
import type { GatewayRuntime } from './gateway-runtime.js';
import { GraphqlController } from './graphql.controller.js';
import { SdkController } from './sdk.controller.js';
import { GATEWAY_RUNTIME, WIDGET_BUNDLE } from './tokens.js';

/** The gateway's HTTP module: POST /graphql, the widget SDK, and (when enabled) the demo. */
@Module({})
export class GatewayModule {
  static register(deps: { runtime: GatewayRuntime; introspector: ApiKeyIntrospector; widgetBundlePath: string; extra?: DynamicModule[] }): DynamicModule {
    return {
      module: GatewayModule,
      imports: deps.extra ?? [],
      controllers: [GraphqlController, SdkController],
      providers: [
        { provide: GATEWAY_RUNTIME, useValue: deps.runtime },
        { provide: WIDGET_BUNDLE, useValue: deps.widgetBundlePath },
        { provide: API_KEY_INTROSPECTOR, useValue: deps.introspector },
        ApiKeyGuard,
      ],
    };
  }
}
