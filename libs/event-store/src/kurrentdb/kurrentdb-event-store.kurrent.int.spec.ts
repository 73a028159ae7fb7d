/**
 * The shared EventStore contract against a real KurrentDB: the one at KURRENTDB_URL (e.g.
 * `kurrentdb://127.0.0.1:2113?tls=false`), else a throwaway container started with testcontainers
 * (image: KURRENTDB_IMAGE, default KurrentDB 25.1; `eventstore/eventstore:24.10` works too).
 * jest.config.js leaves this file out, and says so, when kurrentDbAvailability() finds neither; run
 * on its own without either, it fails in its setup with the reason rather than passing.
 */
import { afterAll, beforeAll } from '@jest/globals';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { describeEventStoreContract } from '../testing/event-store.contract.js';
import { KurrentDbEventStore } from './kurrentdb-event-store.js';

const IMAGE = process.env['KURRENTDB_IMAGE'] ?? 'docker.kurrent.io/kurrent-latest/kurrentdb:25.1';
const HTTP_PORT = 2113;

let container: StartedTestContainer | undefined;
let connectionString: string | undefined;

async function startContainer(): Promise<StartedTestContainer> {
  // EventStoreDB images read EVENTSTORE_* settings, KurrentDB images KURRENTDB_*; both refuse unknown ones.
  const prefix = /eventstore/i.test(IMAGE) ? 'EVENTSTORE' : 'KURRENTDB';
  return new GenericContainer(IMAGE)
    .withEnvironment({
      [`${prefix}_INSECURE`]: 'true',
      [`${prefix}_MEM_DB`]: 'true',
      [`${prefix}_RUN_PROJECTIONS`]: 'None',
    })
    .withExposedPorts(HTTP_PORT)
    .withWaitStrategy(
      Wait.forHttp('/health/live', HTTP_PORT).forStatusCodeMatching((status) => status >= 200 && status < 300),
    )
    .withStartupTimeout(180_000)
    .start();
}

// Outside the contract's own beforeAll, with room for an image pull.
beforeAll(async () => {
  const fromEnv = process.env['KURRENTDB_URL']?.trim();
  if (fromEnv) {
    connectionString = fromEnv;
    return;
  }
  try {
    container = await startContainer();
  } catch (error) {
    throw new Error(
      `KurrentDB contract suite: no KURRENTDB_URL and could not start ${IMAGE} with testcontainers: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
  connectionString = `kurrentdb://${container.getHost()}:${container.getMappedPort(HTTP_PORT)}?tls=false`;
}, 300_000);

afterAll(async () => {
  await container?.stop();
}, 60_000);

describeEventStoreContract('KurrentDB', async () => {
  if (!connectionString) throw new Error('KurrentDB contract suite: no KurrentDB to connect to');
  const store = await KurrentDbEventStore.connect(connectionString);
  return { store, dispose: () => store.close() };
});
