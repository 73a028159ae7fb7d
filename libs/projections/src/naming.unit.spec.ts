import { describe, expect, it } from '@jest/globals';
import {
  assertValidIdentity,
  baseTableName,
  checkpointKey,
  indexName,
  MAX_IDENTIFIER_LENGTH,
  nextRebuildTableName,
  rebuildCheckpointKey,
  tableGeneration,
} from './naming.js';
import { defineDocumentProjection, defineProjection } from './projection.js';

describe('table naming', () => {
  it('puts the version in the table name, so a new version builds beside the old one', () => {
    expect(baseTableName({ name: 'session_list', version: 1 })).toBe('rm_session_list_v1');
    expect(baseTableName({ name: 'session_list', version: 2 })).toBe('rm_session_list_v2');
    expect(checkpointKey({ name: 'session_list', version: 2 })).toBe('session_list_v2');
    expect(rebuildCheckpointKey({ name: 'session_list', version: 2 })).toBe('session_list_v2:rebuild');
  });

  it('reads the rebuild generation of a table, and ignores tables of other projections', () => {
    const base = 'rm_counters_v1';
    expect(tableGeneration(base, 'rm_counters_v1')).toBe(0);
    expect(tableGeneration(base, 'rm_counters_v1_b3')).toBe(3);
    expect(tableGeneration(base, 'rm_counters_v1_b03')).toBeUndefined();
    expect(tableGeneration(base, 'rm_counters_v1_bx')).toBeUndefined();
    expect(tableGeneration(base, 'rm_counters_v12')).toBeUndefined();
    expect(tableGeneration(base, 'rm_counters_v1_extra_v1')).toBeUndefined();
  });

  it('names the next rebuild one generation above every table that exists', () => {
    const base = 'rm_counters_v1';
    expect(nextRebuildTableName(base, [base])).toBe('rm_counters_v1_b1');
    expect(nextRebuildTableName(base, ['rm_counters_v1_b1'])).toBe('rm_counters_v1_b2');
    // A leftover of an interrupted rebuild is never reused as the name of the next one.
    expect(nextRebuildTableName(base, ['rm_counters_v1_b2', 'rm_counters_v1_b7', 'rm_other_v1_b9'])).toBe(
      'rm_counters_v1_b8',
    );
  });

  it('keeps index names within the identifier limit, distinct for distinct long names', () => {
    expect(indexName('rm_counters_v1', 'by_org')).toBe('rm_counters_v1_by_org');
    const long = `rm_${'x'.repeat(44)}_v1_b12`;
    const a = indexName(long, 'by_organisation_and_brand');
    const b = indexName(long, 'by_organisation_and_brand_2');
    expect(a.length).toBeLessThanOrEqual(MAX_IDENTIFIER_LENGTH);
    expect(b.length).toBeLessThanOrEqual(MAX_IDENTIFIER_LENGTH);
    expect(a).not.toBe(b);
    expect(indexName(long, 'by_organisation_and_brand')).toBe(a);
  });

  it('refuses names that would not make a safe, untruncated table name', () => {
    expect(() => assertValidIdentity({ name: 'Sessions', version: 1 })).toThrow(/must match/);
    expect(() => assertValidIdentity({ name: 'sessions; drop', version: 1 })).toThrow(/must match/);
    expect(() => assertValidIdentity({ name: 'sessions', version: 0 })).toThrow(/version/);
    expect(() => assertValidIdentity({ name: 'sessions', version: 1.5 })).toThrow(/version/);
    expect(() => assertValidIdentity({ name: 'x'.repeat(60), version: 1 })).toThrow(/too long/);
    expect(() => assertValidIdentity({ name: 'x'.repeat(45), version: 1 })).not.toThrow();
  });
});

describe('projection definitions', () => {
  const base = { name: 'counters', version: 1, canHandle: ['A'], documentId: () => 'id', evolve: () => null };

  it('validates index names and fields, which end up in SQL', () => {
    expect(defineDocumentProjection({ ...base, indexes: [{ name: 'by_org', fields: ['org.id'] }] }).kind).toBe('document');
    expect(() => defineDocumentProjection({ ...base, indexes: [{ name: 'By Org', fields: ['org'] }] })).toThrow(/Index name/);
    expect(() => defineDocumentProjection({ ...base, indexes: [{ name: 'by_org', fields: ["org'}"] }] })).toThrow(/field/);
    expect(() => defineDocumentProjection({ ...base, indexes: [{ name: 'by_org', fields: [] }] })).toThrow(/no fields/);
  });

  it('marks the lower-level kind', () => {
    const custom = defineProjection({ name: 'totals', version: 3, setup: async () => undefined, apply: async () => undefined });
    expect(custom.kind).toBe('custom');
    expect(() => defineProjection({ name: '9totals', version: 1, setup: async () => undefined, apply: async () => undefined })).toThrow();
  });
});
