import {
  applyToEnv,
  describeResolution,
  InfraIo,
  isNoContainerRuntimeError,
  kafkaContainerEnvironment,
  KAFKA_HELP,
  LOCAL_DATABASE_URL,
  parseBrokers,
  postgresContainerUrl,
  POSTGRES_HELP,
  redactUrl,
  resolveFirst,
  resolveInfra,
  withTimeout,
} from './resolve-infra.js';

type Call = string;

/** A fake world: which things answer, and a log of every side effect the resolution asked for. */
function fakeIo(world: {
  up?: Set<string>; // urls / broker lists that answer
  runtime?: boolean;
  localPgStartable?: boolean;
  localKafkaStartable?: boolean;
  containerStartFails?: boolean;
}) {
  const calls: Call[] = [];
  const up = world.up ?? new Set<string>();
  const io: InfraIo = {
    async probePostgres(url) {
      calls.push(`probePostgres ${url}`);
      if (!up.has(url)) throw new Error(`connect ECONNREFUSED ${url}`);
    },
    async probeKafka(brokers) {
      calls.push(`probeKafka ${brokers.join(',')}`);
      if (!up.has(brokers.join(','))) throw new Error(`Connection error: ECONNREFUSED ${brokers.join(',')}`);
    },
    async containerRuntime() {
      calls.push('containerRuntime');
      return world.runtime ? { ok: true, host: 'dockerhost' } : { ok: false, reason: 'no container runtime (no Docker engine)' };
    },
    async startPostgresContainer() {
      calls.push('startPostgresContainer');
      if (world.containerStartFails) throw new Error('pull access denied');
      const url = postgresContainerUrl('dockerhost', 32768);
      up.add(url);
      return url;
    },
    async startKafkaContainer(host) {
      calls.push(`startKafkaContainer ${host}`);
      if (world.containerStartFails) throw new Error('pull access denied');
      up.add(`${host}:32769`);
      return [`${host}:32769`];
    },
    async startLocalPostgres(url) {
      calls.push('startLocalPostgres');
      if (!world.localPgStartable) throw new Error('pg_ctlcluster is not installed');
      up.add(url);
      return 'started with pg_ctlcluster 16 main';
    },
    async startLocalKafka() {
      calls.push('startLocalKafka');
      if (!world.localKafkaStartable) throw new Error('java is not installed');
      up.add('127.0.0.1:9092');
      return 'started with bash tools/kafka/kafka.sh start';
    },
  };
  return { io, calls };
}

