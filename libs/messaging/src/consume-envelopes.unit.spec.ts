import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { integrationEvent } from '@svp/contracts';
import { z } from 'zod';
import { envelopeParser } from './consume-envelopes.js';

const envelope = (type: string, data: unknown, version = 1) =>
  JSON.stringify({ eventId: randomUUID(), type, version, occurredAt: '2026-01-01T00:00:00.000Z', orgId: 'org-1', data });

const Pinged = integrationEvent('Pinged', 1, z.object({ n: z.number() }));

describe('envelopeParser', () => {
  it('given no schema, then any valid envelope passes and a non-envelope is invalid', () => {
    const parse = envelopeParser(undefined);
    expect(parse(envelope('Anything', { x: 1 }))).toMatchObject({ kind: 'ok', event: { type: 'Anything', data: { x: 1 } } });
    expect(parse('[]')).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/not an event envelope/) });
    expect(parse(JSON.stringify({ type: 'X' }))).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/eventId/) });
    expect(parse('nope')).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/not JSON/) });
  });

  it('given a schema map, then known types are parsed with their schema and unknown ones skipped or invalid as configured', () => {
    expect(envelopeParser({ Pinged })(envelope('Pinged', { n: 1 }))).toMatchObject({ kind: 'ok', event: { data: { n: 1 } } });
    expect(envelopeParser({ Pinged })(envelope('Pinged', { n: 1 }, 2))).toMatchObject({ kind: 'invalid', error: expect.stringMatching(/version/) });
    expect(envelopeParser({ Pinged })(envelope('Other', {}))).toEqual({ kind: 'skip', type: 'Other' });
    expect(envelopeParser({ Pinged }, 'dead-letter')(envelope('Other', {}))).toMatchObject({ kind: 'invalid', error: "unknown event type 'Other'" });
    // A type named like an Object.prototype member is unknown, not a crash.
    expect(envelopeParser({ Pinged })(envelope('toString', {}))).toEqual({ kind: 'skip', type: 'toString' });
  });

  it('given a parse function, then its result is the event and its error makes the message invalid', () => {
    const parse = envelopeParser((e) => {
      if (e.type !== 'Pinged') throw new Error('only Pinged');
      return { id: e.eventId };
    });
    expect(parse(envelope('Pinged', {}))).toMatchObject({ kind: 'ok', event: { id: expect.any(String) } });
    expect(parse(envelope('Other', {}))).toMatchObject({ kind: 'invalid', error: 'Other v1: only Pinged' });
  });
});
