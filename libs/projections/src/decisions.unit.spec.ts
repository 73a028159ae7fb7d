import { describe, expect, it } from '@jest/globals';
import { counterProjection, recorded, type Counter } from './__fixtures__/counter-projection.js';
import {
  distinctIds,
  documentIdPerEvent,
  documentIdsOf,
  lagOf,
  planDocumentBatch,
  rebuildProgress,
  retryDelay,
  shouldFlush,
  type StoredDocument,
} from './decisions.js';

const projection = counterProjection();
const inc = (by: number, position: number, stream = 'counter-a', revision = position - 1) =>
  recorded('CounterIncremented', { by }, { stream, revision, position });
const none = new Map<string, StoredDocument<Counter>>();

describe('planning a document batch', () => {
  it('given no stored document, folds the batch into one write per document, at its last position', () => {
    const plan = planDocumentBatch(projection, [inc(2, 1), inc(3, 2, 'counter-b', 0), inc(5, 3, 'counter-a', 1)], none);

    expect(plan.applied).toBe(3);
    expect(plan.skipped).toBe(0);
    expect(plan.writes).toEqual([
      { id: 'counter-a', lastPosition: 3n, doc: { stream: 'counter-a', total: 7, applied: 2, revisions: [0, 1] } },
      { id: 'counter-b', lastPosition: 2n, doc: { stream: 'counter-b', total: 3, applied: 1, revisions: [0] } },
    ]);
  });

  it('given a stored document, skips events at or below its last position: a redelivery has no second effect', () => {
    const stored = new Map([
      ['counter-a', { doc: { stream: 'counter-a', total: 7, applied: 2, revisions: [0, 1] }, lastPosition: 3n }],
    ]);

    const redelivered = planDocumentBatch(projection, [inc(2, 1), inc(5, 3, 'counter-a', 1)], stored);
    expect(redelivered).toEqual({ writes: [], applied: 0, skipped: 2 });

    const overlapping = planDocumentBatch(projection, [inc(5, 3, 'counter-a', 1), inc(1, 4, 'counter-a', 2)], stored);
    expect(overlapping.skipped).toBe(1);
    expect(overlapping.writes).toEqual([
      { id: 'counter-a', lastPosition: 4n, doc: { stream: 'counter-a', total: 8, applied: 3, revisions: [0, 1, 2] } },
    ]);
  });

  it('given the same event twice in one batch, applies it once', () => {
    const event = inc(2, 1);
    const plan = planDocumentBatch(projection, [event, event], none);
    expect(plan.applied).toBe(1);
    expect(plan.skipped).toBe(1);
    expect(plan.writes[0]!.doc).toMatchObject({ total: 2, applied: 1 });
  });

  it('given a deleting event, writes a tombstone that keeps the position, so an older event cannot revive it', () => {
    const plan = planDocumentBatch(projection, [inc(2, 1), recorded('CounterRemoved', {}, { position: 2, revision: 1 })], none);
    expect(plan.writes).toEqual([{ id: 'counter-a', doc: null, lastPosition: 2n }]);

    const tombstone = new Map([['counter-a', { doc: null, lastPosition: 2n }]]);
    expect(planDocumentBatch(projection, [inc(2, 1)], tombstone).writes).toEqual([]);
  });

  it('ignores events of other types and events without a document id', () => {
    const withoutId = { ...projection, documentId: () => null };
    const events = [recorded('SomethingElseHappened', {}, { position: 1 }), inc(1, 2)];

    expect(planDocumentBatch(projection, events, none).applied).toBe(1);
    expect(documentIdsOf(projection, events)).toEqual(['counter-a']);
    expect(planDocumentBatch(withoutId, events, none)).toEqual({ writes: [], applied: 0, skipped: 0 });
  });

  it('names the document of each event index for index (null where the projection does not handle it), and the distinct ones in first-seen order', () => {
    const events = [inc(1, 1, 'counter-b', 0), recorded('SomethingElseHappened', {}, { position: 2 }), inc(1, 3), inc(1, 4, 'counter-b', 1)];

    const ids = documentIdPerEvent(projection, events);

    expect(ids).toEqual(['counter-b', null, 'counter-a', 'counter-b']);
    expect(distinctIds(ids)).toEqual(['counter-b', 'counter-a']);
  });

  it('given the ids of the batch already named, folds with them and does not ask the projection again', () => {
    let asked = 0;
    const counting = { ...projection, documentId: (event: Parameters<typeof projection.documentId>[0]) => (asked++, projection.documentId(event)) };
    const events = [inc(2, 1), inc(3, 2, 'counter-b', 0)];
    const ids = documentIdPerEvent(counting, events);
    asked = 0;

    const plan = planDocumentBatch(counting, events, none, ids);

    expect(asked).toBe(0);
    expect(plan.writes.map((w) => [w.id, w.lastPosition])).toEqual([
      ['counter-a', 1n],
      ['counter-b', 2n],
    ]);
  });

  it('fails loudly when documentId returns something other than a string or null', () => {
    const broken = { ...projection, documentId: () => undefined as unknown as string };

    expect(() => documentIdPerEvent(broken, [inc(1, 7)])).toThrow("Projection 'counters': documentId returned undefined for event 7 (CounterIncremented); it must return a string or null");
    expect(() => planDocumentBatch(broken, [inc(1, 7)], none)).toThrow('it must return a string or null');
  });

  it('never changes the stored documents it folds from (only its own working copies)', () => {
    const storedDoc = { stream: 'counter-a', total: 7, applied: 2, revisions: [0, 1] };
    const stored = new Map([['counter-a', { doc: storedDoc, lastPosition: 3n }]]);

    const plan = planDocumentBatch(projection, [inc(1, 4, 'counter-a', 2), inc(1, 5, 'counter-a', 3)], stored);

    expect(plan.writes).toEqual([{ id: 'counter-a', lastPosition: 5n, doc: { stream: 'counter-a', total: 9, applied: 4, revisions: [0, 1, 2, 3] } }]);
    expect(stored.get('counter-a')).toEqual({ doc: { stream: 'counter-a', total: 7, applied: 2, revisions: [0, 1] }, lastPosition: 3n });
  });

  it('lets an evolve that throws fail the whole batch', () => {
    const bad = recorded('CounterIncremented', { by: 1, fail: true }, { position: 2 });
    expect(() => planDocumentBatch(projection, [inc(1, 1), bad], none)).toThrow('evolve refused event 2');
  });
});

