import { Module } from '@nestjs/common';
import type { ServiceDefinition } from '@svp/service-kit';

@Module({})
export class GatewayModule {}

/**
 * The GraphQL gateway. This foundation runs it as a service with health, readiness, metrics and
 * docs; the GraphQL schema, resolvers and subscriptions are the gateway issue's work.
 */
export const gatewayService: ServiceDefinition = {
  name: 'gateway',
  title: 'GraphQL gateway',
  async build() {
    return { module: { module: GatewayModule }, routes: [] };
  },
};
