// @ts-check
/**
 * g. Kafka clients: the messaging port's adapter on @platformatic/kafka (the figure) against its
 * adapter on kafkajs (the baseline), both built from libs/messaging/dist (`npm run build`), in the
 * same process, alternating runs, on the same broker:
 *
 * - publish throughput: `mode.connections` publishers, each awaiting MessageBus.publish of one
 *   ~1 KB envelope after another, on a fresh topic of 3 partitions; messages acknowledged per second.
 *   The @platformatic/kafka adapter coalesces publishes made while a produce request is in flight
 *   into the next request (it must send one at a time: platformatic/kafka#326); the kafkajs adapter
 *   sends each publish as a request of its own. So also, as a control, the same with 1 publisher:
 *   one request per message on both sides.
 * - produce-to-consume latency p50 and p99: 200 messages/s through each adapter's publish (started
 *   on schedule, not waiting for the previous one) and consume (a fresh ephemeral group); the time
 *   from the start of a message's publish to its handler, in ms.
 *
 * Same durability on both sides: each adapter's own producer, idempotent with acks=all (checked on
 * the live producers before any number is kept); both with their production defaults otherwise.
 * The same payloads (generated once, used by both), the same keys. Warm-up runs are discarded by
 * `measure` (bench.mjs's: warm-up, then figure and baseline alternating).
 *
 * `node tools/bench/kafka-clients.mjs --self-test` runs it alone in a quick mode and prints the table.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { table } from './report.mjs';
import { compare } from './stats.mjs';

const root = resolve(import.meta.dirname, '../..');
const PARTITIONS = 3;
const LATENCY_RATE = 200;
const PAYLOADS = 1000;
/** Messages per publish of the relay-pattern figure (the outbox relay publishes up to 100 at a time). */
const RELAY_BATCH = 100;

/** @param {string} name */
const versionOf = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;

/** The q-quantile (0..1) of numbers, nearest rank. @param {readonly number[]} values @param {number} q */
function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const sleep = (/** @type {number} */ ms) => new Promise((done) => setTimeout(done, ms));

/** ~1 KB integration-event envelopes (a SessionVariablesChanged of 6 variables), generated once. */
function envelopes() {
  return Array.from({ length: PAYLOADS }, (_, i) => {
    const sessionId = `bench-session-${i % 64}`;
    const value = JSON.stringify({
      eventId: randomUUID(),
      type: 'SessionVariablesChanged',
      version: 1,
      occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      orgId: 'org_bench_kafka_clients',
      correlationId: randomUUID(),
      causationId: randomUUID(),
      data: {
        sessionId,
        visitorId: `bench-visitor-${i % 256}`,
        changes: Array.from({ length: 6 }, (_, n) => ({
          name: `variable_${n}`,
          value: n % 2 === 0 ? `a string value number ${n} of message ${i}, long enough to look like real data` : n * 1000 + i,
          source: 'api',
          verified: false,
          version: n + 1,
        })),
      },
    });
    return { key: sessionId, value };
  });
}

/**
 * Confirms on the live producers that both publish idempotently with acks=all: kafkajs' producer says
 * isIdempotent() (the adapter passes acks -1 on every send); @platformatic/kafka's was given a
 * producer id by the broker (only its idempotent mode asks for one) and has acks ALL (-1).
 * Reads the adapters' private fields: a bench-only check, it fails loudly if they are renamed.
 * @param {any} platformaticBus @param {any} kafkajsBus
 */
async function assertDurability(platformaticBus, kafkajsBus) {
  const kafkajsProducer = await kafkajsBus.producer;
  if (!kafkajsProducer?.isIdempotent?.()) throw new Error('g: the kafkajs adapter\'s producer is not idempotent');
  const producer = platformaticBus.producer;
  const options = producer && Object.getOwnPropertySymbols(producer).map((s) => producer[s]).find((v) => v && typeof v === 'object' && 'idempotent' in v);
  if (producer?.producerId === undefined || !options?.idempotent || options.acks !== -1)
    throw new Error('g: the @platformatic/kafka adapter\'s producer is not idempotent with acks=all');
}

