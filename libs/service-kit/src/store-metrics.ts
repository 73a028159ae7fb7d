import {
  type AppendResult,
  type EventHandler,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeToAllOptions,
  type Subscription,
  WrongExpectedRevisionError,
} from '@svp/event-store';
import type { Histogram } from 'prom-client';

type Observer = { observe(seconds: number): void };

/**
 * The event store with its appends timed (`svp_event_store_append_duration_seconds{adapter, outcome}`):
 * every append of the service, whichever path makes it (commands, the stream writer, erasures), as
 * the caller waits for it (a group commit's wait included). Everything else goes straight through.
 */
export class ObservedEventStore implements EventStore {
  private readonly ok: Observer;
  private readonly conflict: Observer;
  private readonly error: Observer;

  constructor(
    private readonly inner: EventStore,
    histogram: Histogram<'adapter' | 'outcome'>,
    adapter: string,
  ) {
    this.ok = histogram.labels({ adapter, outcome: 'ok' });
    this.conflict = histogram.labels({ adapter, outcome: 'conflict' });
    this.error = histogram.labels({ adapter, outcome: 'error' });
  }

  async appendToStream(streamName: string, events: readonly EventToAppend[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult> {
    const started = performance.now();
    try {
      const result = await this.inner.appendToStream(streamName, events, options);
      this.ok.observe((performance.now() - started) / 1000);
      return result;
    } catch (error) {
      (error instanceof WrongExpectedRevisionError ? this.conflict : this.error).observe((performance.now() - started) / 1000);
      throw error;
    }
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
