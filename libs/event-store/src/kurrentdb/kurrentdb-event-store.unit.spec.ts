import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import {
  ANY,
  MaxAppendSizeExceededError,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamDeletedError,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  type AllStreamSubscription,
} from '@kurrent/kurrentdb-client';
import { WrongExpectedRevisionError, type EventToAppend, type RecordedEvent } from '../event-store.js';
import { firstEndpoint, kurrentDbAvailability, redactConnectionString } from './kurrentdb-availability.js';
import {
  CaughtUpTracker,
  KurrentDbAppendTooLargeError,
  estimateAppendSize,
  globalPositionOf,
  isStreamGone,
  isSystemEvent,
  mapAppendError,
  pumpSubscription,
  toActualRevision,
  toReadPosition,
  toRecordedEvent,
  toStreamState,
  validLogPosition,
} from './kurrentdb-event-store.js';

const NO_POSITION = 2n ** 64n - 1n;

function event(type = 'Tested', data: unknown = { n: 1 }, metadata?: Record<string, unknown>): EventToAppend {
  return { eventId: randomUUID(), type, data, ...(metadata ? { metadata } : {}) };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('expected revision → the client stream state', () => {
  it.each([
    ['any', ANY],
    ['no_stream', NO_STREAM],
    ['stream_exists', STREAM_EXISTS],
    [0n, 0n],
    [41n, 41n],
  ] as const)('%p → %p', (expected, state) => {
    expect(toStreamState(expected)).toBe(state);
  });
});

describe('the client current state → our actual revision', () => {
  it('keeps revisions and turns "no stream" and negative markers into no_stream', () => {
    expect(toActualRevision(0n)).toBe(0n);
    expect(toActualRevision(7n)).toBe(7n);
    expect(toActualRevision('no_stream')).toBe('no_stream');
    expect(toActualRevision(-1n)).toBe('no_stream');
    expect(toActualRevision(-5n)).toBe('no_stream');
    expect(toActualRevision(3)).toBe(3n);
    expect(toActualRevision(undefined)).toBe('no_stream');
  });
});

describe('error mapping', () => {
  const stream = 'contract-1';

  it('given a wrong expected version with a current revision, then a WrongExpectedRevisionError names all three', () => {
    const error = new WrongExpectedVersionError(undefined, { streamName: stream, expected: 0n, current: 1n });

    const mapped = mapAppendError(error, stream, 0n, [event()]);

    expect(mapped).toBeInstanceOf(WrongExpectedRevisionError);
    expect(mapped).toMatchObject({ streamName: stream, expected: 0n, actual: 1n });
    expect((mapped as Error).message).toBe(`Wrong expected revision on stream '${stream}': expected 0, actual 1`);
  });

  it('given a wrong expected version on a missing stream, then actual is no_stream', () => {
    const error = new WrongExpectedVersionError(undefined, {
      streamName: stream,
      expected: 'stream_exists',
      current: 'no_stream',
    });

    expect(mapAppendError(error, stream, 'stream_exists', [event()])).toMatchObject({
      expected: 'stream_exists',
      actual: 'no_stream',
    });
  });

  it("given 'stream_exists' on a (soft-)deleted stream, then it is a conflict with actual no_stream", () => {
    const mapped = mapAppendError(StreamDeletedError.fromStreamName(stream), stream, 'stream_exists', [event()]);

    expect(mapped).toBeInstanceOf(WrongExpectedRevisionError);
    expect(mapped).toMatchObject({ actual: 'no_stream' });
  });

  it('given a tombstoned stream otherwise, then a plain error that says so', () => {
    const mapped = mapAppendError(StreamDeletedError.fromStreamName(stream), stream, 'any', [event()]);

    expect(mapped).not.toBeInstanceOf(WrongExpectedRevisionError);
    expect((mapped as Error).message).toContain('tombstoned');
  });

  it('given the maximum append size exceeded, then a clear error with the limit, the count and the size', () => {
    const events = [event('Big', { text: 'x'.repeat(100) }), event('Big', { text: 'y'.repeat(100) })];
    const cause = MaxAppendSizeExceededError.fromMaxAppendSize(1_048_576);

    const mapped = mapAppendError(cause, stream, 'no_stream', events);

    expect(mapped).toBeInstanceOf(KurrentDbAppendTooLargeError);
    expect(mapped).toMatchObject({ eventCount: 2, maxAppendSize: 1_048_576, estimatedBytes: estimateAppendSize(events) });
    const message = (mapped as Error).message;
    expect(message).toContain(stream);
    expect(message).toContain('1048576 bytes');
    expect(message).toContain('2 event(s)');
    expect(message).toContain('split the batch');
    expect((mapped as Error).cause).toBe(cause);
  });

  it('given any other error, then it passes through unchanged', () => {
    const other = new Error('boom');
    expect(mapAppendError(other, stream, 'any', [event()])).toBe(other);
  });

  it('reads of a missing or deleted stream are recognised, other failures are not', () => {
    expect(isStreamGone(new StreamNotFoundError(undefined, stream))).toBe(true);
    expect(isStreamGone(StreamDeletedError.fromStreamName(stream))).toBe(true);
    expect(isStreamGone(new Error('StreamNotFound'))).toBe(false);
    expect(isStreamGone(new UnavailableError())).toBe(false);
  });
});

describe('positions', () => {
  it('an `after` position becomes a read position at that commit/prepare pair; none or 0n is the start', () => {
    expect(toReadPosition(undefined)).toBe(START);
    expect(toReadPosition(0n)).toBe(START);
    expect(toReadPosition(1234n)).toEqual({ commit: 1234n, prepare: 1234n });
  });

  it('the server markers for "no position" are not positions', () => {
    expect(validLogPosition(0n)).toBe(0n);
    expect(validLogPosition(99n)).toBe(99n);
    expect(validLogPosition(-1n)).toBeUndefined();
    expect(validLogPosition(NO_POSITION)).toBeUndefined();
    expect(validLogPosition(undefined)).toBeUndefined();
  });

  it('the global position is the commit position, falling back to the resolved one, then the prepare one', () => {
    expect(globalPositionOf({ commit: 500n, prepare: 500n })).toBe(500n);
    expect(globalPositionOf({ commit: NO_POSITION, prepare: 320n }, 320n)).toBe(320n);
    expect(globalPositionOf({ commit: NO_POSITION, prepare: 320n })).toBe(320n);
    expect(globalPositionOf(undefined, 77n)).toBe(77n);
    expect(() => globalPositionOf(undefined)).toThrow(/without a log position/);
  });
});

describe('system events', () => {
  it('are $-prefixed types or anything in a $ stream', () => {
    expect(isSystemEvent('$metadata', '$$contract-1')).toBe(true);
    expect(isSystemEvent('$>', '$ce-contract')).toBe(true);
    expect(isSystemEvent('$streamDeleted', 'contract-1')).toBe(true);
    expect(isSystemEvent('Something', '$stats-127.0.0.1')).toBe(true);
    expect(isSystemEvent('ContractTested', 'contract-1')).toBe(false);
  });
});

describe('append size estimate', () => {
  it('counts data and metadata bytes plus two bytes per type character, as the server does', () => {
    const events = [event('ContractTested', { label: 'bulk', index: 12 }, { source: 'contract' }), event('Été', 'ü')];
    const first = '{"label":"bulk","index":12}'.length + '{"source":"contract"}'.length + 14 * 2;
    const second = Buffer.byteLength('"ü"') + 3 * 2;

    expect(estimateAppendSize(events)).toBe(first + second);
  });

  it('puts 10,000 events of the contract suite under the default 1 MiB limit', () => {
    const events = Array.from({ length: 10_000 }, (_, i) =>
      event('ContractTested', { label: 'bulk', index: i }, { source: 'contract' }),
    );
    expect(estimateAppendSize(events)).toBeLessThan(1_048_576);
  });
});

describe('recorded event mapping', () => {
  it('maps the client event and defaults missing or non-object metadata to {}', () => {
    const created = new Date('2025-01-02T03:04:05Z');
    const base = { streamId: 's-1', id: randomUUID(), revision: 3n, type: 'T', created, data: { a: 1 } };

    const recorded = toRecordedEvent({ ...base, metadata: { m: true } }, 42n);

    const expected: RecordedEvent = {
      eventId: base.id,
      type: 'T',
      data: { a: 1 },
      metadata: { m: true },
      streamName: 's-1',
      streamRevision: 3n,
      globalPosition: 42n,
      recordedAt: created,
    };
    expect(recorded).toEqual(expected);
    expect(toRecordedEvent({ ...base, metadata: undefined }, 1n).metadata).toEqual({});
    expect(toRecordedEvent({ ...base, metadata: new Uint8Array([1]) }, 1n).metadata).toEqual({});
  });
});

describe('CaughtUpTracker', () => {
  it('given nothing pending, when caught up, then it signals at once', () => {
    let signals = 0;
    const tracker = new CaughtUpTracker(() => signals++);
    tracker.taken();
    tracker.handled();

    tracker.caughtUp(0);

    expect(signals).toBe(1);
  });

  it('given one event in the handler and two buffered, then it signals after the third is handled', () => {
    let signals = 0;
    const tracker = new CaughtUpTracker(() => signals++);
    tracker.taken();

    tracker.caughtUp(2);
    tracker.handled();
    tracker.taken();
    tracker.handled();
    expect(signals).toBe(0);
    tracker.taken();
    tracker.handled();

    expect(signals).toBe(1);
    tracker.taken();
    tracker.handled();
    expect(signals).toBe(1);
  });

  it('signals once per catch-up', () => {
    let signals = 0;
    const tracker = new CaughtUpTracker(() => signals++);
    tracker.caughtUp(1);
    tracker.caughtUp(1);
    tracker.taken();
    tracker.handled();
    expect(signals).toBe(2);
  });
});

// A stand-in for the client's subscription: the same Transform in object mode, emitting `caughtUp`
// from inside _transform in protocol order, as the client does.
type Message = 'caughtUp' | ReturnType<typeof resolved>;
class FakeSubscription extends Transform {
  unsubscribed = 0;
  constructor() {
    super({ objectMode: true });
  }
  override _transform(message: Message, _encoding: BufferEncoding, next: TransformCallback): void {
    if (message === 'caughtUp') {
      this.emit('caughtUp', {});
      next();
      return;
    }
    next(null, message);
  }
  async unsubscribe(): Promise<void> {
    this.unsubscribed++;
  }
  asClient(): AllStreamSubscription {
    return this as unknown as AllStreamSubscription;
  }
}

function resolved(position: bigint, streamId = 'sub-1', type = 'Tested') {
  return {
    event: {
      streamId,
      id: randomUUID(),
      revision: position,
      type,
      created: new Date(),
      data: { position: Number(position) },
      metadata: {},
      isJson: true,
      position: { commit: position, prepare: position },
    },
    commitPosition: position,
  };
}

describe('pumpSubscription', () => {
  it('delivers one at a time in order, and signals caught-up only after every event before it was handled', async () => {
    const source = new FakeSubscription();
    const delivered: bigint[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const caughtUpAfter: number[] = [];
    const subscription = pumpSubscription(
      source.asClient(),
      async (e) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        delivered.push(e.globalPosition);
        inFlight--;
      },
      { onCaughtUp: () => caughtUpAfter.push(delivered.length) },
    );

    for (let p = 1n; p <= 40n; p++) source.write(resolved(p * 10n));
    source.write('caughtUp');
    await waitFor(() => caughtUpAfter.length === 1, 'caught up');
    source.write(resolved(410n));
    source.write(resolved(420n));
    await waitFor(() => delivered.length === 42, 'live events');
    await subscription.stop();

    expect(caughtUpAfter).toEqual([40]);
    expect(delivered).toEqual(Array.from({ length: 42 }, (_, i) => BigInt(i + 1) * 10n));
    expect(maxInFlight).toBe(1);
    await expect(subscription.done).resolves.toBeUndefined();
    expect(source.unsubscribed).toBe(1);
  });

  it('skips events at or before `after`, system events and repeats', async () => {
    const source = new FakeSubscription();
    const delivered: bigint[] = [];
    let caughtUp = false;
    const subscription = pumpSubscription(
      source.asClient(),
      async (e) => {
        delivered.push(e.globalPosition);
      },
      { after: 5n, onCaughtUp: () => (caughtUp = true) },
    );

    for (const message of [
      resolved(3n),
      resolved(5n),
      resolved(6n),
      resolved(7n, 'sub-1', '$metadata'),
      resolved(8n, '$ce-sub', 'Tested'),
      resolved(9n),
      resolved(9n),
    ])
      source.write(message);
    source.write('caughtUp');
    await waitFor(() => caughtUp, 'caught up');
    await subscription.stop();

    expect(delivered).toEqual([6n, 9n]);
  });

  it('given a handler that throws, then done rejects with its error, onError gets it once and delivery stops', async () => {
    const source = new FakeSubscription();
    const failure = new Error('handler failed');
    const errors: unknown[] = [];
    let calls = 0;
    const subscription = pumpSubscription(
      source.asClient(),
      async () => {
        calls++;
        throw failure;
      },
      { onError: (error) => errors.push(error) },
    );

    source.write(resolved(1n));
    source.write(resolved(2n));

    await expect(subscription.done).rejects.toBe(failure);
    expect(errors).toEqual([failure]);
    expect(calls).toBe(1);
    await expect(subscription.stop()).resolves.toBeUndefined();
    expect(source.unsubscribed).toBe(1);
  });

  it('when stopped while the handler runs, then stop() resolves after the handler and nothing more is delivered', async () => {
    const source = new FakeSubscription();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let delivered = 0;
    let finished = false;
    const subscription = pumpSubscription(source.asClient(), async () => {
      delivered++;
      await gate;
      finished = true;
    });
    source.write(resolved(1n));
    source.write(resolved(2n));
    await waitFor(() => delivered === 1, 'the handler to start');

    const stopped = subscription.stop().then(() => finished);
    release();

    expect(await stopped).toBe(true);
    expect(delivered).toBe(1);
    await expect(subscription.done).resolves.toBeUndefined();
  });

  it('given the connection fails, then done rejects with that error', async () => {
    const source = new FakeSubscription();
    const errors: unknown[] = [];
    const subscription = pumpSubscription(source.asClient(), async () => undefined, {
      onError: (error) => errors.push(error),
    });
    const lost = new UnavailableError();

    source.emit('error', lost);

    await expect(subscription.done).rejects.toBe(lost);
    expect(errors).toEqual([lost]);
  });

  it('given the server ends the subscription, then done rejects', async () => {
    const source = new FakeSubscription();
    const subscription = pumpSubscription(source.asClient(), async () => undefined);

    source.end();

    await expect(subscription.done).rejects.toThrow('KurrentDB ended the $all subscription');
  });
});

describe('kurrentDbAvailability', () => {
  it('reads the first node of the connection string forms', () => {
    expect(firstEndpoint('kurrentdb://127.0.0.1:2113?tls=false')).toEqual({ host: '127.0.0.1', port: 2113 });
    expect(firstEndpoint('esdb://admin:changeit@node1:2114,node2:2113?tls=true')).toEqual({ host: 'node1', port: 2114 });
    expect(firstEndpoint('kurrentdb+discover://cluster.example.com')).toEqual({ host: 'cluster.example.com', port: 2113 });
    expect(firstEndpoint('kdb://[::1]:2200/?tls=false')).toEqual({ host: '::1', port: 2200 });
    expect(firstEndpoint('postgres://localhost:5432/db')).toBeUndefined();
    expect(redactConnectionString('esdb://admin:changeit@node1:2113')).toBe('esdb://admin:***@node1:2113');
  });

  it('given KURRENTDB_URL at a listening port, then it is available via env', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const url = `kurrentdb://127.0.0.1:${port}?tls=false`;
    try {
      expect(await kurrentDbAvailability({ env: { KURRENTDB_URL: url } })).toEqual({ available: true, url, via: 'env' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('given KURRENTDB_URL at a closed port, then it is unavailable with the reason', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const result = await kurrentDbAvailability({ env: { KURRENTDB_URL: `kurrentdb://127.0.0.1:${port}?tls=false` } });

    expect(result.available).toBe(false);
    expect(!result.available && result.reason).toContain(`not reachable at 127.0.0.1:${port}`);
  });

  it('given no KURRENTDB_URL, then it asks testcontainers and answers quickly either way', async () => {
    const started = Date.now();
    const result = await kurrentDbAvailability({ env: {} });

    expect(Date.now() - started).toBeLessThan(6_000);
    if (result.available) expect(result.via).toBe('docker');
    else expect(result.reason).toMatch(/^no KURRENTDB_URL and no Docker engine: .+/);
  });
});
