import { Consumer as PltConsumer, ListOffsetTimestamps, type BaseOptions, type GroupAssignment } from '@platformatic/kafka';
import { delay, type Backoff } from '../backoff.js';
import { handleUntilDone } from '../internal/handle-until-done.js';
import type { MessagingLogger } from '../logger.js';
import type { Consumer, ConsumerOptions, IncomingMessage, MessageHeaders } from '../message-bus.js';
import { describeError, flattenErrors, protocolErrorIds } from './support.js';

export interface PlatformaticConsumerSettings {
  client: BaseOptions;
  logger: MessagingLogger;
  sessionTimeout: number;
  heartbeatInterval: number;
  rebalanceTimeout: number;
  maxWaitTime: number;
  retryBackoff: Backoff;
  commitEveryMessages: number;
  commitIntervalMs: number;
  onStopped: () => void;
  /** Deletes a consumer group (an ephemeral one, once its member left). */
  forgetGroup: (groupId: string) => Promise<void>;
}

type FetchResult = Awaited<ReturnType<PltConsumer['fetch']>>;
type RecordsBatch = NonNullable<FetchResult['responses'][number]['partitions'][number]['records']>[number];
type KafkaRecord = RecordsBatch['records'][number];

interface Fetched {
  offset: bigint;
  message: IncomingMessage;
}

/** One assigned partition. */
interface PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** The next offset to hand to the handler: every offset below it was handled (what is committed). */
  position: bigint;
  /** The next offset to fetch (after what is queued). */
  fetchOffset: bigint;
  /** Fetched, not yet handled, in offset order. */
  readonly queue: Fetched[];
  revoked: boolean;
  working: boolean;
}

/** One client instance: a group membership, from join to close. A new one replaces it after a failure. */
interface Session {
  readonly client: PltConsumer;
  failure?: unknown;
  ended: boolean;
  readonly workers: Set<Promise<void>>;
}

/**
 * The group protocol offered when joining: kafkajs' round-robin assigner's name and version. A classic
 * group admits only members that share a protocol, so with the library's own ('roundrobin') a member
 * of this adapter could not join a group that kafkajs members are in (a rolling switch of
 * KAFKA_CLIENT). Both encode subscriptions and assignments in Kafka's standard consumer format, and
 * whichever member leads computes every assignment.
 */
const GROUP_PROTOCOLS = [{ name: 'RoundRobinAssigner', version: 0 }];
/** A partition holding this many fetched, unhandled messages is not fetched from until it drains. */
const MAX_QUEUED = 1000;
/** Bit 5 of a record batch's attributes: a control batch (transaction markers), never handed out. */
const CONTROL_BATCH = 0x20;
/** Fetch rounds in a row that may fail before the session is replaced by a fresh client. */
const FETCH_FAILURES_BEFORE_RESTART = 5;

/**
 * One group member on @platformatic/kafka: the library joins the group, syncs the assignment and
 * sends heartbeats (on its own timer, so a slow or retried handler keeps the membership); this class
 * fetches the assigned partitions, hands their messages to the handler and commits offsets the way
 * Kafka defines them (the next offset to read). Restarts itself with a fresh client, after a pause,
 * when the client fails.
 */
export class PlatformaticBusConsumer implements Consumer {
  readonly ready: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (error: unknown) => void;
  private readonly partitions = new Map<string, PartitionState>();
  private readonly slots: Slots;
  private readonly stopSignal = new AbortController();
  private wakeSignal = signal();
  private stopRequested = false;
  private stopping?: Promise<void>;
  private running?: Promise<void>;
  private joined = false;
  private restarts = 0;
  private assigning: Promise<void> = Promise.resolve();
  private readonly toCommit = new Map<string, { topic: string; partition: number; offset: bigint }>();
  private handledSinceCommit = 0;
  private lastCommitAt = Date.now();
  private committing?: Promise<void>;
  private commitAgain = false;

