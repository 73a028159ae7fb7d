import { randomUUID } from 'node:crypto';
import {
  type ImSessionStatus,
  SessionStatusChangedV1,
  SessionVariablesChangedV1,
  SessionVariablesDiscardedV1,
  TOPICS,
  VisitorErasedV1,
  VisitorVariablesChangedV1,
} from '@svp/contracts';
import type { Consumer, IncomingMessage, MessageBus } from '@svp/messaging';
import type { ServiceMetrics, Worker } from '@svp/service-kit';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';

/** A session's status change, as a subscriber receives it. */
export interface StatusChange extends ImSessionStatus {
  /** Null for the current state a subscription starts with (includeCurrent). */
  eventId: string | null;
}

/** A change of the variables a session shows (its own, its metadata, or its visitor's). */
export interface VariablesChange {
  /** Null for CURRENT. */
  eventId: string | null;
  kind: 'CURRENT' | 'SESSION_CHANGED' | 'VISITOR_CHANGED' | 'DISCARDED' | 'ERASED';
  occurredAt: string;
  changes: { name: string; value: string | number | boolean | null; scope: 'session' | 'visitor' | 'metadata'; source: string; verified: boolean; version: number; rooms?: string[] }[];
  removed: string[];
  displayName?: string;
}

export type LiveEvent =
  | { topic: 'status'; change: StatusChange }
  | { topic: 'variables'; change: VariablesChange }
  /** The subscriber fell QUEUE_LIMIT events behind: those were dropped and its subscription ends. */
  | { topic: 'overflow'; dropped: number };

/** What a subscriber listens to: one org's session (its status or variables) or visitor. */
export const liveKey = {
  status: (orgId: string, sessionId: string) => `status\u0000${orgId}\u0000${sessionId}`,
  sessionVariables: (orgId: string, sessionId: string) => `svars\u0000${orgId}\u0000${sessionId}`,
  visitorVariables: (orgId: string, visitorId: string) => `vvars\u0000${orgId}\u0000${visitorId}`,
};

/** How many events wait for one slow subscriber before the oldest are dropped (and counted). */
const QUEUE_LIMIT = 500;
/**
 * How long events are kept per key for subscriptions that start with the current state: the state
 * is read from a service's read model, which follows the event store apart from Kafka, so an event
 * the hub got just before the subscription may not be in that read yet. Replaying the recent ones
 * after the state closes that gap (at worst a change is seen twice, never missed).
 */
const RECENT_MS = 10_000;
const RECENT_PER_KEY = 50;

/**
 * What GraphQL subscriptions are fed from: the services' integration events on Kafka
 * (sessions.events.v1 and variables.events.v1), read by this gateway instance only (its own consumer
 * group, from the newest offset: a subscription shows what happens from the moment it starts, the
 * queries show the state before), fanned out in memory to the subscribers of each session and
 * visitor. Every instance of the gateway reads every event, so a subscriber may connect to any.
 * An event that is not one of these contracts (another type, a future version) is skipped.
 */
export class LiveHub implements Worker {
  readonly name = 'gateway-live-hub';
  private consumer?: Consumer;
  private readonly listeners = new Map<string, Set<(event: LiveEvent) => void>>();
  private readonly recent = new Map<string, { at: number; event: LiveEvent }[]>();
  private lastPrune = 0;
  private readonly received?: Counter<'type'>;
  private readonly dropped?: Counter;
  private active = 0;

  constructor(
    private readonly bus: MessageBus,
    private readonly logger: Logger,
    metrics?: ServiceMetrics,
    /** The consumer group; unique per instance (every instance must see every event). */
    private readonly groupId = `gateway-live-${randomUUID()}`,
  ) {
    this.received = metrics?.counter('svp_gateway_live_events_total', 'Integration events the gateway read for its subscriptions, by type', ['type']);
    this.dropped = metrics?.counter('svp_gateway_live_dropped_total', 'Subscription events dropped because a subscriber did not keep up');
    metrics?.gauge('svp_gateway_live_subscriptions', 'Active subscriptions fed by this instance', [], async (gauge) => gauge.set(this.active));
  }

