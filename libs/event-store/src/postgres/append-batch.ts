import type { SqlExecutor } from '@svp/postgres';
import { WrongExpectedRevisionError, type AppendResult, type EventToAppend, type ExpectedRevision } from '../event-store.js';

/** One caller's append waiting for the next batch. */
export interface PendingAppend {
  readonly streamName: string;
  readonly events: readonly EventToAppend[];
  readonly expected: ExpectedRevision;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

/** What a batch decided for each of its appends: a result, or the error that append alone gets. */
export type AppendOutcome = { ok: true; result: AppendResult } | { ok: false; error: unknown };

export function revisionHolds(expected: ExpectedRevision, current: bigint): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return current < 0n;
  if (expected === 'stream_exists') return current >= 0n;
  return current === expected;
}

/**
 * Takes the appends of the next batch off the front of the queue: as many as fit in `maxEvents`
 * events (always at least one), stopping before an append that repeats an event id already in the
 * batch (its idempotency check must see the earlier one committed, so it goes in the next batch).
 */
export function takeBatch(queue: PendingAppend[], maxEvents: number): PendingAppend[] {
  const batch: PendingAppend[] = [];
  const ids = new Set<string>();
  let events = 0;
  while (queue.length > 0) {
    const next = queue[0]!;
    if (batch.length > 0 && (events + next.events.length > maxEvents || next.events.some((e) => ids.has(e.eventId)))) break;
    queue.shift();
    batch.push(next);
    events += next.events.length;
    for (const e of next.events) ids.add(e.eventId);
  }
  return batch;
}

interface StoredRow {
  event_id: string;
  stream_name: string;
  stream_revision: bigint | string;
  global_position: bigint | string;
}

/**
 * Several appends, to one or many streams, in ONE transaction: one commit (one WAL flush) for all of
 * them, which is what lets writes under load go faster than a commit each (group commit). Each
 * append is still decided on its own, in queue order, exactly as a single append would be: its
 * expected revision against the stream's revision after the batch's earlier appends, its event ids
 * against what is stored (an exact re-append answers the stored result). An append that is refused
 * gets its own error and writes nothing; the others are written. Stream rows are locked in name
 * order, so batches of several processes cannot deadlock; the global-log advisory lock is taken
 * last, right before positions are drawn (see the ordering note in postgres-event-store.ts).
 */