/**
 * @param {{ brokers: string | string[],
 *   mode: { name: string, runs: number, seconds: number, warmupSeconds: number, connections: number },
 *   measure: (figure: (seconds: number) => Promise<number>, baseline: (seconds: number) => Promise<number>) => Promise<{ figure: number[], baseline: number[] }> }} options
 */
export async function kafkaClientsScenario({ brokers, mode, measure }) {
  const brokerList = typeof brokers === 'string' ? brokers.split(',').map((b) => b.trim()) : brokers;
  const messaging = await import(pathToFileURL(join(root, 'libs/messaging/dist/index.js')).href);
  const { KafkaMessageBus, silentLogger } = messaging;
  const { PlatformaticMessageBus } = await messaging.loadPlatformaticMessageBus();
  const common = { brokers: brokerList, logger: silentLogger, numPartitions: PARTITIONS };
  const platformatic = new PlatformaticMessageBus({ ...common, clientId: 'bench-g-platformatic' });
  const kafkajs = new KafkaMessageBus({ ...common, clientId: 'bench-g-kafkajs' });
  const payloads = envelopes();
  const run = Date.now().toString(36);
  /** @type {string[]} */
  const topics = [];
  let topicCount = 0;
  /** A fresh topic (and its .dlq twin), created and written to once on every partition before any timing. @param {any} bus */
  const freshTopic = async (bus) => {
    const topic = `bench.g.${run}.${topicCount++}`;
    topics.push(topic, `${topic}.dlq`);
    await bus.ensureTopics([topic]);
    await bus.publish(payloads.slice(0, 12).map(({ key, value }) => ({ topic, key, value })));
    return topic;
  };

  /** (i) `publishers` publishers, one awaited publish of one message at a time; acknowledged messages per second. @param {any} bus */
  const publishRate = (bus, publishers = mode.connections) => async (/** @type {number} */ seconds) => {
    const topic = await freshTopic(bus);
    let next = 0;
    let done = 0;
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: publishers }, async () => {
        while (performance.now() < until) {
          const { key, value } = payloads[next++ % PAYLOADS];
          await bus.publish([{ topic, key, value }]);
          done++;
        }
      }),
    );
    return done / seconds;
  };

  /**
   * (iv) One message in flight: publish, wait until the handler has it, publish the next, for
   * `seconds`; the p99 of the run, ms (what a session end waits for on its way to the variables
   * service when nothing else is moving). @param {any} bus
   */
  const oneAtATime = (bus) => async (/** @type {number} */ seconds) => {
    const topic = await freshTopic(bus);
    /** @type {Map<string, (at: number) => void>} */
    const waiting = new Map();
    const consumer = await bus.consume({
      groupId: `bench-g-one-${run}-${topicCount}`,
      topics: [topic],
      ephemeral: true,
      handler: async (/** @type {{ key: string | null }} */ message) => waiting.get(String(message.key))?.(performance.now()),
    });
    try {
      await consumer.ready;
      /** @type {number[]} */
      const latencies = [];
      const until = performance.now() + seconds * 1000;
      for (let i = 0; performance.now() < until; i++) {
        const { value } = payloads[i % PAYLOADS];
        const key = `one-${i}`;
        const received = new Promise((done) => waiting.set(key, done));
        const sent = performance.now();
        await bus.publish([{ topic, key, value }]);
        const timer = setTimeout(() => waiting.get(key)?.(Number.NaN), 30_000);
        const at = /** @type {number} */ (await received);
        clearTimeout(timer);
        waiting.delete(key);
        if (Number.isNaN(at)) throw new Error('g: a message was not consumed within 30 s');
        latencies.push(at - sent);
      }
      return quantile(latencies, 0.99);
    } finally {
      await consumer.stop();
    }
  };

  /** (iii) The outbox relay's pattern: one publisher, each publish a batch of RELAY_BATCH messages; messages per second. @param {any} bus */
  const batchRate = (bus) => async (/** @type {number} */ seconds) => {
    const topic = await freshTopic(bus);
    let next = 0;
    let done = 0;
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      const batch = Array.from({ length: RELAY_BATCH }, () => payloads[next++ % PAYLOADS]).map(({ key, value }) => ({ topic, key, value }));
      await bus.publish(batch);
      done += batch.length;
    }
    return done / seconds;
  };

  /** (ii) LATENCY_RATE messages/s for `seconds`: each message's publish start to its handler, ms. The p99 of each run is kept aside. */
  const p99s = { figure: /** @type {number[]} */ ([]), baseline: /** @type {number[]} */ ([]) };
  /** @param {any} bus @param {number[]} p99 */
  const latency = (bus, p99) => async (/** @type {number} */ seconds) => {
    const topic = await freshTopic(bus);
    /** @type {Map<string, number>} */
    const started = new Map();
    /** @type {number[]} */
    const latencies = [];
    const consumer = await bus.consume({
      groupId: `bench-g-${run}-${topicCount}`,
      topics: [topic],
      ephemeral: true,
      handler: async (/** @type {{ headers: Record<string, string> }} */ message) => {
        const id = message.headers['x-bench-id'];
        const at = id === undefined ? undefined : started.get(id);
        if (at !== undefined) latencies.push(performance.now() - at);
      },
    });
    try {
      await consumer.ready;
      const count = Math.round(seconds * LATENCY_RATE);
      const begin = performance.now() + 50;
      /** @type {Promise<void>[]} */
      const publishes = [];
      for (let i = 0; i < count; i++) {
        const due = begin + (i * 1000) / LATENCY_RATE;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        const { key, value } = payloads[i % PAYLOADS];
        const id = String(i);
        started.set(id, performance.now());
        publishes.push(bus.publish([{ topic, key, value, headers: { 'x-bench-id': id } }]));
      }
      await Promise.all(publishes);
      const deadline = Date.now() + 30_000;
      while (latencies.length < count) {
        if (Date.now() > deadline) throw new Error(`g: ${count - latencies.length} of ${count} messages not consumed within 30 s`);
        await sleep(10);
      }
      p99.push(quantile(latencies, 0.99));
      return quantile(latencies, 0.5);
    } finally {
      await consumer.stop();
    }
  };

  try {
    // Both producers exist once the first publish went through: check their settings first.
    await freshTopic(platformatic);
    await freshTopic(kafkajs);
    await assertDurability(platformatic, kafkajs);

    const publishRuns = await measure(publishRate(platformatic), publishRate(kafkajs));
    // The control: one publisher leaves the @platformatic/kafka adapter nothing to coalesce, so this
    // is one produce request per message on both sides, the clients' own cost per round trip.
    const singleRuns = await measure(publishRate(platformatic, 1), publishRate(kafkajs, 1));
    const batchRuns = await measure(batchRate(platformatic), batchRate(kafkajs));
    const oneRuns = await measure(oneAtATime(platformatic), oneAtATime(kafkajs));
    const p50Runs = await measure(latency(platformatic, p99s.figure), latency(kafkajs, p99s.baseline));
    // measure ran each side once more for the warm-up, first: those p99s are dropped.
    const p99Runs = { figure: p99s.figure.slice(-mode.runs), baseline: p99s.baseline.slice(-mode.runs) };

    const versions = `@platformatic/kafka ${versionOf('@platformatic/kafka')}`;
    const durability = 'idempotent, acks=all';
    const figureClient = `PlatformaticMessageBus (${versions}, ${durability})`;
    const baselineClient = `KafkaMessageBus (kafkajs ${versionOf('kafkajs')}, ${durability})`;
    return [
      {
        id: 'kafka-clients-publish',
        title: 'g. Kafka publish throughput',
        unit: 'messages/s',
        figureLabel: `${figureClient}: MessageBus.publish of one ~1 KB envelope, ${mode.connections} concurrent publishers, ${PARTITIONS} partitions`,
        baselineLabel: `${baselineClient}: the same`,
        runs: mode.runs,
        ...compare({ ...publishRuns, higherIsBetter: true }),
      },
      {
        id: 'kafka-clients-publish-1',
        title: 'g. Kafka publish, 1 publisher',
        unit: 'messages/s',
        figureLabel: `${figureClient}: MessageBus.publish of one ~1 KB envelope, 1 publisher (one produce request per message)`,
        baselineLabel: `${baselineClient}: the same`,
        runs: mode.runs,
        ...compare({ ...singleRuns, higherIsBetter: true }),
      },
      {
        id: 'kafka-clients-publish-batch',
        title: 'g. Kafka publish, relay batches',
        unit: 'messages/s',
        figureLabel: `${figureClient}: MessageBus.publish of ${RELAY_BATCH} ~1 KB envelopes at a time, 1 publisher (what the outbox relay does)`,
        baselineLabel: `${baselineClient}: the same`,
        runs: mode.runs,
        ...compare({ ...batchRuns, higherIsBetter: true }),
      },
      {
        id: 'kafka-clients-one-at-a-time-p99',
        title: 'g. Kafka one in flight, p99',
        unit: 'ms',
        figureLabel: `${figureClient}: publish → handler, the next message only after the last was handled`,
        baselineLabel: `${baselineClient}: the same`,
        runs: mode.runs,
        ...compare({ ...oneRuns, higherIsBetter: false }),
      },
      ...[
        ['p50', p50Runs],
        ['p99', p99Runs],
      ].map(([name, runs]) => ({
        id: `kafka-clients-latency-${name}`,
        title: `g. Kafka produce → consume ${name}`,
        unit: 'ms',
        figureLabel: `${figureClient}: publish start → handler, ${LATENCY_RATE} messages/s of ~1 KB`,
        baselineLabel: `${baselineClient}: the same`,
        runs: mode.runs,
        ...compare({ .../** @type {{ figure: number[], baseline: number[] }} */ (runs), higherIsBetter: false }),
      })),
    ];
  } finally {
    await Promise.all([platformatic.close(), kafkajs.close()]);
    await deleteTopics(brokerList, topics);
  }
}