  constructor(
    private readonly options: ConsumerOptions,
    private readonly settings: PlatformaticConsumerSettings,
  ) {
    this.slots = new Slots(Math.max(1, options.concurrency ?? 1));
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
  }

  /**
   * Connects and subscribes: the topics' metadata is read, which creates missing topics where the
   * broker allows it (as kafkajs' subscribe does). The group is joined in the background (`ready`).
   */
  async start(): Promise<void> {
    const client = this.newClient();
    try {
      await awaitTopics(client, this.options.topics);
    } catch (error) {
      await client.close().catch(() => undefined);
      throw new Error(`Subscribing to Kafka topics ${this.options.topics.join(', ')} failed: ${describeError(error)}`, { cause: error });
    }
    this.running = this.run(client);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopRequested = true;
      this.stopSignal.abort();
      this.wakeUp();
      try {
        await this.running;
        // An ephemeral group leaves nothing behind: deleted once its only member left.
        if (this.options.ephemeral && this.joined)
          await this.settings.forgetGroup(this.options.groupId).catch((error: unknown) =>
            this.settings.logger.warn({ groupId: this.options.groupId, err: describeError(error) }, 'could not delete an ephemeral consumer group'),
          );
      } catch (error) {
        this.settings.logger.warn({ groupId: this.options.groupId, err: describeError(error) }, 'Kafka consumer did not stop cleanly');
      } finally {
        this.rejectReady(new Error('The consumer stopped before it joined its group'));
        this.settings.onStopped();
      }
    })();
    return this.stopping;
  }

  private newClient(): PltConsumer {
    return new PltConsumer({
      ...this.settings.client,
      groupId: this.options.groupId,
      autocreateTopics: true,
      retries: 3,
      retryDelay: 250,
      sessionTimeout: this.settings.sessionTimeout,
      rebalanceTimeout: this.settings.rebalanceTimeout,
      heartbeatInterval: this.settings.heartbeatInterval,
      protocols: GROUP_PROTOCOLS,
      maxWaitTime: this.settings.maxWaitTime,
      autocommit: false,
    });
  }

  /** Sessions one after the other until the consumer stops; a failed one is replaced after a pause. */
  private async run(first: PltConsumer): Promise<void> {
    let client: PltConsumer | undefined = first;
    while (!this.stopRequested) {
      const session: Session = { client: client ?? this.newClient(), ended: false, workers: new Set() };
      client = undefined;
      try {
        await this.runSession(session);
      } catch (error) {
        if (!this.stopRequested)
          this.settings.logger.error({ groupId: this.options.groupId, restart: true, err: describeError(error) }, 'Kafka consumer crashed');
      }
      await this.endSession(session);
      if (this.stopRequested) break;
      const waitMs = Math.min(30_000, 1000 * 2 ** this.restarts++);
      this.settings.logger.warn({ groupId: this.options.groupId, restartInMs: waitMs }, 'restarting the Kafka consumer');
      await delay(waitMs, this.stopSignal.signal);
    }
    // Stopped before the first session began (the bus closed while consume() was starting).
    await client?.close().catch(() => undefined);
  }

  private async runSession(session: Session): Promise<void> {
    const { client } = session;
    const fail = (error: unknown) => {
      session.failure ??= error ?? new Error('the Kafka consumer failed');
      this.wakeUp();
    };
    // A rejoin that failed after the library's retries: this client is done.
    client.on('error', fail);
    client.on('consumer:group:join', (event: { assignments?: GroupAssignment[] | null }) => {
      if (session.ended) return;
      this.assigning = this.assigning.then(() => this.assign(session, event.assignments ?? [])).catch(fail);
    });
    // A member whose heartbeats keep failing (not a rebalance: those rejoin by themselves) has
    // likely been dropped by the group; a fresh client finds the coordinator again.
    let heartbeatFailures = 0;
    client.on('consumer:heartbeat:error', (event: { error?: unknown }) => {
      if (++heartbeatFailures * this.settings.heartbeatInterval >= this.settings.sessionTimeout)
        fail(new Error(`heartbeats failing for ${this.settings.sessionTimeout} ms: ${describeError(event?.error)}`));
    });
    client.on('consumer:heartbeat:end', () => (heartbeatFailures = 0));

    for (const topic of this.options.topics) client.topics.track(topic);
    const joining = client.joinGroup({
      sessionTimeout: this.settings.sessionTimeout,
      rebalanceTimeout: this.settings.rebalanceTimeout,
      heartbeatInterval: this.settings.heartbeatInterval,
      protocols: GROUP_PROTOCOLS,
    });
    joining.catch(() => undefined);
    const joined = await Promise.race([joining.then(() => true), this.untilEnded(session).then(() => false)]);
    if (!joined) {
      if (session.failure) throw session.failure;
      return;
    }
    this.joined = true;
    this.restarts = 0;
    await this.fetchLoop(session);
    if (session.failure) throw session.failure;
  }

  /** Waits for the handlers in flight, commits what was handled, leaves the group. */
  private async endSession(session: Session): Promise<void> {
    session.ended = true;
    this.wakeUp();
    await Promise.all([...session.workers]);
    await this.assigning.catch(() => undefined);
    await this.commit(session);
    for (const state of this.partitions.values()) {
      state.revoked = true;
      state.queue.length = 0;
    }
    this.partitions.clear();
    this.toCommit.clear();
    await session.client.close().catch((error: unknown) =>
      this.settings.logger.warn({ groupId: this.options.groupId, err: describeError(error) }, 'Kafka consumer did not leave its group cleanly'),
    );
  }

  /** Applies the assignment of a (re)join: drops revoked partitions, finds where new ones start. */
  private async assign(session: Session, assignments: GroupAssignment[]): Promise<void> {
    if (session.ended) return;
    const assigned = new Map<string, { topic: string; partition: number }>();
    for (const { topic, partitions } of assignments) for (const partition of partitions) assigned.set(`${topic}:${partition}`, { topic, partition });
    for (const [key, state] of this.partitions) {
      if (assigned.has(key)) continue;
      state.revoked = true;
      state.queue.length = 0;
      this.partitions.delete(key);
    }
    const added = [...assigned].filter(([key]) => !this.partitions.has(key)).map(([, tp]) => tp);
    if (added.length > 0) {
      const starts = await this.startingOffsets(session.client, added);
      if (session.ended) return;
      for (const { topic, partition } of added) {
        const key = `${topic}:${partition}`;
        const start = starts.get(key)!;
        this.partitions.set(key, { topic, partition, key, position: start, fetchOffset: start, queue: [], revoked: false, working: false });
      }
    }
    // A new generation: what was handled is committed under it (also for partitions that moved).
    void this.commit(session);
    this.resolveReady();
    this.wakeUp();
  }

  /** The committed offset of each partition, else the earliest (fromBeginning, the default) or the latest. */
  private async startingOffsets(client: PltConsumer, partitions: Array<{ topic: string; partition: number }>): Promise<Map<string, bigint>> {
    const byTopic = groupByTopic(partitions);
    const committed = await client.listCommittedOffsets({ topics: [...byTopic].map(([topic, list]) => ({ topic, partitions: list })) });
    const starts = new Map<string, bigint>();
    const missing: Array<{ topic: string; partition: number }> = [];
    for (const { topic, partition } of partitions) {
      const offset = committed.get(topic)?.[partition];
      if (offset !== undefined && offset >= 0n) starts.set(`${topic}:${partition}`, offset);
      else missing.push({ topic, partition });
    }
    if (missing.length > 0) for (const [key, offset] of await this.resetOffsets(client, missing)) starts.set(key, offset);
    return starts;
  }

  private async resetOffsets(client: PltConsumer, partitions: Array<{ topic: string; partition: number }>): Promise<Map<string, bigint>> {
    const byTopic = groupByTopic(partitions);
    const offsets = await client.listOffsets({
      topics: [...byTopic.keys()],
      partitions: Object.fromEntries(byTopic),
      timestamp: (this.options.fromBeginning ?? true) ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST,
    });
    const result = new Map<string, bigint>();
    for (const { topic, partition } of partitions) {
      const offset = offsets.get(topic)?.[partition];
      if (offset === undefined) throw new Error(`no offset listed for ${topic}[${partition}]`);
      result.set(`${topic}:${partition}`, offset);
    }
    return result;
  }

  /** Fetches the assigned partitions that have room, one round at a time, until the session ends. */
  private async fetchLoop(session: Session): Promise<void> {
    let failures = 0;
    while (!this.stopRequested && !session.failure) {
      const ready = [...this.partitions.values()].filter((state) => !state.revoked && state.queue.length < MAX_QUEUED);
      if (ready.length === 0) {
        await this.nextWake();
        continue;
      }
      try {
        await this.fetchRound(session, ready);
        failures = 0;
      } catch (error) {
        if (this.stopRequested || session.failure) return;
        session.client.clearMetadata();
        if (++failures >= FETCH_FAILURES_BEFORE_RESTART) throw error;
        this.settings.logger.warn({ groupId: this.options.groupId, attempt: failures, err: describeError(error) }, 'Kafka fetch failed; retrying');
        await delay(Math.min(5000, 100 * 2 ** failures), this.stopSignal.signal);
      }
    }
  }

  private async fetchRound(session: Session, ready: PartitionState[]): Promise<void> {
    const { client } = session;
    const metadata = await client.metadata({ topics: this.options.topics });
    const byLeader = new Map<number, { topics: Map<string, Array<{ partition: number; fetchOffset: bigint }>>; offsets: Map<string, bigint> }>();
    const names = new Map<string, string>();
    let leaderless = false;
    for (const state of ready) {
      const topic = metadata.topics.get(state.topic);
      const leader = topic?.partitions[state.partition]?.leader;
      if (!topic || leader === undefined || leader < 0) {
        leaderless = true;
        continue;
      }
      names.set(topic.id, state.topic);
      let request = byLeader.get(leader);
      if (!request) byLeader.set(leader, (request = { topics: new Map(), offsets: new Map() }));
      let list = request.topics.get(topic.id);
      if (!list) request.topics.set(topic.id, (list = []));
      list.push({ partition: state.partition, fetchOffset: state.fetchOffset });
      request.offsets.set(state.key, state.fetchOffset);
    }
    if (leaderless) client.clearMetadata();
    if (byLeader.size === 0) {
      await delay(200, this.stopSignal.signal);
      return;
    }
    await Promise.all([...byLeader].map(([node, request]) => this.fetchFrom(session, node, request.topics, request.offsets, names)));
  }

  private async fetchFrom(
    session: Session,
    node: number,
    topics: Map<string, Array<{ partition: number; fetchOffset: bigint }>>,
    requested: Map<string, bigint>,
    names: Map<string, string>,
  ): Promise<void> {
    let response: FetchResult;
    try {
      response = await session.client.fetch({
        node,
        maxWaitTime: this.settings.maxWaitTime,
        minBytes: 1,
        maxBytes: 10 * 1024 * 1024,
        isolationLevel: 'READ_COMMITTED',
        topics: [...topics].map(([topicId, partitions]) => ({
          topicId,
          partitions: partitions.map(({ partition, fetchOffset }) => ({
            partition,
            fetchOffset,
            partitionMaxBytes: 1024 * 1024,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
          })),
        })),
      });
    } catch (error) {
      // An error on some partitions still carries the whole response: take the good ones.
      const partial = responseOf(error);
      if (!partial) throw error;
      response = partial;
    }
    if (session.ended) return;
    for (const topicResponse of response.responses) {
      const topic = names.get(topicResponse.topicId);
      if (topic === undefined) continue;
      for (const partitionResponse of topicResponse.partitions) {
        const key = `${topic}:${partitionResponse.partitionIndex}`;
        const state = this.partitions.get(key);
        // Revoked, or moved on (reassigned, reset) while the fetch was in flight.
        if (!state || state.revoked || state.fetchOffset !== requested.get(key)) continue;
        if (partitionResponse.errorCode !== 0) await this.onPartitionError(session, state, partitionResponse.errorCode);
        else this.absorb(session, state, partitionResponse.records ?? []);
      }
    }
  }

  private async onPartitionError(session: Session, state: PartitionState, errorCode: number): Promise<void> {
    if (errorCode === 1) {
      // OFFSET_OUT_OF_RANGE (e.g. retention removed what the group had not read): start over from
      // the earliest or the latest offset, as a group without a commit does.
      const [reset] = (await this.resetOffsets(session.client, [state])).values();
      this.settings.logger.warn(
        { groupId: this.options.groupId, topic: state.topic, partition: state.partition, from: state.fetchOffset.toString(), to: reset!.toString() },
        'Kafka offset out of range; resetting',
      );
      if (state.queue.length === 0) state.position = reset!;
      state.fetchOffset = reset!;
      return;
    }
    // Leadership moved, the topic is still being created, ...: read the metadata again and retry.
    session.client.clearMetadata();
    this.settings.logger.debug({ groupId: this.options.groupId, topic: state.topic, partition: state.partition, errorCode }, 'Kafka fetch error on a partition; retrying');
    await delay(100, this.stopSignal.signal);
  }

  private absorb(session: Session, state: PartitionState, batches: RecordsBatch[]): void {
    let next = state.fetchOffset;
    for (const batch of batches) {
      const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
      if (last < next) continue;
      if ((batch.attributes & CONTROL_BATCH) === 0) {
        for (const record of batch.records) {
          const offset = batch.firstOffset + BigInt(record.offsetDelta);
          // A compressed batch comes whole: skip what was asked past.
          if (offset < next) continue;
          state.queue.push({ offset, message: toIncoming(state.topic, state.partition, offset, record) });
        }
      }
      next = last + 1n;
    }
    state.fetchOffset = next;
    if (state.queue.length > 0) this.startWorker(session, state);
  }

  private startWorker(session: Session, state: PartitionState): void {
    if (state.working) return;
    state.working = true;
    const worker: Promise<void> = this.work(session, state)
      .catch((error: unknown) => {
        session.failure ??= error;
      })
      .finally(() => {
        state.working = false;
        session.workers.delete(worker);
        this.wakeUp();
      });
    session.workers.add(worker);
  }

  /**
   * Hands a partition's queued messages to the handler, one at a time, in order; commits once the
   * queue is drained. Messages fetched while that commit is in flight are handled by this same
   * worker after it: absorb() does not start a second one while `working` is set, so a worker that
   * returned then would leave them queued until the partition's next fetch response, a whole
   * maxWaitTime later on a quiet partition.
   */
  private async work(session: Session, state: PartitionState): Promise<void> {
    const canContinue = () => !this.stopRequested && !state.revoked && !session.failure && !session.ended;
    for (;;) {
      while (state.queue.length > 0 && canContinue()) {
        await this.slots.acquire();
        try {
          if (!canContinue()) break;
          const { offset, message } = state.queue[0]!;
          const handled = await handleUntilDone(this.options.handler, message, {
            backoff: this.settings.retryBackoff,
            logger: this.settings.logger,
            context: { groupId: this.options.groupId },
            canContinue,
          });
          if (!handled) break;
          // Handled: its offset is committed even if the partition was revoked meanwhile (the
          // stopping consumer commits it, and a new owner has less to repeat).
          if (state.queue[0]?.offset === offset) state.queue.shift();
          state.position = offset + 1n;
          this.noteHandled(session, state);
        } finally {
          this.slots.release();
        }
        if (state.queue.length === MAX_QUEUED - 1) this.wakeUp();
      }
      if (state.queue.length > 0 || state.revoked) return;
      await this.commit(session);
      if (state.queue.length === 0 || !canContinue()) return;
    }
  }

  private noteHandled(session: Session, state: PartitionState): void {
    this.toCommit.set(state.key, { topic: state.topic, partition: state.partition, offset: state.position });
    this.handledSinceCommit++;
    if (this.handledSinceCommit >= this.settings.commitEveryMessages || Date.now() - this.lastCommitAt >= this.settings.commitIntervalMs)
      void this.commit(session);
  }

  /** Commits the handled positions (one commit in flight; a request meanwhile commits again after it). */
  private commit(session: Session): Promise<void> {
    if (this.committing) {
      this.commitAgain = true;
      return this.committing;
    }
    this.committing = (async () => {
      do {
        this.commitAgain = false;
        if (this.toCommit.size === 0) return;
        const offsets = [...this.toCommit.values()];
        this.toCommit.clear();
        this.handledSinceCommit = 0;
        this.lastCommitAt = Date.now();
        try {
          await session.client.commit({ offsets: offsets.map((offset) => ({ ...offset, leaderEpoch: -1 })) });
        } catch (error) {
          // Kept for the next commit unless newer, or no longer ours; else delivered again later.
          for (const offset of offsets) {
            const key = `${offset.topic}:${offset.partition}`;
            if (!this.toCommit.has(key) && this.partitions.has(key)) this.toCommit.set(key, offset);
          }
          this.settings.logger.warn({ groupId: this.options.groupId, err: describeError(error) }, 'committing Kafka offsets failed');
          return;
        }
      } while (this.commitAgain);
    })().finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  private wakeUp(): void {
    const current = this.wakeSignal;
    this.wakeSignal = signal();
    current.resolve();
  }

  private nextWake(): Promise<void> {
    return this.wakeSignal.promise;
  }

  private async untilEnded(session: Session): Promise<void> {
    while (!this.stopRequested && !session.failure && !session.ended) await this.nextWake();
  }
}

