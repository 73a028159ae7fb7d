import { GraphQLObjectType, GraphQLSchema, graphql } from 'graphql';
import { DateTimeScalar, JSONObjectScalar, VariableValueScalar } from './scalars.js';

/**
 * A tiny schema of the three scalars: `echo*` answers its argument (what came in, through literal or
 * variable coercion, and out again through serialize), `stored*` answers the root value's member
 * (what a service answered, through serialize only).
 */
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      echoValue: { type: VariableValueScalar, args: { v: { type: VariableValueScalar } }, resolve: (_root, args: { v: unknown }) => args.v },
      echoObject: { type: JSONObjectScalar, args: { o: { type: JSONObjectScalar } }, resolve: (_root, args: { o: unknown }) => args.o },
      echoTime: { type: DateTimeScalar, args: { t: { type: DateTimeScalar } }, resolve: (_root, args: { t: unknown }) => args.t },
      storedValue: { type: VariableValueScalar },
      storedObject: { type: JSONObjectScalar },
      storedTime: { type: DateTimeScalar },
    },
  }),
});

const query = (source: string, variableValues?: Record<string, unknown>, rootValue?: Record<string, unknown>) => graphql({ schema, source, variableValues, rootValue });

/**
 * The first error of a request refused before it ran (no `data`: the input did not coerce), as its
 * message and code; fails the test when the input was accepted.
 */
async function refusal(result: ReturnType<typeof query>) {
  const { errors, data } = await result;
  if (!errors?.length) throw new Error('the value was accepted');
  if (data !== undefined) throw new Error(`the request ran (the input was accepted): ${JSON.stringify(data)}, ${errors[0]!.message}`);
  return { message: errors[0]!.message, code: errors[0]!.extensions.code };
}

