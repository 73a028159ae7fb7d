import { projections } from '../probes.js';
import { randomUUID } from 'node:crypto';
import type { ExportedEvent, ServiceName } from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import { KafkaMessageBus, silentLogger } from '@svp/messaging';
import { toIntegrationMessages as sessionsMessages } from '@svp/sessions-service';
import { toIntegrationMessages as variablesMessages } from '@svp/variables-service';
import { type DrillContext, type DrillPlatform, sleep, until } from '../drill.js';
import { type HttpAnswer, call } from '../http.js';

/**
 * What drills 1 and 3 (crashes) share: a call that answers instead of throwing when the service is
 * down, the projections' admin status, the integration messages a service's stored events must give
 * on Kafka, and a fresh read of a topic from its beginning.
 */

/** How a call ended: an answer, a refused connection (nothing reached the service), or cut off in flight. */
export type Attempt = { kind: 'answer'; answer: HttpAnswer } | { kind: 'refused' } | { kind: 'cut'; error: string };

/** `call`, but a network failure is an outcome: `refused` when nothing reached the service (safe to send again), else `cut`. */
export async function attempt(url: string, init: Parameters<typeof call>[1]): Promise<Attempt> {
  try {
    return { kind: 'answer', answer: await call(url, init) };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return { kind: 'refused' };
    return { kind: 'cut', error: cause?.code ?? (error instanceof Error ? error.message : String(error)) };
  }
}

export const is2xx = (a: Attempt) => a.kind === 'answer' && a.answer.status >= 200 && a.answer.status < 300;

/** Waits until every projection of the service is live with lag 0. */
export function projectionsCaughtUp(platform: DrillPlatform, service: ServiceName, timeoutMs: number): Promise<boolean> {
  return until(async () => (await projections(platform, service)).every((p) => p.state === 'live' && p.lag === '0' && !p.rebuild), timeoutMs, 250);
}

/**
 * Rebuilds one projection from position 0 through the admin endpoint and waits for the switch:
 * answers the tables before and after, or the reason it did not happen.
 */
export async function rebuildProjection(platform: DrillPlatform, service: ServiceName, name: string, timeoutMs: number): Promise<{ ok: true; from: string; to: string; eventsApplied: number } | { ok: false; reason: string }> {
  const before = (await projections(platform, service)).find((p) => p.name === name);
  if (!before) return { ok: false, reason: `no projection ${name} in ${service}` };
  const asked = await call(`${platform.urls[service]}/admin/v1/projections/${name}/rebuild`, { method: 'POST', key: platform.rootToken });
  if (asked.status !== 202) return { ok: false, reason: `POST rebuild answered ${asked.status}: ${JSON.stringify(asked.body)}` };
  let last: (typeof before) | undefined;
  const switched = await until(
    async () => {
      last = (await projections(platform, service)).find((p) => p.name === name);
      return !!last && last.table !== before.table && !last.rebuild && last.state === 'live' && last.lastRebuild?.state === 'switched';
    },
    timeoutMs,
    250,
  );
  if (!switched) return { ok: false, reason: `not switched within ${timeoutMs} ms: ${JSON.stringify(last)}` };
  return { ok: true, from: before.table, to: last!.table, eventsApplied: last!.lastRebuild?.eventsApplied ?? -1 };
}

/** An exported event as the relay saw it (what `toIntegrationMessages` takes). */
function recorded(event: ExportedEvent): RecordedEvent {
  return {
    eventId: event.eventId,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    streamName: event.stream,
    streamRevision: BigInt(event.streamRevision),
    globalPosition: BigInt(event.globalPosition),
    recordedAt: new Date(event.recordedAt),
  };
}

/** A message the relay must publish for a stored event: its event id and type, as the service maps it. */
export interface ExpectedMessage {
  eventId: string;
  type: string;
  /** The stored event it comes from. */
  storedEventId: string;
}

/** The integration messages the service's relay publishes for these stored events (the service's own mapping). */
export function expectedMessages(service: 'sessions' | 'variables', events: readonly ExportedEvent[]): ExpectedMessage[] {
  const map = service === 'sessions' ? sessionsMessages : variablesMessages;
  return events.flatMap((event) =>
    map(recorded(event)).map((message) => {
      const envelope = JSON.parse(message.value) as { eventId: string; type: string };
      return { eventId: envelope.eventId, type: envelope.type, storedEventId: event.eventId };
    }),
  );
}

/**
 * Every message of one org on a topic, read from the beginning by a fresh consumer group up to the
 * topic's end as it was when the read began (the high watermarks then; `timeoutMs` is a generous cap,
 * the read ends as soon as they are reached): how many times each event id is on the topic.
 */
export async function readTopic(brokers: string, topic: string, orgId: string, timeoutMs: number): Promise<{ counts: Map<string, number>; complete: boolean; messages: number }> {
  const bus = new KafkaMessageBus({ brokers: [brokers], clientId: `drill-reader-${randomUUID().slice(0, 8)}`, logger: silentLogger });
  const groupId = `drill-reader-${randomUUID()}`;
  const counts = new Map<string, number>();
  const seen = new Map<number, bigint>();
  let messages = 0;
  try {
    // The end of each partition now (the group has no commit yet: its lag lists every partition).
    const [lag] = await bus.consumerLag([{ groupId, topics: [topic] }]);
    const ends = new Map((lag?.partitions ?? []).filter((p) => p.high > p.low).map((p) => [p.partition, p.high]));
    const consumer = await bus.consume({
      groupId,
      topics: [topic],
      fromBeginning: true,
      ephemeral: true,
      concurrency: 3,
      handler: async (message) => {
        messages++;
        const offset = BigInt(message.offset);
        if ((seen.get(message.partition) ?? -1n) < offset) seen.set(message.partition, offset);
        let envelope: { eventId?: string; orgId?: string } | undefined;
        try {
          envelope = JSON.parse(message.value) as { eventId?: string; orgId?: string };
        } catch {
          return;
        }
        if (envelope.orgId === orgId && envelope.eventId) counts.set(envelope.eventId, (counts.get(envelope.eventId) ?? 0) + 1);
      },
    });
    await consumer.ready;
    const complete = await until(() => [...ends].every(([partition, high]) => (seen.get(partition) ?? -1n) >= high - 1n), timeoutMs, 200);
    await consumer.stop();
    return { counts, complete, messages };
  } finally {
    await bus.close().catch(() => undefined);
  }
}

/** Counts of the crash line a service wrote (the fault hook's stderr line). */
export function crashLines(ctx: DrillContext, service: ServiceName, point: string): number {
  const prefix = `[${service}] SVP_FAULT_CRASH_AT: killing this process (SIGKILL) at ${point}`;
  return ctx.platform.output.filter((line) => line.startsWith(prefix)).length;
}

/** Waits for a service's current process to exit; answers its signal (or exit code), or undefined while it runs. */
export async function waitForExit(ctx: DrillContext, service: ServiceName, timeoutMs: number): Promise<string | undefined> {
  const child = ctx.platform.processes[service];
  await until(() => child.exitCode !== null || child.signalCode !== null, timeoutMs, 100);
  // The exit event may trail the state by a tick.
  await sleep(50);
  return child.signalCode ?? (child.exitCode === null ? undefined : `exit ${child.exitCode}`);
}

export const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
