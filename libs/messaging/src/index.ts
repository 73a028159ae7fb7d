export * from './message-bus.js';
export * from './logger.js';
export * from './backoff.js';
export * from './dead-letter.js';
export * from './transient-errors.js';
export * from './consume-envelopes.js';
export * from './kafka/kafka-message-bus.js';
export * from './consumer-lag.js';
export * from './kafka/consumer-lag.js';
// The @platformatic/kafka adapter is loaded on demand (loadPlatformaticMessageBus), so that a process
// on the default client (kafkajs) or the in-process bus does not carry a second Kafka client.
export type { PlatformaticMessageBus, PlatformaticMessageBusOptions } from './platformatic/platformatic-message-bus.js';
export * from './in-process/in-process-message-bus.js';
export * from './in-process/message-log.js';
export * from './in-process/sql-message-log.js';
export * from './in-process/partitioner.js';
export * from './inbox/sql-inbox.js';
export * from './outbox/outbox-relay.js';

/** The @platformatic/kafka adapter's module (PlatformaticMessageBus), imported on the first call. */
export function loadPlatformaticMessageBus(): Promise<typeof import('./platformatic/platformatic-message-bus.js')> {
  return import('./platformatic/platformatic-message-bus.js');
}
