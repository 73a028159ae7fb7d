import type { EventStore, EventToAppend, RecordedEvent } from '@svp/event-store';
import { delay } from '@svp/messaging';
import type { SqlExecutor } from '@svp/postgres';
import type { ProjectionRunner } from '@svp/projections';
import type { TimerSchedule, TimerStore } from './timers/index.js';

/**
 * Deleting a stream from the event store without losing what it caused: a projection schedules a
 * durable timer (in the transaction of its checkpoint) when an event asks for the stream's deletion
 * (a session's variables discarded, a visitor erased, …), and the timer's handler deletes the stream
 * only once every projection of the service and the outbox relay have passed its last event. So no
 * read model keeps what the stream held, and every integration event it caused is published first.
 */

export const DELETE_STREAM_TIMER = 'delete-stream';

export interface StreamDeletionPayload {
  orgId: string;
  stream: string;
  /** The event that asked for the deletion: if the stream no longer holds it, the stream was deleted (and maybe written afresh) since. */
  eventId: string;
  /** The global position of that event (the schedule's version, see `scheduleOnce`). */
  seq: string;
  /** The erasure it belongs to, when it does. */
  erasureId?: string;
}

/**
 * Schedules `timer` unless an event at or after `position` already scheduled this key: a rebuild
 * replays old events while the live projection goes on, and a later event's schedule is never
 * replaced by an earlier one. The payload gets `seq` (the position).
 */
export async function scheduleOnce(timers: TimerStore, tx: SqlExecutor, position: bigint, timer: TimerSchedule<Record<string, unknown>>): Promise<void> {
  const existing = await timers.get<{ seq?: string }>(timer.key, tx);
  if (existing?.payload.seq !== undefined && BigInt(existing.payload.seq) >= position) return;
  await timers.schedule(tx, { ...timer, payload: { ...timer.payload, seq: position.toString() } });
}

/** Schedules the deletion of `event`'s stream at `dueAt`, asked for by `event`. */
export function scheduleStreamDeletion(timers: TimerStore, tx: SqlExecutor, event: RecordedEvent, orgId: string, dueAt: Date, extra: { erasureId?: string } = {}): Promise<void> {
  const payload: Omit<StreamDeletionPayload, 'seq'> = { orgId, stream: event.streamName, eventId: event.eventId, ...(extra.erasureId ? { erasureId: extra.erasureId } : {}) };
  return scheduleOnce(timers, tx, event.globalPosition, { key: `delete:${event.streamName}`, kind: DELETE_STREAM_TIMER, dueAt, payload });
}

export interface StreamDeleterDeps {
  store: EventStore;
  /** The service's projections: each must have passed the stream's last event. */
  runner: ProjectionRunner;
  /** The service's outbox relay checkpoint: it must have published the stream's last event. */
  outboxCheckpoint: () => Promise<bigint | undefined>;
  /** How long to wait for them before giving up (the timer is then retried). Default 15 s. */
  timeoutMs?: number;
}

/** Resolves once every projection of `runner` and the outbox relay have passed `position`; throws past the timeout. */
export async function waitUntilPassed(deps: StreamDeleterDeps, position: bigint): Promise<void> {
  const deadline = Date.now() + (deps.timeoutMs ?? 15_000);
  for (const status of await deps.runner.statuses()) await deps.runner.waitForPosition(status.name, position, { timeoutMs: Math.max(1, deadline - Date.now()) });
  for (;;) {
    const relayed = await deps.outboxCheckpoint();
    if (relayed !== undefined && relayed >= position) return;
    if (Date.now() > deadline) throw new Error(`the outbox relay has not yet published up to position ${position} (at ${relayed ?? 'none'})`);
    await delay(50);
  }
}

export interface DeleteStreamOptions {
  /**
   * What stays in the stream's place, holding no personal data (say, that the session's variables
   * ended), so that later commands find the stream closed instead of empty: appended at the revision
   * that was read (so nothing can slip in between), then every event before it is truncated.
   */
  tombstone?: { type: string; event: (deleted: readonly RecordedEvent[]) => EventToAppend };
}

/**
 * Deletes the stream once the read models and the relay have passed its last event, if it still
 * holds the event that asked for the deletion (`eventId`; without one, whatever it holds). It acts
 * at the revision that was read: an event appended meanwhile is never deleted unseen (the call
 * throws WrongExpectedRevisionError and the timer tries again, waiting for that event too). With a
 * tombstone, the stream is closed by it first and truncated after, so no write can land between the
 * deletion and the tombstone; a crash between the two is finished by the next firing. Answers the
 * deleted events (none when there was nothing to delete).
 */
export async function deleteStreamWhenPassed(
  deps: StreamDeleterDeps,
  payload: Pick<StreamDeletionPayload, 'stream'> & { eventId?: string },
  options: DeleteStreamOptions = {},
): Promise<RecordedEvent[]> {
  const events = await deps.store.readStream(payload.stream);
  const last = events.at(-1);
  if (!last) return [];
  const { tombstone } = options;
  if (tombstone && last.type === tombstone.type) {
    // Closed already; what a crash left before the tombstone goes now.
    if (events.length > 1) await deps.store.truncateStream(payload.stream, last.streamRevision);
    return events.slice(0, -1);
  }
  if (payload.eventId !== undefined && !events.some((e) => e.eventId === payload.eventId)) return [];
  await waitUntilPassed(deps, last.globalPosition);
  if (tombstone) {
    const closed = await deps.store.appendToStream(payload.stream, [tombstone.event(events)], { expectedRevision: last.streamRevision });
    await deps.store.truncateStream(payload.stream, closed.nextExpectedRevision);
  } else {
    await deps.store.deleteStream(payload.stream, { expectedRevision: last.streamRevision });
  }
  return events;
}
