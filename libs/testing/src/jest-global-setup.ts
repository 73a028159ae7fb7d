/**
 * Jest globalSetup of the integration-test project (jest.config.js): finds or starts PostgreSQL and
 * Kafka once per run (see resolve-infra.ts for the order: environment, testcontainers, local tools,
 * else an Error saying what to install), exports them as DATABASE_URL and KAFKA_BROKERS, which every
 * test worker inherits (testInfra() reads them), and prints one line per dependency.
 *
 * A broker started here with tools/kafka/kafka.sh keeps running after the tests (the next run reuses
 * it; `bash tools/kafka/kafka.sh stop` ends it). Containers are removed by testcontainers' reaper when
 * Jest exits.
 */
import { createRequire } from 'node:module';
import type * as ResolveInfra from './resolve-infra.js';

/**
 * Jest loads globalSetup outside its module system: compiled to CommonJS through a require hook that
 * handles `.ts` files but not the `.js`-suffixed relative specifiers TypeScript wants in ESM sources
 * (moduleNameMapper does not apply here). So: the normal import first (works once built), then the
 * `.ts` file through that hook.
 */
async function loadResolveInfra(): Promise<typeof ResolveInfra> {
  try {
    return await import('./resolve-infra.js');
  } catch {
    return createRequire(import.meta.url)('./resolve-infra.ts') as typeof ResolveInfra;
  }
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const { applyToEnv, describeResolution, resolveInfra } = await loadResolveInfra();
  const infra = await resolveInfra(process.env);
  applyToEnv(infra, process.env);
  process.stdout.write('\n');
  console.log(describeResolution(infra.postgres));
  console.log(describeResolution(infra.kafka));
  console.log(`[test-infra] resolved in ${Date.now() - started} ms`);
}
