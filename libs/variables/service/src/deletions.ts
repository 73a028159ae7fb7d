import { randomUUID } from 'node:crypto';
import { type ProjectedEvent, defineProjection } from '@svp/projections';
import {
  type ClaimedTimer,
  DELETE_STREAM_TIMER,
  type StreamDeleterDeps,
  type StreamDeletionPayload,
  type StreamWriter,
  type TimerStore,
  deleteStreamWhenPassed,
  scheduleOnce,
  scheduleStreamDeletion,
} from '@svp/service-kit';
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

/** `sessionvars-<orgId>.<sessionId>`, parsed (ids hold no `.`). */
function parseSessionStream(stream: string): { orgId: string; sessionId: string } | undefined {
  const match = /^sessionvars-([^.]+)\.(.+)$/.exec(stream);
  return match ? { orgId: match[1]!, sessionId: match[2]! } : undefined;
}

/** Where the variables service keeps its timers (its own table: services share the embedded database). */
export const VARIABLES_TIMERS_TABLE = 'variables_timers';

export const ERASE_TIMER = 'erase';

interface ErasePayload {
  orgId: string;
  erasureId: string;
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
        if (event.type === 'VisitorErasureRecorded') {
          const { orgId, erasureId, at } = (event as unknown as { data: Extract<ErasureEvent, { type: 'VisitorErasureRecorded' }>['data'] }).data;
          await scheduleOnce(timers, tx, event.globalPosition, { key: `erase:${orgId}.${erasureId}`, kind: ERASE_TIMER, dueAt: new Date(at), payload: { orgId, erasureId } });
          continue;
        }
        const data = event.data as { orgId: string; at: string; retainUntil?: string; erasureId?: string };
        // Discarded: at once, or when the org's retention runs out; erased: at once.
        const dueAt = event.type === 'SessionVariablesDiscarded' && data.retainUntil ? data.retainUntil : data.at;
        await scheduleStreamDeletion(timers, tx, event, data.orgId, new Date(dueAt), data.erasureId ? { erasureId: data.erasureId } : {});
      }
    },
  });
}

export interface VariablesTimersDeps extends StreamDeleterDeps {
  writer: StreamWriter;
  logger: Logger;
  /** The clock of the events it writes (the timer worker's, so what they schedule is due on it too). Default the system clock. */
  now?: () => Date;
}

/** Fires the variables service's timers: carries out erasures and deletes streams. */
export function variablesTimerHandler(deps: VariablesTimersDeps): (timer: ClaimedTimer) => Promise<void> {
  const now = () => (deps.now ?? (() => new Date()))().toISOString();

  /** The erasure is complete once each of its streams is gone from the event store. */
  async function completeIfDone(orgId: string, erasureId: string): Promise<void> {
    const { state } = await loadFolded(deps.store, erasureStream(orgId, erasureId), erasureFold);
    if (state.status !== 'executed') return;
    // Deleted: gone, or only a session's tombstone in its place.
    for (const stream of erasedStreams(state.record)) if ((await deps.store.readStream(stream)).some((e) => e.type !== 'SessionVariablesDeleted')) return;
    await runErasureCommand(deps.writer, { type: 'MarkErasureCompleted', data: { orgId, erasureId, now: now() } });
    deps.logger.info({ orgId, erasureId, streams: erasedStreams(state.record).length }, 'visitor erasure completed');
  }

  async function erase({ orgId, erasureId }: ErasePayload): Promise<void> {
    const { state, events } = await loadFolded(deps.store, erasureStream(orgId, erasureId), erasureFold);
    // Executed before (a crash after that step, or a rebuild's replay of the record): what was
    // written since is never erased by it, but a completion the crash missed is still recorded.
    if (state.status === 'executed') return completeIfDone(orgId, erasureId);
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

  async function deleteStream(payload: StreamDeletionPayload): Promise<void> {
    // A session's stream leaves a tombstone (no personal data) so that the ended session stays
    // closed; a visitor's leaves none: what is written for them afterwards is a new visitor's.
    const session = parseSessionStream(payload.stream);
    const deleted = await deleteStreamWhenPassed(
      deps,
      payload,
      session
        ? {
            tombstone: {
              type: 'SessionVariablesDeleted',
              event: (events) => ({
                eventId: randomUUID(),
                type: 'SessionVariablesDeleted',
                data: {
                  orgId: session.orgId,
                  sessionId: session.sessionId,
                  reason: events.some((e) => e.type === 'SessionVariablesErased') || payload.erasureId ? 'erased' : 'ended',
                  at: now(),
                } satisfies Extract<SessionVariablesEvent, { type: 'SessionVariablesDeleted' }>['data'],
                metadata: { orgId: session.orgId },
              }),
            },
          }
        : {},
    );
    if (deleted.length > 0) deps.logger.info({ orgId: payload.orgId, stream: payload.stream, events: deleted.length }, 'stream deleted');
    if (payload.erasureId) await completeIfDone(payload.orgId, payload.erasureId);
  }

  return async (timer) => {
    if (timer.kind === ERASE_TIMER) return erase(timer.payload as ErasePayload);
    if (timer.kind === DELETE_STREAM_TIMER) return deleteStream(timer.payload as StreamDeletionPayload);
    deps.logger.warn({ kind: timer.kind, key: timer.key }, 'unknown variables timer; dropped');
  };
}
