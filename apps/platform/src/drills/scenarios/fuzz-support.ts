import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import type { ServiceName } from '@svp/contracts';

/**
 * The bad-input generator of drill 8: the operations of the checked-in OpenAPI documents, bodies made
 * from their JSON schemas (generated from the zod contracts) and then broken, raw bytes, and the
 * accepted error shape of each surface.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonSchema = Record<string, any>;

export interface Operation {
  service: ServiceName;
  method: string;
  /** The templated path, e.g. /v1/sessions/{sessionId}. */
  path: string;
  pathParams: string[];
  query: { name: string; schema: JsonSchema; required: boolean }[];
  body?: JsonSchema;
  /** Root-token operations (org creation, quotas, the admin API). */
  root: boolean;
  /** Operations without a credential (security: [] in the document: /healthz, /readyz, /metrics, the widget script). */
  open: boolean;
}

const SERVICES: ServiceName[] = ['identity', 'sessions', 'variables', 'gateway'];

/** The repository root (docs/openapi): five levels above this file in src and in dist alike. */
export function repoRoot(): string {
  for (const candidate of [resolve(import.meta.dirname, '../../../../..'), process.cwd()]) if (existsSync(resolve(candidate, 'docs/openapi/identity.json'))) return candidate;
  throw new Error('docs/openapi not found (run from the repository root)');
}

/** Every operation of docs/openapi/{service}.json. */
export function loadOperations(root = repoRoot()): Operation[] {
  const operations: Operation[] = [];
  for (const service of SERVICES) {
    const doc = JSON.parse(readFileSync(resolve(root, `docs/openapi/${service}.json`), 'utf8')) as { paths: Record<string, Record<string, JsonSchema>> };
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        const params = (op.parameters ?? []) as { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
        const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
        const summary = String(op.summary ?? '');
        operations.push({
          service,
          method: method.toUpperCase(),
          path,
          pathParams,
          query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {}, required: p.required === true })),
          body: op.requestBody?.content?.['application/json']?.schema,
          open: Array.isArray(op.security) && op.security.length === 0,
          root: path.startsWith('/admin/') || (path === '/v1/orgs' && method === 'post') || path.endsWith('/quota') || /root token/i.test(summary) && !/org API key/i.test(summary),
        });
      }
    }
  }
  return operations;
}

// ── Values from a JSON schema ──────────────────────────────────────────────────────────────────────

const types = (schema: JsonSchema): string[] => (Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []);

/** A value that fits the schema (as far as a simple reading of it goes): the base that mutations break. */
export function validValue(schema: JsonSchema, depth = 0): unknown {
  if (!schema || depth > 6) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  for (const union of ['anyOf', 'oneOf'] as const) if (Array.isArray(schema[union])) return validValue(schema[union][0], depth + 1);
  if (Array.isArray(schema.allOf)) return validValue(schema.allOf[0], depth + 1);
  const type = types(schema).find((t) => t !== 'null') ?? (schema.properties ? 'object' : types(schema)[0]);
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set<string>(schema.required ?? []);
      for (const [name, prop] of Object.entries<JsonSchema>(schema.properties ?? {})) if (required.has(name) || depth === 0) out[name] = validValue(prop, depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => validValue(schema.items ?? {}, depth + 1));
    case 'string': {
      if (schema.format === 'uri' || /url/i.test(schema.description ?? '')) return 'https://example.com/drill8';
      if (schema.format === 'email') return 'drill8@example.com';
      if (schema.format === 'date-time') return new Date().toISOString();
      const length = Math.max(schema.minLength ?? 1, 6);
      return 'drill8x'.repeat(Math.ceil(length / 7)).slice(0, Math.min(length, schema.maxLength ?? length));
    }
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return 'drill8';
  }
}

