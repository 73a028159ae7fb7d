import type {
  AppendResult,
  EventHandler,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeToAllOptions,
  Subscription,
} from './event-store.js';

/**
 * An event store that hands every call to another one: the base of decorators that add something
 * to a few calls (timing appends for the metrics, spans for tracing) and pass the rest through.
 */
export class DelegatingEventStore implements EventStore {
  constructor(protected readonly inner: EventStore) {}

  appendToStream(streamName: string, events: readonly EventToAppend[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult> {
    return this.inner.appendToStream(streamName, events, options);
  }

  readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.inner.readStream(streamName, options);
  }

  streamRevision(streamName: string): Promise<bigint | undefined> {
    return this.inner.streamRevision(streamName);
  }

  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.inner.readAll(options);
  }

  subscribeToAll(handler: EventHandler, options?: SubscribeToAllOptions): Subscription {
    return this.inner.subscribeToAll(handler, options);
  }

  deleteStream(streamName: string, options?: { expectedRevision?: bigint }): Promise<void> {
    return this.inner.deleteStream(streamName, options);
  }

  truncateStream(streamName: string, beforeRevision: bigint): Promise<void> {
    return this.inner.truncateStream(streamName, beforeRevision);
  }

  headPosition(): Promise<bigint> {
    return this.inner.headPosition();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