export async function appendBatchInTransaction(tx: SqlExecutor, channel: string, batch: readonly PendingAppend[]): Promise<AppendOutcome[]> {
  const names = [...new Set(batch.map((a) => a.streamName))].sort();
  await tx.query(
    `INSERT INTO es_streams (stream_name, revision)
     SELECT value, -1 FROM jsonb_array_elements_text($1::text::jsonb) ORDER BY value
     ON CONFLICT (stream_name) DO NOTHING`,
    [JSON.stringify(names)],
  );
  const { rows: locked } = await tx.query<{ stream_name: string; revision: bigint | string }>(
    `SELECT stream_name, revision FROM es_streams
     WHERE stream_name IN (SELECT value FROM jsonb_array_elements_text($1::text::jsonb))
     ORDER BY stream_name FOR UPDATE`,
    [JSON.stringify(names)],
  );
  const revisions = new Map(locked.map((row) => [row.stream_name, BigInt(row.revision)]));
  const { rows: stored } = await tx.query<StoredRow>(
    `SELECT event_id, stream_name, stream_revision, global_position FROM es_events
     WHERE event_id IN (SELECT value::uuid FROM jsonb_array_elements_text($1::text::jsonb))`,
    [JSON.stringify(batch.flatMap((a) => a.events.map((e) => e.eventId)))],
  );
  const storedById = new Map(stored.map((row) => [row.event_id.toLowerCase(), row]));

  const outcomes: (AppendOutcome | undefined)[] = [];
  const rows: { s: string; r: string; eventId: string; type: string; data: unknown; metadata: Record<string, unknown> }[] = [];
  const accepted: { index: number; streamName: string; first: bigint; last: bigint }[] = [];
  batch.forEach((append, index) => {
    const existing = append.events.map((e) => storedById.get(e.eventId.toLowerCase())).filter((row) => row !== undefined);
    if (existing.length > 0) {
      const inThisStream = existing.filter((row) => row.stream_name === append.streamName);
      if (inThisStream.length === append.events.length) {
        const last = inThisStream.reduce((a, b) => (BigInt(a.stream_revision) > BigInt(b.stream_revision) ? a : b));
        outcomes[index] = { ok: true, result: { nextExpectedRevision: BigInt(last.stream_revision), lastGlobalPosition: BigInt(last.global_position) } };
      } else {
        outcomes[index] = {
          ok: false,
          error: new Error(
            `Cannot append to '${append.streamName}': event ids already stored (${existing
              .map((row) => `${row.event_id} in '${row.stream_name}'`)
              .join(', ')}) and the batch is not an exact re-append to this stream`,
          ),
        };
      }
      return;
    }
    const current = revisions.get(append.streamName)!;
    if (!revisionHolds(append.expected, current)) {
      outcomes[index] = { ok: false, error: new WrongExpectedRevisionError(append.streamName, append.expected, current < 0n ? 'no_stream' : current) };
      return;
    }
    append.events.forEach((e, i) =>
      rows.push({ s: append.streamName, r: String(current + 1n + BigInt(i)), eventId: e.eventId, type: e.type, data: e.data, metadata: e.metadata ?? {} }),
    );
    const last = current + BigInt(append.events.length);
    revisions.set(append.streamName, last);
    accepted.push({ index, streamName: append.streamName, first: current + 1n, last });
  });

  if (accepted.length > 0) {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [channel]);
    // ORDER BY keeps positions in queue order (and in revision order within a stream).
    const { rows: inserted } = await tx.query<{ stream_name: string; stream_revision: bigint | string; global_position: bigint | string }>(
      `INSERT INTO es_events (stream_name, stream_revision, event_id, event_type, data, metadata)
       SELECT e.value->>'s', (e.value->>'r')::bigint, (e.value->>'eventId')::uuid, e.value->>'type',
              coalesce(e.value->'data', 'null'::jsonb), coalesce(e.value->'metadata', '{}'::jsonb)
       FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS e(value, n)
       ORDER BY e.n
       RETURNING stream_name, stream_revision, global_position`,
      [JSON.stringify(rows)],
    );
    const positionOf = new Map(inserted.map((row) => [`${BigInt(row.stream_revision)}:${row.stream_name}`, BigInt(row.global_position)]));
    const finalRevisions = [...new Set(accepted.map((a) => a.streamName))].map((s) => ({ s, r: String(revisions.get(s)) }));
    await tx.query(
      `UPDATE es_streams SET revision = (v.value->>'r')::bigint
       FROM jsonb_array_elements($1::text::jsonb) AS v(value) WHERE stream_name = v.value->>'s'`,
      [JSON.stringify(finalRevisions)],
    );
    let head = 0n;
    for (const a of accepted) {
      const lastGlobalPosition = positionOf.get(`${a.last}:${a.streamName}`)!;
      if (lastGlobalPosition > head) head = lastGlobalPosition;
      outcomes[a.index] = { ok: true, result: { nextExpectedRevision: a.last, lastGlobalPosition } };
    }
    // Delivered on commit only; subscriptions also poll, so a lost notification only delays them.
    await tx.query('SELECT pg_notify($1, $2)', [channel, String(head)]);
  }
  // A stream row this batch created for an append that was refused must not outlive the batch (a
  // single append's rollback removes it the same way).
  const untouched = names.filter((name) => revisions.get(name)! < 0n);
  if (untouched.length > 0)
    await tx.query(`DELETE FROM es_streams WHERE revision < 0 AND stream_name IN (SELECT value FROM jsonb_array_elements_text($1::text::jsonb))`, [JSON.stringify(untouched)]);
  return outcomes.map((o) => o!);
}