describe('resolveInfra selection order', () => {
  it('uses DATABASE_URL / KAFKA_BROKERS when set and answering, without touching containers or local tools', async () => {
    const { io, calls } = fakeIo({ up: new Set(['postgres://u:p@db:5432/x', 'k1:9092,k2:9092']), runtime: true });
    const infra = await resolveInfra({ DATABASE_URL: 'postgres://u:p@db:5432/x', KAFKA_BROKERS: 'k1:9092, k2:9092' }, io);
    expect(infra.postgres).toMatchObject({ source: 'environment', value: 'postgres://u:p@db:5432/x', skipped: [] });
    expect(infra.kafka).toMatchObject({ source: 'environment', value: ['k1:9092', 'k2:9092'], skipped: [] });
    expect(calls.sort()).toEqual(['probeKafka k1:9092,k2:9092', 'probePostgres postgres://u:p@db:5432/x']);
  });

  it('fails (no silent fallback) when an explicit setting does not answer', async () => {
    const { io, calls } = fakeIo({ up: new Set([LOCAL_DATABASE_URL, '127.0.0.1:9092']), runtime: true });
    await expect(resolveInfra({ DATABASE_URL: 'postgres://u:secret@db:5432/x' }, io)).rejects.toThrow(
      /DATABASE_URL=postgres:\/\/u:\*\*\*@db:5432\/x is set but does not answer/,
    );
    expect(calls).not.toContain('startPostgresContainer');
    await expect(resolveInfra({ KAFKA_BROKERS: 'nowhere:9092' }, fakeIo({ up: new Set([LOCAL_DATABASE_URL]) }).io)).rejects.toThrow(
      /KAFKA_BROKERS=nowhere:9092 is set but does not answer/,
    );
  });

  it('prefers testcontainers over the local tools when a container engine answers', async () => {
    const { io, calls } = fakeIo({ up: new Set([LOCAL_DATABASE_URL, '127.0.0.1:9092']), runtime: true });
    const infra = await resolveInfra({}, io);
    expect(infra.postgres).toMatchObject({ source: 'testcontainers', value: postgresContainerUrl('dockerhost', 32768) });
    expect(infra.kafka).toMatchObject({ source: 'testcontainers', value: ['dockerhost:32769'] });
    expect(infra.postgres.skipped).toEqual([{ source: 'environment', reason: 'DATABASE_URL not set' }]);
    expect(calls).not.toContain(`probePostgres ${LOCAL_DATABASE_URL}`);
    // the runtime is asked once for both dependencies
    expect(calls.filter((c) => c === 'containerRuntime')).toHaveLength(1);
  });

  it('falls back to the local tools when there is no container engine, using what already answers', async () => {
    const { io, calls } = fakeIo({ up: new Set([LOCAL_DATABASE_URL, '127.0.0.1:9092']), runtime: false });
    const infra = await resolveInfra({}, io);
    expect(infra.postgres).toMatchObject({ source: 'local', value: LOCAL_DATABASE_URL, detail: '127.0.0.1:5432 answered' });
    expect(infra.kafka).toMatchObject({ source: 'local', value: ['127.0.0.1:9092'], detail: '127.0.0.1:9092 answered' });
    expect(infra.kafka.skipped.map((s) => s.source)).toEqual(['environment', 'testcontainers']);
    expect(calls).not.toContain('startLocalPostgres');
    expect(calls).not.toContain('startLocalKafka');
    expect(calls).not.toContain('startPostgresContainer');
  });

  it('falls back to the local tools when a container fails to start', async () => {
    const { io } = fakeIo({ up: new Set([LOCAL_DATABASE_URL, '127.0.0.1:9092']), runtime: true, containerStartFails: true });
    const infra = await resolveInfra({}, io);
    expect(infra.postgres.source).toBe('local');
    expect(infra.postgres.skipped[1]).toEqual({ source: 'testcontainers', reason: 'pull access denied' });
    expect(infra.kafka.source).toBe('local');
  });

  it('skips testcontainers entirely when TEST_INFRA_NO_CONTAINERS=1', async () => {
    const { io, calls } = fakeIo({ up: new Set([LOCAL_DATABASE_URL, '127.0.0.1:9092']), runtime: true });
    const infra = await resolveInfra({ TEST_INFRA_NO_CONTAINERS: '1' }, io);
    expect(infra.postgres.source).toBe('local');
    expect(infra.kafka.source).toBe('local');
    expect(calls).not.toContain('containerRuntime');
  });

  it('starts the local PostgreSQL and Kafka when they are down', async () => {
    const { io, calls } = fakeIo({ runtime: false, localPgStartable: true, localKafkaStartable: true });
    const infra = await resolveInfra({}, io);
    expect(infra.postgres).toMatchObject({ source: 'local', detail: 'started with pg_ctlcluster 16 main' });
    expect(infra.kafka).toMatchObject({ source: 'local', detail: 'started with bash tools/kafka/kafka.sh start' });
    // probed before and after the start
    expect(calls.filter((c) => c === `probePostgres ${LOCAL_DATABASE_URL}`)).toHaveLength(2);
    expect(calls.indexOf('startLocalKafka')).toBeGreaterThan(calls.indexOf('probeKafka 127.0.0.1:9092'));
  });

  it('throws one error that says what to install when nothing works, naming both dependencies', async () => {
    const { io } = fakeIo({ runtime: false });
    const err = await resolveInfra({}, io).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain('PostgreSQL: no source answered');
    expect(err!.message).toContain('Kafka: no source answered');
    expect(err!.message).toContain(POSTGRES_HELP);
    expect(err!.message).toContain(KAFKA_HELP);
    expect(err!.message).toContain('testcontainers: no container runtime (no Docker engine)');
    expect(err!.message).toContain('java is not installed');
    expect(err!.message).toContain('bash tools/kafka/kafka.sh start');
  });
});

