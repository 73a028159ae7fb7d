import { type DynamicModule, Module } from '@nestjs/common';
import { DEMO } from '../tokens.js';
import { DemoController, type DemoRuntime } from './demo.controller.js';
import { LocalOnlyGuard } from './local-only.guard.js';

@Module({})
export class DemoModule {
  static register(runtime: DemoRuntime): DynamicModule {
    return { module: DemoModule, controllers: [DemoController], providers: [{ provide: DEMO, useValue: runtime }, LocalOnlyGuard] };
  }
}