describe('VariableValue', () => {
  describe('as a literal', () => {
    it('given a string of digits, then it stays a string; given 42, then a number', async () => {
      expect(await query('{ a: echoValue(v: "6320834868293") b: echoValue(v: 42) c: echoValue(v: 12.5) }')).toEqual({ data: { a: '6320834868293', b: 42, c: 12.5 } });
    });

    it('given null, true and false, then they are kept', async () => {
      expect(await query('{ a: echoValue(v: null) b: echoValue(v: true) c: echoValue(v: false) }')).toEqual({ data: { a: null, b: true, c: false } });
    });

    it('given an object, a list or an enum-like name, then it is refused (VALIDATION_FAILED)', async () => {
      for (const literal of ['{ a: 1 }', '[1, 2]', 'NaN', 'Infinity'])
        expect(await refusal(query(`{ echoValue(v: ${literal}) }`))).toEqual({ message: expect.stringContaining('A VariableValue is'), code: 'VALIDATION_FAILED' });
    });

    it('given a number too large to be finite (1e999), then it is refused', async () => {
      expect(await refusal(query('{ echoValue(v: 1e999) }'))).toEqual({ message: expect.stringContaining('finite number'), code: 'VALIDATION_FAILED' });
    });
  });

  describe('as a variable', () => {
    const echo = 'query($v: VariableValue) { echoValue(v: $v) }';

    it('given "6320834868293", then it stays a string; given 42, then a number', async () => {
      expect(await query(echo, { v: '6320834868293' })).toEqual({ data: { echoValue: '6320834868293' } });
      expect(await query(echo, { v: 42 })).toEqual({ data: { echoValue: 42 } });
    });

    it('given null or a boolean, then it is kept', async () => {
      expect(await query(echo, { v: null })).toEqual({ data: { echoValue: null } });
      expect(await query(echo, { v: true })).toEqual({ data: { echoValue: true } });
      expect(await query(echo, { v: false })).toEqual({ data: { echoValue: false } });
    });

    it('given an object, an array, NaN or Infinity, then it is refused (VALIDATION_FAILED)', async () => {
      for (const v of [{ a: 1 }, [1], Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
        expect(await refusal(query(echo, { v }))).toEqual({ message: expect.stringContaining('A VariableValue is a string, a finite number, a boolean or null'), code: 'VALIDATION_FAILED' });
    });
  });

  describe('as an answer (serialize)', () => {
    it('given a string, a number, a boolean or null, then it is answered as it is', async () => {
      expect(await query('{ storedValue }', undefined, { storedValue: '42' })).toEqual({ data: { storedValue: '42' } });
      expect(await query('{ storedValue }', undefined, { storedValue: 42 })).toEqual({ data: { storedValue: 42 } });
      expect(await query('{ storedValue }', undefined, { storedValue: false })).toEqual({ data: { storedValue: false } });
      expect(await query('{ storedValue }', undefined, { storedValue: null })).toEqual({ data: { storedValue: null } });
    });

    it('given an object or NaN, then the field fails instead of answering it', async () => {
      for (const storedValue of [{ a: 1 }, Number.NaN]) {
        const result = await query('{ storedValue }', undefined, { storedValue });
        expect(result.data).toEqual({ storedValue: null });
        expect(result.errors?.[0]?.message).toMatch(/A VariableValue is/);
      }
    });
  });
});

describe('JSONObject', () => {
  it('given an object literal (nested, with a variable inside), then it is answered as that object', async () => {
    expect(await query('query($name: VariableValue) { echoObject(o: { username: $name, cart: { items: 2 }, tags: ["a"] }) }', { name: 'Jane' })).toEqual({
      data: { echoObject: { username: 'Jane', cart: { items: 2 }, tags: ['a'] } },
    });
  });

  it('given an object variable, then it is kept', async () => {
    expect(await query('query($o: JSONObject) { echoObject(o: $o) }', { o: { plan: 'gold', vip: true } })).toEqual({ data: { echoObject: { plan: 'gold', vip: true } } });
  });

  it('given a list or a scalar literal, then it is refused (VALIDATION_FAILED)', async () => {
    for (const literal of ['[{ a: 1 }]', '"text"', '42', 'true'])
      expect(await refusal(query(`{ echoObject(o: ${literal}) }`))).toEqual({ message: expect.stringContaining('A JSONObject is an object'), code: 'VALIDATION_FAILED' });
  });

  it('given an array, a string, a number or a boolean as a variable, then it is refused (VALIDATION_FAILED)', async () => {
    for (const o of [[{ a: 1 }], 'text', 42, true])
      expect(await refusal(query('query($o: JSONObject) { echoObject(o: $o) }', { o }))).toEqual({ message: expect.stringContaining('A JSONObject is an object'), code: 'VALIDATION_FAILED' });
  });

  it('given an array to answer, then the field fails', async () => {
    const result = await query('{ storedObject }', undefined, { storedObject: [1, 2] });
    expect(result.data).toEqual({ storedObject: null });
    expect(result.errors?.[0]?.message).toMatch(/A JSONObject is an object/);
  });
});

describe('DateTime', () => {
  it('given an instant in UTC or with an offset, with or without fractions, then it is kept as given', async () => {
    for (const t of ['2026-12-02T10:00:00Z', '2026-12-02T10:00:00.000Z', '2026-12-02T11:00:00+01:00', '2026-12-02T05:00:00.5-05:00']) {
      expect(await query('query($t: DateTime) { echoTime(t: $t) }', { t })).toEqual({ data: { echoTime: t } });
      expect(await query(`{ echoTime(t: "${t}") }`)).toEqual({ data: { echoTime: t } });
    }
  });

  it('given a date without a time, a time without an offset, garbage, an impossible month, day or hour, then it is refused (VALIDATION_FAILED)', async () => {
    for (const t of ['2026-12-02', '2026-12-02T10:00:00', 'yesterday', '', '2026-13-02T10:00:00Z', '2026-12-02T23:60:00Z', '2026-12-02 10:00:00Z', '2026-02-30T10:00:00Z', '2026-12-02T24:00:00Z'])
      expect(await refusal(query('query($t: DateTime) { echoTime(t: $t) }', { t }))).toEqual({ message: expect.stringContaining('A DateTime is an ISO 8601 instant'), code: 'VALIDATION_FAILED' });
    expect(await refusal(query('{ echoTime(t: "2026-12-02") }'))).toEqual({ message: expect.stringContaining('A DateTime is an ISO 8601 instant'), code: 'VALIDATION_FAILED' });
  });

  it('given a number (epoch milliseconds), as a variable or a literal, then it is refused', async () => {
    expect(await refusal(query('query($t: DateTime) { echoTime(t: $t) }', { t: 1796205600000 }))).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await refusal(query('{ echoTime(t: 1796205600000) }'))).toEqual({ message: expect.stringContaining('A DateTime is a string'), code: 'VALIDATION_FAILED' });
  });

  it('given a service answer that is not an instant, then the field fails', async () => {
    expect((await query('{ storedTime }', undefined, { storedTime: '2026-12-02T10:00:00.000Z' })).data).toEqual({ storedTime: '2026-12-02T10:00:00.000Z' });
    const result = await query('{ storedTime }', undefined, { storedTime: 'soon' });
    expect(result.data).toEqual({ storedTime: null });
    expect(result.errors?.[0]?.message).toMatch(/A DateTime is an ISO 8601 instant/);
  });
});