describe('batching', () => {
  it('writes a batch when it is full, when caught up, when it lingered, and at stop; never an empty one', () => {
    expect(shouldFlush(99, 100, 'event')).toBe(false);
    expect(shouldFlush(100, 100, 'event')).toBe(true);
    expect(shouldFlush(1, 100, 'caught-up')).toBe(true);
    expect(shouldFlush(1, 100, 'linger')).toBe(true);
    expect(shouldFlush(1, 100, 'stop')).toBe(true);
    expect(shouldFlush(0, 100, 'caught-up')).toBe(false);
  });
});

describe('status figures', () => {
  it('backs off exponentially up to a cap', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 5, 50].map((attempt) => retryDelay(attempt, policy))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('measures lag as head − position, never negative', () => {
    expect(lagOf(120n, 100n)).toBe(20n);
    expect(lagOf(100n, 100n)).toBe(0n);
    expect(lagOf(90n, 100n)).toBe(0n);
  });

  it('reports rebuild progress as a ratio of the head', () => {
    expect(rebuildProgress(0n, 0n, 0)).toEqual({ position: 0n, head: 0n, eventsApplied: 0, ratio: 1 });
    expect(rebuildProgress(25n, 100n, 10)).toEqual({ position: 25n, head: 100n, eventsApplied: 10, ratio: 0.25 });
    expect(rebuildProgress(1n, 3n, 1).ratio).toBeCloseTo(0.3333, 4);
    expect(rebuildProgress(120n, 100n, 10).ratio).toBe(1);
  });
});
