import type { EventStore } from '@svp/event-store';
import { delay } from '@svp/messaging';
import { type ProjectedEvent, type ProjectionRunner, defineProjection } from '@svp/projections';
import type { ClaimedTimer, StreamWriter, TimerStore } from '@svp/service-kit';
import {
  DEFAULT_LIMITS,
  type ErasureEvent,
  type SessionVariablesEvent,
  erasedStreams,
  erasureStream,
  sessionVariablesStream,
  visitorVariablesStream,
} from '@svp/variables-domain';
import type { Logger } from 'pino';
import { erasureFold, loadFolded, runErasureCommand, runSessionCommand, runVisitorCommand } from './stores.js';

/**
 * Deleting streams from the event store, durably: when a session's variables are discarded (its
 * session ended: at once, or after the org's retention), when a visitor is erased (the erasure is
 * carried out, then each of its streams deleted), a durable timer is scheduled by a projection in
 * the same transaction as its checkpoint, and a timer worker fires it. A stream is deleted only once
 * every projection of the service and the outbox relay have passed its last event, so nothing it
 * held is left in a read model and every integration event it caused is published first (a
 * deletion never loses an event). Timers survive restarts and fire at least once; each firing
 * checks that what it is about still holds.
 */

/** Where the variables service keeps its timers (its own table: services share the embedded database). */
export const VARIABLES_TIMERS_TABLE = 'variables_timers';

export const ERASE_TIMER = 'erase';
export const DELETE_STREAM_TIMER = 'delete-stream';

interface ErasePayload {
  orgId: string;
  erasureId: string;
  seq: string;
}
interface DeleteStreamPayload {
  orgId: string;
  stream: string;
  /** The event that asked for the deletion: if the stream no longer holds it, the stream was deleted (and maybe written afresh) since. */
  eventId: string;
  erasureId?: string;
  seq: string;
}

type Projected = ProjectedEvent<string, unknown>;

/** Schedules the erasures and stream deletions the log asks for. */
export function variableDeletionsProjection(timers: TimerStore) {
  return defineProjection<Projected>({
    name: 'variable_deletions',
    version: 1,
    canHandle: ['VisitorErasureRecorded', 'SessionVariablesErased', 'VisitorVariablesErased', 'SessionVariablesDiscarded'],
    // Its state is the timers table (kept by TimerStore), not a table of its own.
    async setup() {},
    async drop() {},
    async apply(tx, _table, events) {
      for (const event of events) {
        const seq = event.globalPosition.toString();
        let key: string;
        let schedule: { kind: string; dueAt: Date; payload: ErasePayload | DeleteStreamPayload };
        if (event.type === 'VisitorErasureRecorded') {
          const { orgId, erasureId, at } = (event as unknown as { data: Extract<ErasureEvent, { type: 'VisitorErasureRecorded' }>['data'] }).data;
          key = `erase:${orgId}.${erasureId}`;
          schedule = { kind: ERASE_TIMER, dueAt: new Date(at), payload: { orgId, erasureId, seq } };
        } else {
          const data = event.data as { orgId: string; at: string; retainUntil?: string; erasureId?: string };
          key = `delete:${event.streamName}`;
          const dueAt = event.type === 'SessionVariablesDiscarded' && data.retainUntil ? data.retainUntil : data.at;
          schedule = {
            kind: DELETE_STREAM_TIMER,
            dueAt: new Date(dueAt),
            payload: { orgId: data.orgId, stream: event.streamName, eventId: event.eventId, ...(data.erasureId ? { erasureId: data.erasureId } : {}), seq },
          };
        }
        // A rebuild replays old events while the live projection goes on: a timer set by a later
        // event (a higher global position) is never replaced by an earlier one.
        const existing = await timers.get<{ seq?: string }>(key, tx);
        if (existing?.payload.seq !== undefined && BigInt(existing.payload.seq) >= event.globalPosition) continue;
        await timers.schedule(tx, { key, ...schedule });
      }
    },
  });
}