/** Every property path of an object schema, down to `maxDepth`, with its schema and whether it is required. */
function propertyPaths(schema: JsonSchema, prefix: string[] = [], maxDepth = 3): { path: string[]; schema: JsonSchema; required: boolean }[] {
  if (!schema || prefix.length >= maxDepth) return [];
  const base = schema.anyOf?.[0] ?? schema.oneOf?.[0] ?? schema;
  const out: { path: string[]; schema: JsonSchema; required: boolean }[] = [];
  const required = new Set<string>(base.required ?? []);
  for (const [name, prop] of Object.entries<JsonSchema>(base.properties ?? {})) {
    out.push({ path: [...prefix, name], schema: prop, required: required.has(name) });
    out.push(...propertyPaths(prop, [...prefix, name], maxDepth));
    if (types(prop).includes('array') && prop.items) out.push(...propertyPaths(prop.items, [...prefix, name, '0'], maxDepth + 1));
  }
  return out;
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function setAt(target: unknown, path: string[], value: unknown, remove = false): unknown {
  const root = clone(target);
  let node = root as Record<string, unknown>;
  for (const part of path.slice(0, -1)) {
    if (node[part] === null || typeof node[part] !== 'object') node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  const last = path.at(-1)!;
  if (remove) delete node[last];
  else node[last] = value;
  return root;
}

/** The marker a prototype-pollution payload carries: it must never show up in a later answer. */
export const POLLUTION_MARKER = `drill8polluted${randomBytes(4).toString('hex')}`;
const pollution = () => ({ [POLLUTION_MARKER]: true, isAdmin: true, scopes: ['identity:admin'] });

/** A body with `__proto__`, `constructor.prototype` and `prototype` keys, written as raw JSON (JSON.stringify drops `__proto__`). */
export function pollutedJson(base: unknown, at: string[] = []): string {
  const payload = JSON.stringify(pollution());
  const inner = `"__proto__":${payload},"constructor":{"prototype":${payload}},"prototype":${payload}`;
  const text = JSON.stringify(base === null || typeof base !== 'object' ? {} : base);
  if (at.length === 0) return text === '{}' ? `{${inner}}` : text.replace(/^\{/, `{${inner},`);
  // Inside a nested object: replace the object at `at` by one holding the keys.
  const marker = `"${'__drill8_slot__'}"`;
  const withSlot = JSON.stringify(setAt(base, at, '__drill8_slot__'));
  return withSlot.replace(marker, `{${inner},"x":1}`);
}

/** Broken variants of a valid body: wrong types, missing required, extra keys, huge, out of range, nulls. */
export function mutateBody(schema: JsonSchema): { what: string; body: unknown }[] {
  const base = validValue(schema);
  const out: { what: string; body: unknown }[] = [];
  for (const [what, body] of [['null body', null], ['array body', []], ['string body', 'drill8'], ['number body', 42], ['boolean body', true], ['empty object', {}]] as const) out.push({ what, body });
  out.push({ what: 'valid-shaped', body: base });
  out.push({ what: 'extra key', body: { ...(base as object), drill8Extra: 'x' } });
  const wrong: [string, unknown][] = [
    ['null', null],
    ['number', 12345],
    ['negative', -1],
    ['float', 1.5],
    ['huge number', 1e308],
    ['huge negative', -1e308],
    ['unsafe int', 2 ** 64],
    ['string', 'drill8'],
    ['empty string', ''],
    ['huge string', 'x'.repeat(100_000)],
    ['NUL string', 'a\u0000b'],
    ['lone surrogate', 'a\ud800b'],
    ['bidi string', '\u202egnirts\u202d'],
    ['boolean', false],
    ['array', [1, 'a', null]],
    ['object', { a: { b: 1 } }],
    ['big array', Array.from({ length: 5000 }, (_, i) => i)],
  ];
  for (const { path, schema: prop, required } of propertyPaths(schema)) {
    const name = path.join('.');
    if (required) out.push({ what: `${name} missing`, body: setAt(base, path, undefined, true) });
    for (const [kind, value] of wrong) out.push({ what: `${name} ${kind}`, body: setAt(base, path, value) });
    if (typeof prop.maxLength === 'number') out.push({ what: `${name} over maxLength`, body: setAt(base, path, 'y'.repeat(prop.maxLength + 1)) });
    if (typeof prop.maximum === 'number') out.push({ what: `${name} over maximum`, body: setAt(base, path, prop.maximum + 1) });
    if (typeof prop.minimum === 'number') out.push({ what: `${name} under minimum`, body: setAt(base, path, prop.minimum - 1) });
    if (typeof prop.maxItems === 'number') out.push({ what: `${name} over maxItems`, body: setAt(base, path, Array.from({ length: prop.maxItems + 1 }, () => validValue(prop.items ?? {}))) });
    if (Array.isArray(prop.enum)) out.push({ what: `${name} not in enum`, body: setAt(base, path, `${String(prop.enum[0])}_NOPE`) });
  }
  return out;
}

// ── Must it be refused? ────────────────────────────────────────────────────────────────────────────

/** A value against a schema: `invalid` only when a rule of the schema is broken for certain, `valid` when every rule was checked and held, `unknown` otherwise. */
export type Verdict = 'valid' | 'invalid' | 'unknown';

const worst = (verdicts: Verdict[]): Verdict => (verdicts.includes('invalid') ? 'invalid' : verdicts.includes('unknown') ? 'unknown' : 'valid');

function typeHolds(type: string, value: unknown): Verdict {
  switch (type) {
    case 'null':
      return value === null ? 'valid' : 'invalid';
    case 'boolean':
      return typeof value === 'boolean' ? 'valid' : 'invalid';
    case 'string':
      return typeof value === 'string' ? 'valid' : 'invalid';
    case 'number':
      return typeof value === 'number' ? (Number.isFinite(value) ? 'valid' : 'unknown') : 'invalid';
    case 'integer':
      // Not an integer for certain; an unsafe integer depends on the validator (zod 4 refuses it, zod 3 does not).
      return typeof value !== 'number' || (Number.isFinite(value) && !Number.isInteger(value)) ? 'invalid' : Number.isSafeInteger(value) ? 'valid' : 'unknown';
    case 'array':
      return Array.isArray(value) ? 'valid' : 'invalid';
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? 'valid' : 'invalid';
    default:
      return 'unknown';
  }
}

/**
 * A conservative reading of the JSON schema of a request body (the OpenAPI documents, generated from the
 * zod contracts): type, enum, const, required, properties, records, items, lengths, bounds, patterns and
 * unions. Extra keys are never `invalid` (a non-strict zod object strips them); formats and anything not
 * read here make the answer `unknown`.
 */
export function schemaVerdict(schema: JsonSchema | undefined, value: unknown, depth = 0): Verdict {
  if (!schema || typeof schema !== 'object' || depth > 64) return 'unknown';
  if (value === undefined) return 'invalid'; // a required value absent (absent optional properties are never visited)
  for (const union of ['anyOf', 'oneOf'] as const) {
    if (!Array.isArray(schema[union])) continue;
    const each = (schema[union] as JsonSchema[]).map((branch) => schemaVerdict(branch, value, depth + 1));
    const own = schemaVerdict({ ...schema, [union]: undefined }, value, depth + 1);
    const merged: Verdict = each.includes('valid') ? (union === 'oneOf' && each.filter((v) => v === 'valid').length > 1 ? 'unknown' : 'valid') : each.every((v) => v === 'invalid') ? 'invalid' : 'unknown';
    return worst([merged, own]);
  }
  const verdicts: Verdict[] = [];
  if (Array.isArray(schema.allOf)) verdicts.push(...(schema.allOf as JsonSchema[]).map((part) => schemaVerdict(part, value, depth + 1)));
  if ('const' in schema) verdicts.push(JSON.stringify(schema.const) === JSON.stringify(value) ? 'valid' : 'invalid');
  if (Array.isArray(schema.enum)) verdicts.push(schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value)) ? 'valid' : 'invalid');
  const allowed = types(schema);
  if (schema.nullable === true && value === null) return worst(verdicts.filter((v) => v !== 'invalid').concat('valid'));
  if (allowed.length) {
    const each = allowed.map((type) => typeHolds(type, value));
    const typed: Verdict = each.includes('valid') ? 'valid' : each.every((v) => v === 'invalid') ? 'invalid' : 'unknown';
    if (typed === 'invalid') return 'invalid';
    verdicts.push(typed);
  }
  for (const known of ['format', 'not', '$ref', 'if', 'patternProperties', 'propertyNames', 'dependentRequired', 'uniqueItems', 'multipleOf', 'contains'])
    if (known in schema) verdicts.push('unknown');
  if (typeof value === 'string') {
    // Lengths in UTF-16 units (as zod counts them); a string with non-ASCII characters is judged only when far off.
    const ascii = [...value].every((c) => c.charCodeAt(0) < 0x80);
    if (typeof schema.minLength === 'number') verdicts.push(value.length >= schema.minLength ? 'valid' : ascii || [...value].length * 2 < schema.minLength ? 'invalid' : 'unknown');
    if (typeof schema.maxLength === 'number') verdicts.push(value.length <= schema.maxLength ? 'valid' : ascii || [...value].length > schema.maxLength ? 'invalid' : 'unknown');
    if (typeof schema.pattern === 'string') {
      try {
        verdicts.push(new RegExp(schema.pattern).test(value) ? 'valid' : 'invalid');
      } catch {
        verdicts.push('unknown');
      }
    }
  }
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (typeof schema.minimum === 'number') verdicts.push(value >= schema.minimum ? 'valid' : 'invalid');
    if (typeof schema.maximum === 'number') verdicts.push(value <= schema.maximum ? 'valid' : 'invalid');
    if (typeof schema.exclusiveMinimum === 'number') verdicts.push(value > schema.exclusiveMinimum ? 'valid' : 'invalid');
    if (typeof schema.exclusiveMaximum === 'number') verdicts.push(value < schema.exclusiveMaximum ? 'valid' : 'invalid');
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number') verdicts.push(value.length >= schema.minItems ? 'valid' : 'invalid');
    if (typeof schema.maxItems === 'number') verdicts.push(value.length <= schema.maxItems ? 'valid' : 'invalid');
    if (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items)) {
      for (const item of value) {
        const verdict = schemaVerdict(schema.items, item, depth + 1);
        verdicts.push(verdict);
        if (verdict === 'invalid') break;
      }
    } else if (schema.items !== undefined) verdicts.push('unknown');
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const name of (schema.required ?? []) as string[]) if (!Object.prototype.hasOwnProperty.call(record, name) || record[name] === undefined) verdicts.push('invalid');
    for (const [name, item] of Object.entries(record)) {
      if (Object.prototype.hasOwnProperty.call(properties, name)) verdicts.push(schemaVerdict(properties[name], item, depth + 1));
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') verdicts.push(schemaVerdict(schema.additionalProperties, item, depth + 1));
      else if (schema.additionalProperties === false) verdicts.push('unknown'); // a strict object refuses it, a stripping one drops it
    }
    if (typeof schema.minProperties === 'number' && Object.keys(record).length < schema.minProperties) verdicts.push('invalid');
    if (typeof schema.maxProperties === 'number' && Object.keys(record).length > schema.maxProperties) verdicts.push('invalid');
  }
  return worst(verdicts);
}