/** Removes the topics the scenario created (with kafkajs' admin; nothing else of the bench needs it). @param {string[]} brokers @param {string[]} topics */
export async function deleteTopics(brokers, topics) {
  if (topics.length === 0) return;
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const admin = new Kafka({ clientId: 'bench-g-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics });
  } catch {
    // Leftover topics are harmless (bench.g.* names); never fail the report for them.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv.includes('--self-test')) {
  const mode = { name: 'self-test', runs: 3, seconds: 3, warmupSeconds: 1, connections: 16 };
  /** bench.mjs's measure: warm-up (discarded), then figure and baseline alternating. */
  const measure = async (/** @type {(s: number) => Promise<number>} */ figure, /** @type {(s: number) => Promise<number>} */ baseline) => {
    await figure(mode.warmupSeconds);
    await baseline(mode.warmupSeconds);
    const runs = { figure: /** @type {number[]} */ ([]), baseline: /** @type {number[]} */ ([]) };
    for (let i = 0; i < mode.runs; i++) {
      runs.figure.push(await figure(mode.seconds));
      runs.baseline.push(await baseline(mode.seconds));
    }
    return runs;
  };
  const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  const started = Date.now();
  const results = await kafkaClientsScenario({ brokers, mode, measure });
  console.log(`g. Kafka clients on ${brokers}: ${mode.runs} runs of ${mode.seconds} s after ${mode.warmupSeconds} s of warm-up, ${mode.connections} publishers (${Math.round((Date.now() - started) / 1000)} s)\n`);
  console.log(table(results));
  console.log('');
  for (const r of results) console.log(`${r.title}\n  figure:   ${r.figureLabel}\n  baseline: ${r.baselineLabel}\n  runs:     figure ${r.figure.toFixed(1)}, baseline ${r.baseline.toFixed(1)} ${r.unit} (medians of ${r.runs})`);
}
