import { describeMessageBusContract, pgliteStoreFixture } from '../testing/index.js';
import { InProcessMessageBus } from './in-process-message-bus.js';
import { silentLogger } from '../logger.js';

// The embedded mode's pairing: the in-process bus with the store, inbox and relay on PGlite.
describeMessageBusContract('in-process (PGlite)', {
  createBus: async () => new InProcessMessageBus({ retryBackoff: 20, logger: silentLogger }),
  openSql: pgliteStoreFixture,
});
