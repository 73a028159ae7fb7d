export * from './event-store.js';
export * from './postgres/postgres-event-store.js';
export { KurrentDbAppendTooLargeError, KurrentDbEventStore } from './kurrentdb/kurrentdb-event-store.js';