describe('resolveFirst', () => {
  it('returns the first ok candidate and records the skipped ones in order', async () => {
    const tried: string[] = [];
    const r = await resolveFirst(
      'Dep',
      [
        { source: 'environment', attempt: async () => (tried.push('env'), { kind: 'unavailable', reason: 'not set' }) },
        {
          source: 'testcontainers',
          attempt: async () => {
            tried.push('tc');
            throw new Error('boom\nstack');
          },
        },
        { source: 'local', attempt: async () => (tried.push('local'), { kind: 'ok', value: 42, detail: 'here' }) },
      ],
      'help',
    );
    expect(tried).toEqual(['env', 'tc', 'local']);
    expect(r).toEqual({
      dependency: 'Dep',
      source: 'local',
      value: 42,
      detail: 'here',
      skipped: [
        { source: 'environment', reason: 'not set' },
        { source: 'testcontainers', reason: 'boom' },
      ],
    });
  });

  it('stops at a fatal candidate', async () => {
    let reachedLocal = false;
    await expect(
      resolveFirst(
        'Dep',
        [
          { source: 'environment', attempt: async () => ({ kind: 'fatal', reason: 'bad setting' }) },
          { source: 'local', attempt: async () => ((reachedLocal = true), { kind: 'ok', value: 1, detail: '' }) },
        ],
        'help',
      ),
    ).rejects.toThrow('Dep: bad setting');
    expect(reachedLocal).toBe(false);
  });
});

describe('helpers', () => {
  it('parses broker lists', () => {
    expect(parseBrokers(' a:1, b:2 ,,')).toEqual(['a:1', 'b:2']);
    expect(parseBrokers('')).toEqual([]);
  });

  it('hides passwords', () => {
    expect(redactUrl('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres://postgres@127.0.0.1:5432/test');
  });

  it("recognises testcontainers' missing-runtime error", () => {
    expect(isNoContainerRuntimeError(new Error('Could not find a working container runtime strategy'))).toBe(true);
    expect(isNoContainerRuntimeError(new Error('pull access denied'))).toBe(false);
  });

  it('times out slow promises', async () => {
    await expect(withTimeout(new Promise(() => undefined), 10, 'never')).rejects.toThrow('never did not finish within 10 ms');
    await expect(withTimeout(Promise.resolve(1), 1000, 'quick')).resolves.toBe(1);
  });

  it('advertises the Kafka container at the host port it is bound to', () => {
    const env = kafkaContainerEnvironment('localhost', 40123);
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe('PLAINTEXT://localhost:40123,BROKER://localhost:9094');
    expect(env.KAFKA_INTER_BROKER_LISTENER_NAME).toBe('BROKER');
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
  });

  it('describes a resolution in one line and exports it to the environment', () => {
    const env: NodeJS.ProcessEnv = {};
    const infra = {
      postgres: {
        dependency: 'PostgreSQL',
        source: 'local' as const,
        value: 'postgres://u:pw@127.0.0.1:5432/test',
        detail: '127.0.0.1:5432 answered',
        skipped: [{ source: 'environment' as const, reason: 'DATABASE_URL not set' }],
      },
      kafka: { dependency: 'Kafka', source: 'environment' as const, value: ['a:1', 'b:2'], detail: 'KAFKA_BROKERS answered', skipped: [] },
    };
    applyToEnv(infra, env);
    expect(env).toEqual({ DATABASE_URL: 'postgres://u:pw@127.0.0.1:5432/test', KAFKA_BROKERS: 'a:1,b:2' });
    const line = describeResolution(infra.postgres);
    expect(line).not.toContain('\n');
    expect(line).toBe(
      '[test-infra] PostgreSQL: local — postgres://u:***@127.0.0.1:5432/test — 127.0.0.1:5432 answered; skipped environment (DATABASE_URL not set)',
    );
    expect(describeResolution(infra.kafka)).toBe('[test-infra] Kafka: environment — a:1,b:2 — KAFKA_BROKERS answered');
  });
});