  /** Its group, for the consumer lag (GET /admin/v1/consumers). */
  get consumes() {
    return { groupId: this.groupId, topics: [TOPICS.sessions, TOPICS.variables], fromBeginning: false };
  }

  async start(): Promise<void> {
    await this.bus.ensureTopics([TOPICS.sessions, TOPICS.variables]);
    this.consumer = await this.bus.consume({
      groupId: this.groupId,
      topics: [TOPICS.sessions, TOPICS.variables],
      fromBeginning: false,
      // Per instance: deleted when the gateway stops, so restarts leave no groups behind.
      ephemeral: true,
      concurrency: 4,
      handler: async (message) => this.dispatch(message),
    });
    await this.consumer.ready;
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  /** Delivers one Kafka message to the listeners of its session or visitor. Never throws: a bad message is skipped. */
  dispatch(message: Pick<IncomingMessage, 'value'>): void {
    let envelope: unknown;
    try {
      envelope = JSON.parse(message.value);
    } catch {
      this.logger.warn('a message that is not JSON was skipped by the live hub');
      return;
    }
    const type = (envelope as { type?: unknown } | null)?.type;
    if (typeof type !== 'string') return;
    const events = toLiveEvents(type, envelope);
    if (events.length > 0) this.received?.inc({ type });
    this.remember(events);
    // A listener of several keys an event goes to (an erased visitor and one of its sessions) gets it once.
    const delivered = new Set<(event: LiveEvent) => void>();
    for (const [key, event] of events)
      for (const listener of this.listeners.get(key) ?? []) {
        if (delivered.has(listener)) continue;
        delivered.add(listener);
        listener(event);
      }
  }

  /**
   * Listens to these keys until the returned iterator is returned (the subscription ends). Events
   * queue per subscriber; past QUEUE_LIMIT they are dropped and the iterator ends with an `overflow`
   * event, so a stalled client cannot hold memory without bound and never misses changes unknowingly.
   */
  subscribe(keys: readonly string[]): AsyncIterableIterator<LiveEvent> {
    const queue: LiveEvent[] = [];
    let wake: ((result: IteratorResult<LiveEvent>) => void) | undefined;
    let listening = true;
    let done = false;
    const unlisten = () => {
      if (!listening) return;
      listening = false;
      for (const key of keys) {
        const set = this.listeners.get(key);
        set?.delete(listener);
        if (set?.size === 0) this.listeners.delete(key);
      }
      this.active--;
    };
    const listener = (event: LiveEvent) => {
      if (!listening) return;
      if (wake) {
        const resolve = wake;
        wake = undefined;
        resolve({ value: event, done: false });
        return;
      }
      queue.push(event);
      if (queue.length > QUEUE_LIMIT) {
        // A subscriber this far behind is told, not fed a stream with holes: what waits is dropped, the
        // subscription ends with an overflow (the client subscribes again, with includeCurrent).
        const dropped = queue.length;
        this.dropped?.inc(dropped);
        unlisten();
        queue.length = 0;
        queue.push({ topic: 'overflow', dropped });
      }
    };
    for (const key of keys) {
      const set = this.listeners.get(key) ?? new Set();
      set.add(listener);
      this.listeners.set(key, set);
    }
    this.active++;
    const finish = (): IteratorResult<LiveEvent> => {
      unlisten();
      if (!done) {
        done = true;
        queue.length = 0;
        wake?.({ value: undefined, done: true });
        wake = undefined;
      }
      return { value: undefined, done: true };
    };
    const iterator: AsyncIterableIterator<LiveEvent> = {
      next: () => {
        if (done) return Promise.resolve({ value: undefined, done: true });
        const next = queue.shift();
        if (next) return Promise.resolve({ value: next, done: false });
        // After an overflow nothing more comes.
        if (!listening) return Promise.resolve(finish());
        return new Promise((resolve) => (wake = resolve));
      },
      return: () => Promise.resolve(finish()),
      throw: (error?: unknown) => {
        finish();
        return Promise.reject(error);
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Keeps each key's events of the last RECENT_MS (at most RECENT_PER_KEY), pruning old keys once a second. */
  private remember(events: readonly [string, LiveEvent][], now = Date.now()): void {
    for (const [key, event] of events) {
      const list = this.recent.get(key) ?? [];
      list.push({ at: now, event });
      if (list.length > RECENT_PER_KEY) list.shift();
      this.recent.set(key, list);
    }
    if (now - this.lastPrune < 1000) return;
    this.lastPrune = now;
    for (const [key, list] of this.recent) {
      while (list.length > 0 && now - list[0]!.at > RECENT_MS) list.shift();
      if (list.length === 0) this.recent.delete(key);
    }
  }

  /**
   * The keys' events of the last seconds, oldest first, each once (an erasure goes to several keys).
   * Taken in the same turn as `subscribe`, it and the subscription neither overlap nor leave a gap.
   */
  recentOf(keys: readonly string[], now = Date.now()): LiveEvent[] {
    const entries = keys.flatMap((key) => this.recent.get(key) ?? []).filter((entry) => now - entry.at <= RECENT_MS);
    entries.sort((a, b) => a.at - b.at);
    return [...new Set(entries.map((entry) => entry.event))];
  }

  /** Subscriptions listening now. */
  get activeSubscriptions(): number {
    return this.active;
  }
}

/** The live events one integration event makes, with the key each goes to. Pure. */
export function toLiveEvents(type: string, envelope: unknown): [string, LiveEvent][] {
  switch (type) {
    case 'SessionStatusChanged': {
      const parsed = SessionStatusChangedV1.safeParse(envelope);
      if (!parsed.success) return [];
      const { data, orgId, eventId } = parsed.data;
      return [[liveKey.status(orgId, data.sessionId), { topic: 'status', change: { ...data, eventId } }]];
    }
    case 'SessionVariablesChanged': {
      const parsed = SessionVariablesChangedV1.safeParse(envelope);
      if (!parsed.success) return [];
      const { data, orgId, eventId, occurredAt } = parsed.data;
      const changes = data.changes.map((c) => ({ name: c.name, value: c.value, scope: c.scope ?? ('session' as const), source: c.source, verified: c.verified, version: c.version }));
      return [[liveKey.sessionVariables(orgId, data.sessionId), { topic: 'variables', change: { eventId, kind: 'SESSION_CHANGED', occurredAt, changes, removed: [] } }]];
    }
    case 'SessionVariablesDiscarded': {
      const parsed = SessionVariablesDiscardedV1.safeParse(envelope);
      if (!parsed.success) return [];
      const { data, orgId, eventId, occurredAt } = parsed.data;
      return [[liveKey.sessionVariables(orgId, data.sessionId), { topic: 'variables', change: { eventId, kind: 'DISCARDED', occurredAt, changes: [], removed: [] } }]];
    }
    case 'VisitorVariablesChanged': {
      const parsed = VisitorVariablesChangedV1.safeParse(envelope);
      if (!parsed.success) return [];
      const { data, orgId, eventId, occurredAt } = parsed.data;
      const changes = data.changes.map((c) => ({
        name: c.name,
        value: c.value,
        scope: 'visitor' as const,
        source: c.source,
        verified: c.verified,
        version: c.version,
        ...(c.rooms && c.rooms.length > 0 ? { rooms: c.rooms } : {}),
      }));
      return [
        [
          liveKey.visitorVariables(orgId, data.visitorId),
          {
            topic: 'variables',
            change: { eventId, kind: 'VISITOR_CHANGED', occurredAt, changes, removed: data.removed ?? [], ...(data.displayName !== undefined ? { displayName: data.displayName } : {}) },
          },
        ],
      ];
    }
    case 'VisitorErased': {
      const parsed = VisitorErasedV1.safeParse(envelope);
      if (!parsed.success) return [];
      const { data, orgId, eventId, occurredAt } = parsed.data;
      const event: LiveEvent = { topic: 'variables', change: { eventId, kind: 'ERASED', occurredAt, changes: [], removed: [] } };
      return [[liveKey.visitorVariables(orgId, data.visitorId), event], ...(data.sessionIds ?? []).map((s): [string, LiveEvent] => [liveKey.sessionVariables(orgId, s), event])];
    }
    default:
      return [];
  }
}
