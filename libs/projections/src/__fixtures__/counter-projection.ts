import { randomUUID } from 'node:crypto';
import type { EventToAppend, RecordedEvent } from '@svp/event-store';
import { defineDocumentProjection, type ProjectedEvent } from '../projection.js';

/** A small read model for the tests: one counter per stream. */
export type CounterEvent =
  | ProjectedEvent<'CounterIncremented', { by: number; fail?: boolean }>
  | ProjectedEvent<'CounterRemoved', Record<string, never>>;

export interface Counter {
  stream: string;
  total: number;
  /** Events applied: a second application of an event would show here. */
  applied: number;
  /** Stream revisions applied, in order: a gap or a repeat would show here. */
  revisions: number[];
}

export function counterEvolve(doc: Counter | null, event: CounterEvent): Counter | null {
  switch (event.type) {
    case 'CounterIncremented': {
      if (event.data.fail) throw new Error(`evolve refused event ${event.globalPosition}`);
      const current = doc ?? { stream: event.streamName, total: 0, applied: 0, revisions: [] };
      return {
        ...current,
        total: current.total + event.data.by,
        applied: current.applied + 1,
        revisions: [...current.revisions, Number(event.streamRevision)],
      };
    }
    case 'CounterRemoved':
      return null;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

export const counterProjection = (version = 1) =>
  defineDocumentProjection<Counter, CounterEvent>({
    name: 'counters',
    version,
    canHandle: ['CounterIncremented', 'CounterRemoved'],
    documentId: (event) => event.streamName,
    evolve: counterEvolve,
    indexes: [
      { name: 'by_stream', fields: ['stream'] },
      { name: 'doc', using: 'gin' },
    ],
  });

export const incremented = (by: number, options: { fail?: boolean } = {}): EventToAppend => ({
  eventId: randomUUID(),
  type: 'CounterIncremented',
  data: options.fail ? { by, fail: true } : { by },
});
export const removed = (): EventToAppend => ({ eventId: randomUUID(), type: 'CounterRemoved', data: {} });
export const unrelated = (): EventToAppend => ({ eventId: randomUUID(), type: 'SomethingElseHappened', data: {} });

/** A recorded event for the pure tests, without a store. */
export function recorded(
  type: string,
  data: unknown,
  { stream = 'counter-a', revision = 0, position }: { stream?: string; revision?: number; position: number },
): RecordedEvent {
  return {
    eventId: randomUUID(),
    type,
    data,
    metadata: {},
    streamName: stream,
    streamRevision: BigInt(revision),
    globalPosition: BigInt(position),
    recordedAt: new Date(0),
  };
}

/** What the read model must hold: the projection folded over the whole log, in memory. */
export function expectedCounters(log: readonly RecordedEvent[]): Map<string, Counter> {
  const docs = new Map<string, Counter>();
  for (const event of log) {
    if (event.type !== 'CounterIncremented' && event.type !== 'CounterRemoved') continue;
    const next = counterEvolve(docs.get(event.streamName) ?? null, event as CounterEvent);
    if (next) docs.set(event.streamName, next);
    else docs.delete(event.streamName);
  }
  return docs;
}
