import { randomUUID } from 'node:crypto';
import {
  ConfigError,
  ErrorBody,
  PutSessionVariablesBody,
  SessionStartedV1,
  SessionVariablesChangedV1,
  TOPICS,
  integrationEventSchema,
  parseConfigEnv,
} from './index.js';

const envelope = { eventId: randomUUID(), occurredAt: '2026-11-21T10:00:00.000Z', orgId: 'org_1' };

describe('integration event contracts', () => {
  it('round-trips an event through JSON unchanged, value types kept', () => {
    const event = SessionVariablesChangedV1.parse({
      ...envelope,
      type: 'SessionVariablesChanged',
      version: 1,
      data: { sessionId: 's1', changes: [{ name: 'id', value: '6320834868293', source: 'api', verified: false, version: 1 }, { name: 'n', value: 42, source: 'widget', verified: false, version: 3 }] },
    });
    expect(SessionVariablesChangedV1.parse(JSON.parse(JSON.stringify(event)))).toEqual(event);
    expect(event.data.changes.map((c) => typeof c.value)).toEqual(['string', 'number']);
  });

  it('refuses an event without its envelope fields, or with another version', () => {
    expect(SessionVariablesChangedV1.safeParse({ type: 'SessionVariablesChanged', version: 1, data: { sessionId: 's', changes: [] } }).success).toBe(false);
    expect(SessionVariablesChangedV1.safeParse({ ...envelope, type: 'SessionVariablesChanged', version: 2, data: { sessionId: 's', changes: [] } }).success).toBe(false);
  });

  it('fills defaults a later producer may omit (SessionStarted without variables)', () => {
    const parsed = SessionStartedV1.parse({ ...envelope, type: 'SessionStarted', version: 1, data: { sessionId: 's', visitorId: 'v', channelId: 'c', startedAt: envelope.occurredAt } });
    expect(parsed.data.sessionVariableValues).toEqual([]);
  });

  it('finds the schema of a topic, type and version', () => {
    expect(integrationEventSchema(TOPICS.variables, 'SessionVariablesChanged', 1)).toBe(SessionVariablesChangedV1);
    expect(integrationEventSchema(TOPICS.variables, 'SessionVariablesChanged', 9)).toBeUndefined();
    expect(integrationEventSchema(TOPICS.sessions, 'SessionVariablesChanged', 1)).toBeUndefined();
  });
});

describe('HTTP contracts', () => {
  it('accepts Zoho-style sessionVariableValues and accepts names of letters, digits, _ . - and space up to 128 characters, and refuses nested values, other names and unknown fields', () => {
    expect(PutSessionVariablesBody.safeParse({ sessionVariableValues: [{ name: 'UserName', value: 'John' }, { name: 'x', value: null }] }).success).toBe(true);
    expect(PutSessionVariablesBody.safeParse({ sessionVariableValues: [{ name: 'a', value: { b: 1 } }] }).success).toBe(false);
    // Names: 1 to 128 letters, digits, _ . - and space (DESIGN.md limits); anything else is refused.
    for (const name of ['1a', 'first name', 'a.b-c_d', 'x'.repeat(128)])
      expect({ name, ok: PutSessionVariablesBody.safeParse({ sessionVariableValues: [{ name, value: 1 }] }).success }).toEqual({ name, ok: true });
    for (const name of ['', 'x'.repeat(129), 'a/b', 'naïve', 'tab\there', 'semi;colon'])
      expect({ name, ok: PutSessionVariablesBody.safeParse({ sessionVariableValues: [{ name, value: 1 }] }).success }).toEqual({ name, ok: false });
    expect(PutSessionVariablesBody.safeParse({ sessionVariableValues: [], extra: 1 }).success).toBe(false);
    for (const name of ['__proto__', 'constructor', 'prototype'])
      expect(PutSessionVariablesBody.safeParse({ sessionVariableValues: [{ name, value: 1 }] }).success).toBe(false);
  });

  it('describes the error body of section 5', () => {
    expect(ErrorBody.parse({ error: { code: 'CONFLICT', message: 'm', details: { currentStatus: 'ENDED' } } })).toBeTruthy();
    expect(ErrorBody.safeParse({ error: { code: 'conflict', message: 'm' } }).success).toBe(false);
  });
});

describe('config', () => {
  it('applies the defaults of DESIGN.md section 5 (ports 4000-4003)', () => {
    const env = parseConfigEnv({});
    expect([env.GATEWAY_PORT, env.IDENTITY_PORT, env.SESSIONS_PORT, env.VARIABLES_PORT]).toEqual([4000, 4001, 4002, 4003]);
    expect(env.WEBHOOKS_ALLOW_PRIVATE_TARGETS).toBe(false);
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      parseConfigEnv({ VARIABLES_PORT: 'abc', BUS: 'kafka', EVENT_STORE: 'kurrentdb' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ['VARIABLES_PORT', 'KAFKA_BROKERS', 'KURRENTDB_URL']) expect(message).toContain(name);
  });

  it('splits KAFKA_BROKERS into a list', () => {
    expect(parseConfigEnv({ BUS: 'kafka', KAFKA_BROKERS: 'a:9092, b:9092' }).KAFKA_BROKERS).toEqual(['a:9092', 'b:9092']);
  });
});
