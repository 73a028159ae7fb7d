import { expect } from '@jest/globals';
import type { SqlClient } from '@svp/postgres';
import { freshStream, makeEvents } from '../../testing/index.js';
import type { PostgresEventStore } from '../postgres-event-store.js';

/**
 * Given three events whose recorded_at carry microseconds (just before a second ends, and just
 * before the epoch, where truncation and rounding towards zero differ), reading
 * them back gives Dates truncated to the millisecond they fall in, through readStream and readAll
 * (the store reads recorded_at as whole epoch milliseconds; pg and PGlite parse float8 each their way).
 */
export async function expectRecordedAtTruncatedToTheMillisecond(sql: SqlClient, store: PostgresEventStore): Promise<void> {
  const stream = freshStream();
  const start = await store.headPosition();
  await store.appendToStream(stream, makeEvents(3), { expectedRevision: 'no_stream' });
  await sql.query(
    `UPDATE es_events SET recorded_at = CASE stream_revision WHEN 0 THEN '2026-12-04T01:02:03.456789Z'::timestamptz WHEN 1 THEN '1999-12-31T23:59:59.999999Z'::timestamptz ELSE '1969-12-31T23:59:59.999999Z'::timestamptz END WHERE stream_name = $1`,
    [stream],
  );

  const read = await store.readStream(stream);
  const all = (await store.readAll({ after: start })).filter((e) => e.streamName === stream);

  for (const events of [read, all]) {
    expect(events.map((e) => e.recordedAt.toISOString())).toEqual(['2026-12-04T01:02:03.456Z', '1999-12-31T23:59:59.999Z', '1969-12-31T23:59:59.999Z']);
  }
}
