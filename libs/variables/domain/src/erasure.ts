import { exhaustive } from './common.js';
import { sessionVariablesStream } from './session-variables.js';
import { visitorVariablesStream } from './visitor-variables.js';

/**
 * The erasure record (stream `erasure-<orgId>.<erasureId>`): that a visitor was erased, which of
 * their sessions went with them, who asked and when; then that the erasure was carried out (every
 * stream marked erased) and completed (every stream deleted). It holds no variable name or value,
 * and it stays when the erased streams are deleted: it proves the erasure, tells other services
 * (VisitorErased on variables.events.v1) to erase their part, and keeps a replay of the log (a
 * rebuild) from erasing again what was written after it.
 */
export interface ErasureRecord {
  orgId: string;
  erasureId: string;
  visitorId: string;
  sessionIds: string[];
  requestedBy?: string;
  requestedAt: string;
}

export type ErasureEvent =
  | {
      type: 'VisitorErasureRecorded';
      data: { orgId: string; erasureId: string; visitorId: string; sessionIds: string[]; requestedBy?: string; at: string };
    }
  | { type: 'VisitorErasureExecuted'; data: { orgId: string; erasureId: string; at: string } }
  | { type: 'VisitorErasureCompleted'; data: { orgId: string; erasureId: string; at: string } };

export type ErasureState =
  | { status: 'none' }
  | { status: 'recorded'; record: ErasureRecord }
  | { status: 'executed'; record: ErasureRecord; executedAt: string }
  | { status: 'completed'; record: ErasureRecord; executedAt: string; completedAt: string };

export const initialErasureState = (): ErasureState => ({ status: 'none' });

export type ErasureCommand =
  | {
      type: 'RecordVisitorErasure';
      data: { orgId: string; erasureId: string; visitorId: string; sessionIds: readonly string[]; requestedBy?: string; now: string };
    }
  /** Every erased stream got its erased event: what remains is deleting them. */
  | { type: 'MarkErasureExecuted'; data: { orgId: string; erasureId: string; now: string } }
  /** Every erased stream is deleted from the event store. */
  | { type: 'MarkErasureCompleted'; data: { orgId: string; erasureId: string; now: string } };

/** Each step once and in order; a step repeated (a timer firing again) decides `[]`. */
export function decideErasure(command: ErasureCommand, state: ErasureState): ErasureEvent[] {
  switch (command.type) {
    case 'RecordVisitorErasure': {
      if (state.status !== 'none') return [];
      const { orgId, erasureId, visitorId, sessionIds, requestedBy, now } = command.data;
      // Each session once, in a stable order: the record is the same however the sessions were found.
      const sessions = [...new Set(sessionIds)].sort();
      return [{ type: 'VisitorErasureRecorded', data: { orgId, erasureId, visitorId, sessionIds: sessions, ...(requestedBy ? { requestedBy } : {}), at: now } }];
    }
    case 'MarkErasureExecuted':
      return state.status === 'recorded' ? [{ type: 'VisitorErasureExecuted', data: { orgId: command.data.orgId, erasureId: command.data.erasureId, at: command.data.now } }] : [];
    case 'MarkErasureCompleted':
      return state.status === 'executed' ? [{ type: 'VisitorErasureCompleted', data: { orgId: command.data.orgId, erasureId: command.data.erasureId, at: command.data.now } }] : [];
    default:
      return exhaustive(command);
  }
}

export function evolveErasure(state: ErasureState, event: ErasureEvent): ErasureState {
  switch (event.type) {
    case 'VisitorErasureRecorded': {
      const { orgId, erasureId, visitorId, sessionIds, requestedBy, at } = event.data;
      return { status: 'recorded', record: { orgId, erasureId, visitorId, sessionIds, ...(requestedBy ? { requestedBy } : {}), requestedAt: at } };
    }
    case 'VisitorErasureExecuted':
      return state.status === 'recorded' ? { status: 'executed', record: state.record, executedAt: event.data.at } : state;
    case 'VisitorErasureCompleted':
      return state.status === 'executed' ? { status: 'completed', record: state.record, executedAt: state.executedAt, completedAt: event.data.at } : state;
    default:
      return exhaustive(event);
  }
}

/** The event-store streams an erasure deletes: the visitor's and each of their sessions'. */
export const erasedStreams = (record: Pick<ErasureRecord, 'orgId' | 'visitorId' | 'sessionIds'>): string[] => [
  visitorVariablesStream(record.orgId, record.visitorId),
  ...record.sessionIds.map((sessionId) => sessionVariablesStream(record.orgId, sessionId)),
];

export const erasureStream = (orgId: string, erasureId: string): string => `erasure-${orgId}.${erasureId}`;

export const ERASURE_EVENT_TYPES = ['VisitorErasureRecorded', 'VisitorErasureExecuted', 'VisitorErasureCompleted'] as const satisfies readonly ErasureEvent['type'][];
// Compile-time check that every event of the union is registered above.
const _everyEventTypeRegistered: Exclude<ErasureEvent['type'], (typeof ERASURE_EVENT_TYPES)[number]> extends never ? true : never = true;