export interface VariablesTimersDeps {
  store: EventStore;
  writer: StreamWriter;
  /** The service's projections: a stream is deleted once each has passed its last event. */
  runner: ProjectionRunner;
  /** The outbox relay's checkpoint: a stream is deleted once its events are published. */
  outboxCheckpoint: () => Promise<bigint | undefined>;
  logger: Logger;
  /** How long a firing waits for the read models and the relay before it gives up (and is retried). Default 15 s. */
  catchUpTimeoutMs?: number;
  /** The clock of the events it writes (the timer worker's, so what they schedule is due on it too). Default the system clock. */
  now?: () => Date;
}

/** Fires the variables service's timers: carries out erasures and deletes streams. */
export function variablesTimerHandler(deps: VariablesTimersDeps): (timer: ClaimedTimer) => Promise<void> {
  const timeoutMs = deps.catchUpTimeoutMs ?? 15_000;
  const now = () => (deps.now ?? (() => new Date()))().toISOString();

  async function caughtUp(position: bigint): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const status of await deps.runner.statuses()) await deps.runner.waitForPosition(status.name, position, { timeoutMs: Math.max(1, deadline - Date.now()) });
    for (;;) {
      const relayed = await deps.outboxCheckpoint();
      if (relayed !== undefined && relayed >= position) return;
      if (Date.now() > deadline) throw new Error(`the outbox relay has not yet published up to position ${position} (at ${relayed ?? 'none'})`);
      await delay(50);
    }
  }

  /** The erasure is complete once each of its streams is gone from the event store. */
  async function completeIfDone(orgId: string, erasureId: string): Promise<void> {
    const { state } = await loadFolded(deps.store, erasureStream(orgId, erasureId), erasureFold);
    if (state.status !== 'executed') return;
    for (const stream of erasedStreams(state.record)) if ((await deps.store.streamRevision(stream)) !== undefined) return;
    await runErasureCommand(deps.writer, { type: 'MarkErasureCompleted', data: { orgId, erasureId, now: now() } });
    deps.logger.info({ orgId, erasureId, streams: erasedStreams(state.record).length }, 'visitor erasure completed');
  }

  async function erase({ orgId, erasureId }: ErasePayload): Promise<void> {
    const { state, events } = await loadFolded(deps.store, erasureStream(orgId, erasureId), erasureFold);
    // Executed or completed before (this is a rebuild's replay of the record): what was written
    // since the erasure is never erased by it.
    if (state.status !== 'recorded') return;
    const { visitorId, sessionIds } = state.record;
    const context = { causationId: events[0]!.eventId };
    const at = now();
    for (const sessionId of sessionIds) {
      const result = await runSessionCommand(deps.writer, { type: 'EraseSessionVariables', data: { orgId, sessionId, erasureId, now: at } }, DEFAULT_LIMITS, context);
      if (!result.ok) throw new Error(`erasing ${sessionVariablesStream(orgId, sessionId)} was refused: ${result.error.message}`);
    }
    const visitor = await runVisitorCommand(deps.writer, { type: 'EraseVisitorVariables', data: { orgId, visitorId, erasureId, now: at } }, DEFAULT_LIMITS, context);
    if (!visitor.ok) throw new Error(`erasing ${visitorVariablesStream(orgId, visitorId)} was refused: ${visitor.error.message}`);
    await runErasureCommand(deps.writer, { type: 'MarkErasureExecuted', data: { orgId, erasureId, now: at } });
    // Streams that held nothing have nothing to delete: the erasure may be complete already.
    await completeIfDone(orgId, erasureId);
  }

  async function deleteStream({ orgId, stream, eventId, erasureId }: DeleteStreamPayload): Promise<void> {
    const events = await deps.store.readStream(stream);
    if (events.some((e) => e.eventId === eventId)) {
      await caughtUp(events.at(-1)!.globalPosition);
      await deps.store.deleteStream(stream);
      const reason = (events.find((e) => e.eventId === eventId)?.type as SessionVariablesEvent['type'] | undefined) ?? 'unknown';
      deps.logger.info({ orgId, stream, events: events.length, reason }, 'stream deleted');
    }
    if (erasureId) await completeIfDone(orgId, erasureId);
  }

  return async (timer) => {
    if (timer.kind === ERASE_TIMER) return erase(timer.payload as ErasePayload);
    if (timer.kind === DELETE_STREAM_TIMER) return deleteStream(timer.payload as DeleteStreamPayload);
    deps.logger.warn({ kind: timer.kind, key: timer.key }, 'unknown variables timer; dropped');
  };
}
