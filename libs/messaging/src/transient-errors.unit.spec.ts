import { describe, expect, it } from '@jest/globals';
import { isTransientError } from './transient-errors.js';

const withCode = (code: string, message = `failed with ${code}`) => Object.assign(new Error(message), { code });

describe('isTransientError', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'])('given a Node socket error %s, then it is transient', (code) => {
    expect(isTransientError(withCode(code))).toBe(true);
  });

  it.each([
    ['08000', 'connection exception'],
    ['08006', 'connection failure'],
    ['08001', 'unable to establish a connection'],
    ['53300', 'too many connections'],
    ['53200', 'out of memory'],
    ['53100', 'disk full'],
    ['57P01', 'admin shutdown'],
    ['57P02', 'crash shutdown'],
    ['57P03', 'cannot connect now'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock detected'],
  ])('given PostgreSQL SQLSTATE %s (%s), then it is transient', (code, message) => {
    expect(isTransientError(withCode(code, message))).toBe(true);
  });

  it.each([
    'timeout exceeded when trying to connect',
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'Client has encountered a connection error and is not queryable',
  ])('given the pg message "%s" without a code, then it is transient', (message) => {
    expect(isTransientError(new Error(message))).toBe(true);
  });

  it('given a transient error as the cause of another, or inside an AggregateError, then it is transient', () => {
    expect(isTransientError(new Error('saving the activity failed', { cause: withCode('ECONNRESET') }))).toBe(true);
    expect(isTransientError(new Error('outer', { cause: new Error('middle', { cause: withCode('57P01') }) }))).toBe(true);
    expect(isTransientError(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], ''))).toBe(true);
  });

  it.each([
    ['a plain Error', new Error('handler refused')],
    ['a unique violation (23505)', withCode('23505', 'duplicate key value violates unique constraint')],
    ['an undefined table (42P01)', withCode('42P01', 'relation "x" does not exist')],
    ['a check violation (23514)', withCode('23514')],
    ['a query canceled by statement timeout (57014)', withCode('57014', 'canceling statement due to statement timeout')],
    ['a code that is no SQLSTATE but starts with 08', withCode('08_SOMETHING')],
    ['a TypeError (a bug)', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a string', 'ECONNREFUSED'],
    ['undefined', undefined],
    ['null', null],
  ])('given %s, then it is not transient', (_name, error) => {
    expect(isTransientError(error)).toBe(false);
  });

  it('given a cyclic cause chain, then it answers without looping', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isTransientError(a)).toBe(false);
  });
});
