import { type AppendResult, DelegatingEventStore, type EventStore, type EventToAppend, type ExpectedRevision, WrongExpectedRevisionError } from '@svp/event-store';
import type { Histogram } from 'prom-client';

type Observer = { observe(seconds: number): void };

/**
 * The event store with its appends timed (`svp_event_store_append_duration_seconds{adapter, outcome}`):
 * every append of the service, whichever path makes it (commands, the stream writer, erasures), as
 * the caller waits for it (a group commit's wait included). Everything else goes straight through.
 */
export class ObservedEventStore extends DelegatingEventStore {
  private readonly ok: Observer;
  private readonly conflict: Observer;
  private readonly error: Observer;

  constructor(inner: EventStore, histogram: Histogram<'adapter' | 'outcome'>, adapter: string) {
    super(inner);
    this.ok = histogram.labels({ adapter, outcome: 'ok' });
    this.conflict = histogram.labels({ adapter, outcome: 'conflict' });
    this.error = histogram.labels({ adapter, outcome: 'error' });
  }

  override async appendToStream(streamName: string, events: readonly EventToAppend[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult> {
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
}
