export * from './event-store.js';
export * from './delegating-event-store.js';
export * from './postgres/postgres-event-store.js';
// The KurrentDB adapter is loaded on demand (loadKurrentDb): its gRPC client (@grpc/grpc-js,
// protobuf, OpenTelemetry; some 300 modules) would otherwise sit in every process, also those that
// keep their events in PostgreSQL. Its types are exported as usual.
export type { KurrentDbAppendTooLargeError, KurrentDbEventStore } from './kurrentdb/kurrentdb-event-store.js';

/** The KurrentDB adapter's module (KurrentDbEventStore, KurrentDbAppendTooLargeError), imported on the first call. */
export function loadKurrentDb(): Promise<typeof import('./kurrentdb/kurrentdb-event-store.js')> {
  return import('./kurrentdb/kurrentdb-event-store.js');
}