/** Whether a body holds a prototype-pollution key (`__proto__`, `constructor.prototype`) as JSON keys: the services' JSON parser refuses them (Fastify's onProtoPoisoning/onConstructorPoisoning default, `error`). */
const POISON = /"__proto__"\s*:|"constructor"\s*:\s*\{\s*"prototype"\s*:/;

/**
 * Whether a request body must be refused for certain, by the bytes alone or by its operation's schema:
 * over the body limit, invalid UTF-8, not JSON, prototype-pollution keys, a content type the services do
 * not read where a body is expected, or a value that breaks the schema for certain. `maybe` where the
 * answer depends on the product's leniency (a BOM, an odd content-type parameter, extra keys, no schema).
 * `schema` undefined: the operation takes no body.
 */
export function bodyVerdict(schema: JsonSchema | undefined, body: string | Uint8Array | undefined, contentType: string | undefined, bodyLimit: number): { refuse: boolean; why: string } {
  if (body === undefined) return schema ? { refuse: schemaVerdict(schema, undefined) === 'invalid', why: 'no body' } : { refuse: false, why: 'no body where none is expected' };
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  if (raw.length > bodyLimit) return { refuse: true, why: `over the body limit (${raw.length} > ${bodyLimit} bytes)` };
  // sendRaw: application/json unless told; '' sends none (fetch then labels a string text/plain).
  const declared = contentType === undefined ? 'application/json' : contentType === '' ? (typeof body === 'string' ? 'text/plain;charset=UTF-8' : '') : contentType;
  const [media = '', ...params] = declared.split(';').map((part) => part.trim().toLowerCase());
  const odd = params.some((param) => param !== '' && param !== 'charset=utf-8');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    text = '';
    if (media === 'application/json') return { refuse: true, why: 'invalid UTF-8 declared JSON' };
    if (media !== 'text/plain') return { refuse: schema !== undefined, why: `invalid UTF-8 as ${media || 'no content type'}` };
  }
  if (media === 'text/plain') {
    const verdict = schema ? schemaVerdict(schema, raw.toString('utf8')) : 'unknown';
    return { refuse: verdict === 'invalid', why: 'text/plain where the schema wants JSON' };
  }
  if (media !== 'application/json') return { refuse: schema !== undefined, why: `content type ${media || 'none'} where JSON is expected` };
  const bom = text.charCodeAt(0) === 0xfeff;
  const source = bom ? text.slice(1) : text;
  if (source.trim() === '') return { refuse: true, why: 'an empty body declared JSON' };
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    return { refuse: true, why: 'not JSON' };
  }
  if (POISON.test(source)) return { refuse: true, why: 'prototype-pollution keys' };
  if (!schema) return { refuse: false, why: 'JSON where no body is expected' };
  let verdict: Verdict;
  try {
    verdict = schemaVerdict(schema, value);
  } catch {
    verdict = 'unknown'; // too deep to read here
  }
  if (verdict === 'invalid') return { refuse: true, why: 'breaks the body schema' };
  return { refuse: false, why: bom || odd ? 'a BOM or an odd content-type parameter' : verdict === 'valid' ? 'fits the body schema' : 'schema fit uncertain' };
}

