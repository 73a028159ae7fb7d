import { z } from 'zod';
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode, valueFromASTUntyped } from 'graphql';

const invalid = (message: string) => new GraphQLError(message, { extensions: { code: 'VALIDATION_FAILED', status: 400 } });

function variableValue(value: unknown): string | number | boolean | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw invalid('A VariableValue is a string, a finite number, a boolean or null');
}

/** A variable's value: string, number, boolean or null, kept as given ("42" stays a string, 42 a number). */
export const VariableValueScalar = new GraphQLScalarType({
  name: 'VariableValue',
  description: 'A variable\'s value: a string, a number, a boolean or null (it keeps its type: "42" stays a string).',
  serialize: variableValue,
  parseValue: variableValue,
  parseLiteral(ast: ValueNode) {
    switch (ast.kind) {
      case Kind.STRING:
        return ast.value;
      case Kind.INT:
      case Kind.FLOAT:
        return variableValue(Number(ast.value));
      case Kind.BOOLEAN:
        return ast.value;
      case Kind.NULL:
        return null;
      default:
        throw invalid('A VariableValue is a string, a number, a boolean or null');
    }
  },
});

function jsonObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('A JSONObject is an object');
  return value as Record<string, unknown>;
}

/** A JSON object (visitor data, custom claims); its members are checked by the service it goes to. */
export const JSONObjectScalar = new GraphQLScalarType({
  name: 'JSONObject',
  description: 'A JSON object (visitor data: names to variable values; custom claims).',
  serialize: jsonObject,
  parseValue: jsonObject,
  parseLiteral(ast: ValueNode, variables) {
    if (ast.kind !== Kind.OBJECT) throw invalid('A JSONObject is an object');
    return jsonObject(valueFromASTUntyped(ast, variables ?? undefined));
  },
});

/** The contracts' own check of an instant (zod's ISO 8601 with an offset: no 30 February, no 24:00). */
const Instant = z.iso.datetime({ offset: true });

function instant(value: unknown): string {
  if (!Instant.safeParse(value).success) throw invalid('A DateTime is an ISO 8601 instant with an offset, e.g. 2026-12-02T10:00:00Z');
  return value as string;
}

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An ISO 8601 instant with an offset, e.g. 2026-12-02T10:00:00.000Z.',
  serialize: instant,
  parseValue: instant,
  parseLiteral(ast: ValueNode) {
    if (ast.kind !== Kind.STRING) throw invalid('A DateTime is a string');
    return instant(ast.value);
  },
});