/** Reads a topic's metadata until every partition has a leader (asking for it creates it where the broker auto-creates topics). */
async function awaitTopics(client: PltConsumer, topics: string[], timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const metadata = await client.metadata({ topics, autocreateTopics: true, forceUpdate: attempt > 1 });
      const ready = topics.every((topic) => {
        const partitions = metadata.topics.get(topic)?.partitions ?? [];
        return partitions.length > 0 && partitions.every((partition) => partition && partition.leader >= 0);
      });
      if (ready) return;
    } catch (error) {
      const ids = protocolErrorIds(error);
      const creating = ids.length > 0 && ids.every((id) => id === 'LEADER_NOT_AVAILABLE' || id === 'UNKNOWN_TOPIC_OR_PARTITION');
      if (!creating || Date.now() >= until) throw error;
    }
    if (Date.now() >= until) throw new Error(`no leader for every partition of ${topics.join(', ')} after ${timeoutMs} ms`);
    await delay(100);
  }
}

function responseOf(error: unknown): FetchResult | undefined {
  for (const inner of flattenErrors(error)) {
    const response = (inner as { response?: FetchResult } | undefined)?.response;
    if (response && Array.isArray(response.responses)) return response;
  }
  return undefined;
}

function groupByTopic(partitions: Array<{ topic: string; partition: number }>): Map<string, number[]> {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(partition);
  }
  return byTopic;
}

function toIncoming(topic: string, partition: number, offset: bigint, record: KafkaRecord): IncomingMessage {
  const headers: MessageHeaders = {};
  // Kafka allows a header name more than once; the port keeps the last value.
  for (const [name, value] of record.headers) headers[name.toString('utf8')] = value.toString('utf8');
  return {
    topic,
    partition,
    offset: offset.toString(),
    // The library reads a null key as an empty one; the port's publishers always set a key, so an
    // empty one is taken for the null of a forwarded keyless message.
    key: record.key.length === 0 ? null : record.key.toString('utf8'),
    value: record.value.toString('utf8'),
    headers,
  };
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** At most `size` holders at a time, first come first served. */
class Slots {
  private readonly waiting: Array<() => void> = [];
  constructor(private free: number) {}

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}