// ── Raw bodies: bytes, encodings, depth, size ──────────────────────────────────────────────────────

export interface RawCase {
  what: string;
  body?: string | Uint8Array;
  contentType?: string;
  pollutes?: boolean;
  /** GraphQL: refused for certain by the GraphQL rules or the gateway's limits (the bytes are judged by bodyVerdict). */
  refuse?: boolean;
}

const INVALID_UTF8: number[][] = [
  [0xff],
  [0xfe, 0xff],
  [0xc3, 0x28],
  [0xa0, 0xa1],
  [0xe2, 0x28, 0xa1],
  [0xf0, 0x28, 0x8c, 0xbc],
  [0xed, 0xa0, 0x80], // an encoded surrogate
  [0xc0, 0xaf], // an overlong '/'
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
];

const bytes = (...parts: (string | number[] | Uint8Array)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p as number[]))));

/** The raw cases tried on every operation that takes a body (`base` is a valid-shaped body), `bodyLimit` the services' limit. */
export function rawCases(base: unknown, bodyLimit: number, random: () => number, options: { oversized: boolean; deep: number }): RawCase[] {
  const baseText = JSON.stringify(base ?? {});
  const firstString = Object.entries((base ?? {}) as Record<string, unknown>).find(([, v]) => typeof v === 'string')?.[0] ?? 'name';
  const cases: RawCase[] = [];
  for (const size of [1, 7, 64, 1024]) cases.push({ what: `random bytes (${size})`, body: randomBytes(size) });
  for (const seq of INVALID_UTF8) cases.push({ what: `bad UTF-8 ${Buffer.from(seq).toString('hex')} in a string`, body: bytes(`{"${firstString}":"a`, seq, '"}') });
  cases.push({ what: 'bad UTF-8 in a key', body: bytes('{"', [0xff, 0xfe], '":1}') });
  cases.push({ what: 'latin-1 declared charset', body: bytes('{"', [0xe9], '":1}'), contentType: 'application/json; charset=iso-8859-1' });
  cases.push({ what: 'UTF-16 body', body: Buffer.from(baseText, 'utf16le'), contentType: 'application/json; charset=utf-16' });
  cases.push({ what: 'BOM then JSON', body: bytes([0xef, 0xbb, 0xbf], baseText) });
  cases.push({ what: 'truncated JSON', body: baseText.slice(0, Math.max(1, Math.floor(baseText.length / 2))) });
  cases.push({ what: 'empty body', body: '' });
  cases.push({ what: 'JSON null', body: 'null' });
  cases.push({ what: 'JSON with a comment', body: `/* c */${baseText}` });
  cases.push({ what: 'trailing garbage', body: `${baseText}}}}` });
  cases.push({ what: 'duplicate keys', body: baseText.replace(/^\{/, '{"a":1,"a":2,') });
  cases.push({ what: 'number overflow 1e999', body: baseText.replace(/^\{/, '{"n":1e999,') });
  cases.push({ what: 'NaN literal', body: '{"a":NaN}' });
  cases.push({ what: 'escaped NUL and lone surrogates', body: '{"a":"\\u0000\\ud800\\udfff\\udc00"}' });
  cases.push({ what: `deep array (${options.deep} levels)`, body: `${'['.repeat(options.deep)}${']'.repeat(options.deep)}` });
  cases.push({ what: `deep object (${options.deep} levels)`, body: `${'{"a":'.repeat(options.deep)}1${'}'.repeat(options.deep)}` });
  cases.push({ what: `deep value in the body (${options.deep} levels)`, body: baseText.replace(/^\{/, `{"deep":${'['.repeat(options.deep)}${']'.repeat(options.deep)},`) });
  cases.push({ what: 'wide object (20,000 keys)', body: `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${i}`).join(',')}}` });
  cases.push({ what: 'prototype pollution keys (top level)', body: pollutedJson(base), pollutes: true });
  cases.push({ what: 'text/plain', body: baseText, contentType: 'text/plain' });
  cases.push({ what: 'form encoded', body: 'a=1&__proto__[isAdmin]=1', contentType: 'application/x-www-form-urlencoded' });
  cases.push({ what: 'multipart', body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n', contentType: 'multipart/form-data; boundary=x' });
  cases.push({ what: 'xml', body: '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>', contentType: 'application/xml' });
  cases.push({ what: 'no content type', body: baseText, contentType: '' });
  cases.push({ what: 'content type garbage', body: baseText, contentType: 'application/json;;;; charset=??' });
  cases.push({ what: 'octet-stream', body: randomBytes(32), contentType: 'application/octet-stream' });
  if (options.oversized) {
    cases.push({ what: 'oversized JSON (limit + 1 KB)', body: JSON.stringify({ big: 'z'.repeat(bodyLimit + 1024) }) });
    cases.push({ what: 'oversized random bytes (4 x limit)', body: randomBytes(bodyLimit * 4) });
  }
  // A few random JSON-ish strings of printable garbage.
  for (let i = 0; i < 3; i++) cases.push({ what: 'printable garbage', body: Array.from({ length: 20 + Math.floor(random() * 200) }, () => String.fromCharCode(32 + Math.floor(random() * 95))).join('') });
  return cases;
}

/** Path parameter values: a plausible one (given), well-formed unknown ids, and implausible ones. */
export function pathValues(plausible: string[]): { what: string; value: string }[] {
  return [
    ...plausible.map((value) => ({ what: 'plausible', value: encodeURIComponent(value) })),
    { what: 'unknown id', value: `drill8-${randomBytes(6).toString('hex')}` },
    { what: 'uuid', value: '00000000-0000-0000-0000-000000000000' },
    { what: 'long', value: 'a'.repeat(3000) },
    { what: 'encoded NUL', value: 'a%00b' },
    { what: 'traversal', value: '..%2F..%2Fetc%2Fpasswd' },
    { what: 'bad percent-encoding', value: '%E0%A4%A' },
    { what: 'encoded invalid UTF-8', value: '%FF%FE%C3%28' },
    { what: 'emoji', value: '%F0%9F%92%A9' },
    { what: 'sql', value: encodeURIComponent("' OR 1=1 --") },
    { what: '__proto__', value: '__proto__' },
    { what: 'constructor', value: 'constructor' },
    { what: 'spaces and quotes', value: encodeURIComponent(' "<script>" ') },
    { what: 'negative number', value: '-1' },
  ];
}

/** Query strings that break each documented query parameter, and the qs-style pollution forms. */
export function queryValues(query: Operation['query']): { what: string; value: string }[] {
  const out: { what: string; value: string }[] = [
    { what: 'proto in query', value: '__proto__[isAdmin]=1&constructor[prototype][isAdmin]=1' },
    { what: 'unknown query parameter', value: 'drill8=1' },
    { what: 'bad percent-encoding in query', value: 'a=%E0%A4%A&b=%FF' },
  ];
  for (const { name } of query) {
    for (const [what, value] of [
      ['empty', ''],
      ['not a number', 'abc'],
      ['negative', '-1'],
      ['huge', '1e400'],
      ['long', 'q'.repeat(3000)],
      ['NUL', '%00'],
    ])
      out.push({ what: `${name} ${what}`, value: `${name}=${value}` });
    out.push({ what: `${name} repeated`, value: `${name}=a&${name}=b` });
    out.push({ what: `${name} as an object`, value: `${name}[a]=1&${name}[__proto__][isAdmin]=1` });
  }
  return out;
}

// ── GraphQL ─────────────────────────────────────────────────────────────────────────────────────────

/** Malformed GraphQL requests (query texts, variables, batches), as raw bodies. */
export function graphqlCases(ids: { sessionId: string; visitorId: string }, options: { deep: number }): RawCase[] {
  const q = (query: unknown, variables?: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ query, ...(variables === undefined ? {} : { variables }), ...extra });
  const cases: RawCase[] = [];
  const add = (what: string, body: string | Uint8Array, contentType?: string, refuse = true) => cases.push({ what, body, refuse, ...(contentType === undefined ? {} : { contentType }) });
  /** Well-formed GraphQL whose answer depends on the data or the product (not refused for certain). */
  const maybe = (what: string, body: string | Uint8Array, contentType?: string) => add(what, body, contentType, false);
  const lenient = new Set(['{ session(id: "\\u0000") { sessionId } }', '{ session(id: "\\ud800") { sessionId } }']);
  for (const text of ['{', '}', '{ session(id: ) { id } }', 'query {', 'mutation', 'subscription { }', '{ session(id: "x") { sessionId }', '"just a string"', '{ ...F }', 'fragment F on Session { ...F } { session(id: "x") { ...F } }', '{ session(id: "x") @nope { sessionId } }', '{ __typename @include }', '{ nope }', '{ session { sessionId } }', '{ session(id: 1, id: 2) { sessionId } }', 'query($a: Nope) { session(id: $a) { sessionId } }', '{ session(id: "x") { sessionId(arg: 1) } }', '{ session(id: "\\u0000") { sessionId } }', '{ session(id: "\\ud800") { sessionId } }', 'query A { __typename } query A { __typename }', 'query A { __typename } query B { __typename }'])
    add(`query text ${JSON.stringify(text).slice(0, 40)}`, q(text), undefined, !lenient.has(text));
  for (const query of [null, 42, true, [], {}, ['{ __typename }']]) add(`query not a string (${JSON.stringify(query)})`, q(query));
  add('no query', JSON.stringify({ variables: {} }));
  const withVar = 'query($s: ID!) { session(id: $s) { sessionId } }';
  for (const variables of ['a string', 42, [], { s: null }, { s: { a: 1 } }, { s: [1, 2] }, { s: 1.5 }, { s: 'x'.repeat(100_000) }, { s: true }])
    add(`variables ${JSON.stringify(variables).slice(0, 30)}`, q(withVar, variables), undefined, typeof variables !== 'object' || Array.isArray(variables) || typeof (variables as { s?: unknown }).s !== 'string');
  add('variables with __proto__', `{"query":${JSON.stringify('query($d: JSONObject) { __typename }')},"variables":{"__proto__":${JSON.stringify(pollution())},"d":{"__proto__":${JSON.stringify(pollution())}}}}`);
  for (const [what, mutation, variables, refuse] of [
    ['setSessionVariables wrong value type', 'mutation($s: ID!, $v: [NameValueInput!]!) { setSessionVariables(sessionId: $s, values: $v) { name } }', { s: ids.sessionId, v: [{ name: 1, value: { a: [1] } }] }, true],
    ['setSessionVariables values not a list', 'mutation($s: ID!, $v: [NameValueInput!]!) { setSessionVariables(sessionId: $s, values: $v) { name } }', { s: ids.sessionId, v: 'x' }, true],
    ['setSessionVariables proto name', 'mutation($s: ID!) { setSessionVariables(sessionId: $s, values: [{ name: "__proto__", value: "x" }, { name: "constructor", value: 1 }]) { name } }', { s: ids.sessionId }, false],
    ['submitVisitorVariables proto data', 'mutation($v: ID!, $d: JSONObject) { submitVisitorVariables(visitorId: $v, data: $d, signing: plain, replaceExisting: false) { visitorId } }', { v: ids.visitorId, d: 'PROTO' }, true],
    ['submitVisitorVariables data a list', 'mutation($v: ID!, $d: JSONObject) { submitVisitorVariables(visitorId: $v, data: $d, signing: plain, replaceExisting: false) { visitorId } }', { v: ids.visitorId, d: [1, 2] }, true],
    ['submitVisitorVariables bad signing enum', 'mutation($v: ID!) { submitVisitorVariables(visitorId: $v, signing: HS512, replaceExisting: false) { visitorId } }', { v: ids.visitorId }, false],
    ['submitVisitorVariables signed without token', 'mutation($v: ID!) { submitVisitorVariables(visitorId: $v, signing: HS256, replaceExisting: true) { visitorId } }', { v: ids.visitorId }, false],
    ['authenticate garbage token', 'mutation($s: ID!) { authenticate(sessionId: $s, token: "a.b.c") { authenticated reason } }', { s: ids.sessionId }, false],
    ['startSession wrong types', 'mutation { startSession(channelId: 12, sessionVariableValues: [{ name: "", value: null }]) { sessionId } }', undefined, true],
    ['startSession huge variable list', `mutation { startSession(channelId: "web", sessionVariableValues: [${Array.from({ length: 2000 }, (_, i) => `{ name: "n${i}", value: ${i} }`).join(',')}]) { sessionId } }`, undefined, false],
    ['endSession bad enum', 'mutation($s: ID!) { endSession(sessionId: $s, reason: NOPE) { sessionStatus } }', { s: ids.sessionId }, true],
    ['recordSessionEvent missing fields', 'mutation($s: ID!) { recordSessionEvent(sessionId: $s, type: MESSAGE) { sessionStatus } }', { s: ids.sessionId }, false],
    ['sessionVariables bad asOf', 'query($s: ID!) { sessionVariables(sessionId: $s, asOf: "yesterday") { name } }', { s: ids.sessionId }, false],
    ['visitor id too long', 'query($v: ID!) { visitor(id: $v) { visitorId } }', { v: 'v'.repeat(5000) }, false],
    ['subscription over HTTP', 'subscription($s: ID!) { sessionStatusChanged(sessionId: $s) { sessionStatus } }', { s: ids.sessionId }, false],
  ] as const) {
    const body = variables && (variables as Record<string, unknown>).d === 'PROTO'
      ? `{"query":${JSON.stringify(mutation)},"variables":{"v":${JSON.stringify(ids.visitorId)},"d":{"__proto__":${JSON.stringify(pollution())},"constructor":{"prototype":${JSON.stringify(pollution())}},"ok":1}}}`
      : q(mutation, variables);
    add(what, body, undefined, refuse);
  }
  add(`deep selection (${options.deep} levels)`, q(`{ session(id: "x") ${'{ visitor '.repeat(options.deep)}{ visitorId }${' }'.repeat(options.deep)} }`));
  add('deep list type', q(`query($a: ${'['.repeat(500)}ID${']'.repeat(500)}) { __typename }`));
  add('deep JSON variables', `{"query":"query($d: JSONObject) { __typename }","variables":{"d":${'{"a":'.repeat(options.deep)}1${'}'.repeat(options.deep)}}}`);
  add('huge query (20,000 aliases)', q(`{ ${Array.from({ length: 20_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`));
  maybe('huge string literal', q(`{ session(id: "${'s'.repeat(200_000)}") { sessionId } }`));
  maybe('many fragments', q(`{ ...F0 } ${Array.from({ length: 2000 }, (_, i) => `fragment F${i} on Query { __typename ${i < 1999 ? `...F${i + 1}` : ''} }`).join(' ')}`));
  maybe('introspection deep', q(`{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }`));
  maybe('batched garbage', JSON.stringify([{ query: '{' }, { query: 42 }, null, 'x', { query: '{ __typename }' }]));
  maybe('batched 1000', JSON.stringify(Array.from({ length: 1000 }, () => ({ query: '{ __typename }' }))));
  maybe('empty batch', '[]');
  add('operationName unknown', q('query A { __typename }', undefined, { operationName: 'B' }));
  add('operationName not a string', q('{ __typename }', undefined, { operationName: { a: 1 } }));
  maybe('extensions garbage', q('{ __typename }', undefined, { extensions: { persistedQuery: { version: 1, sha256Hash: 'nope' } } }));
  for (const seq of INVALID_UTF8) add(`bad UTF-8 in the query ${Buffer.from(seq).toString('hex')}`, bytes('{"query":"{ session(id: \\"', seq, '\\") { sessionId } }"}'));
  add('random bytes', randomBytes(256));
  maybe('graphql content type', '{ __typename }', 'application/graphql');
  maybe('text/plain', q('{ __typename }'), 'text/plain');
  maybe('form encoded', 'query=%7B__typename%7D', 'application/x-www-form-urlencoded');
  add('oversized query', JSON.stringify({ query: `{ __typename } #${'c'.repeat(1024 * 1024)}` }));
  add(`deep JSON body (${options.deep} levels)`, `${'['.repeat(options.deep)}${']'.repeat(options.deep)}`);
  return cases;
}

// ── Sending and judging ────────────────────────────────────────────────────────────────────────────

export interface RawAnswer {
  status: number;
  text: string;
  body: unknown;
  /** A transport failure (no HTTP answer at all). */
  error?: string;
}

/**
 * One request over a plain socket, for bodies over the limit: a server that refuses an oversized body
 * by its declared length answers 413 at once and closes, and a client still uploading may then lose
 * that answer to the reset (fetch reports a failed request although the answer was sent). This one
 * writes the head, reads an early answer, and sends the body only when none came within 5 s (a loaded
 * CI machine took more than 1 s). A try that still got no HTTP answer (the reset won the race) is
 * made once more, and only a second failure counts: the drill judges the server's answer, not the race.
 */
export async function sendOverSocket(url: string, init: { method: string; authorization?: string; body: string | Uint8Array; contentType?: string }): Promise<RawAnswer> {
  const first = await sendOverSocketOnce(url, init);
  if (first.status !== 0) return first;
  const second = await sendOverSocketOnce(url, init);
  return second.status !== 0 ? second : { ...second, error: `${first.error}; again: ${second.error}` };
}

function sendOverSocketOnce(url: string, init: { method: string; authorization?: string; body: string | Uint8Array; contentType?: string }): Promise<RawAnswer> {
  const target = new URL(url);
  const body = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : Buffer.from(init.body);
  const head = [
    `${init.method} ${target.pathname}${target.search} HTTP/1.1`,
    `host: ${target.host}`,
    'connection: close',
    `content-length: ${body.length}`,
    ...(init.contentType === '' ? [] : [`content-type: ${init.contentType ?? 'application/json'}`]),
    ...(init.authorization === undefined ? [] : [`authorization: ${init.authorization}`]),
  ].join('\r\n');
  return new Promise((resolveAnswer) => {
    const chunks: Buffer[] = [];
    let writeError: string | undefined;
    const socket = connect(Number(target.port), target.hostname);
    const timer = setTimeout(() => socket.destroy(new Error('timeout')), 30_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => (writeError = error.message));
    // The head first (written below): a server that refuses by the declared length answers before any
    // byte of the body; the body is sent only when no answer came within 5 s, and is then read by its size.
    const sendBody = setTimeout(() => {
      if (chunks.length === 0 && !socket.destroyed) socket.end(body);
    }, 5000);
    socket.on('close', () => {
      clearTimeout(timer);
      clearTimeout(sendBody);
      const raw = Buffer.concat(chunks).toString('utf8');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(raw);
      if (!match) return resolveAnswer({ status: 0, text: '', body: undefined, error: `no HTTP answer (${writeError ?? 'closed'})` });
      const split = raw.indexOf('\r\n\r\n');
      const headers = raw.slice(0, split).toLowerCase();
      let text = raw.slice(split + 4);
      if (headers.includes('transfer-encoding: chunked')) text = text.replace(/(?:^|\r\n)[0-9a-f]+\r\n/g, '').replace(/\r\n$/, '');
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      resolveAnswer({ status: Number(match[1]), text, body: parsed });
    });
    socket.write(`${head}\r\n\r\n`);
  });
}

/** One request with a raw body (bytes allowed); never throws (a transport failure is `status 0`). */
export async function sendRaw(url: string, init: { method: string; authorization?: string; body?: string | Uint8Array; contentType?: string }): Promise<RawAnswer> {
  const headers: Record<string, string> = {};
  if (init.authorization !== undefined) headers.authorization = init.authorization;
  if (init.body !== undefined && init.contentType !== '') headers['content-type'] = init.contentType ?? 'application/json';
  try {
    const response = await fetch(url, { method: init.method, headers, ...(init.body === undefined ? {} : { body: init.body }), signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, text, body };
  } catch (error) {
    return { status: 0, text: '', body: undefined, error: error instanceof Error ? `${error.message}${error.cause ? ` (${String((error.cause as Error).message ?? error.cause)})` : ''}` : String(error) };
  }
}

export type Surface = 'rest' | 'salesiq' | 'graphql';

export const surfaceOf = (path: string): Surface => (path.startsWith('/api/v2/') ? 'salesiq' : path === '/graphql' ? 'graphql' : 'rest');

const UPPER_SNAKE = /^[A-Z][A-Z0-9_]*$/;

/**
 * Whether a 4xx answer has its surface's error body:
 * - rest: `{ error: { code: UPPER_SNAKE, message: string } }` (DESIGN.md section 5);
 * - salesiq (/api/v2/…): `{ error: { code: <integer>, message: string } }` (SalesIQ's own shape);
 * - graphql: a non-empty `errors` array whose every entry has a string `message` and an UPPER_SNAKE
 *   `extensions.code`; when the answer also carries `error` (refused before GraphQL ran), that one has
 *   the rest shape too.
 * A 2xx GraphQL answer with `errors` is judged by the same rule.
 */
export function errorShapeHolds(surface: Surface, answer: RawAnswer): boolean {
  const body = answer.body as { error?: { code?: unknown; message?: unknown }; errors?: { message?: unknown; extensions?: { code?: unknown } }[] } | undefined;
  if (typeof body !== 'object' || body === null) return false;
  const rest = (e: typeof body.error) => typeof e === 'object' && e !== null && typeof e.code === 'string' && UPPER_SNAKE.test(e.code) && typeof e.message === 'string';
  if (surface === 'rest') return rest(body.error);
  if (surface === 'salesiq') return typeof body.error === 'object' && body.error !== null && Number.isInteger(body.error.code) && typeof body.error.message === 'string';
  const errors = body.errors;
  if (!Array.isArray(errors) || errors.length === 0) return false;
  if (!errors.every((e) => typeof e?.message === 'string' && typeof e.extensions?.code === 'string' && UPPER_SNAKE.test(e.extensions.code))) return false;
  return body.error === undefined || rest(body.error);
}

/** A small deterministic generator (mulberry32), so a failing run can be told apart from noise. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
