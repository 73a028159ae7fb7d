import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { INTEGRATION_EVENTS, buildAsyncApiDocument } from '@svp/contracts';
import { parse, stringify } from 'yaml';

const file = resolve(import.meta.dirname, '../../docs/asyncapi.yaml');

describe('docs/asyncapi.yaml', () => {
  const generated = buildAsyncApiDocument();

  it('is the document generated from the zod contracts (UPDATE_DOCS=1 npm test -- tools/docs rewrites it)', () => {
    if (process.env.UPDATE_DOCS === '1') writeFileSync(file, `# Generated from libs/contracts by tools/docs/asyncapi.unit.spec.ts; do not edit.\n${stringify(generated)}`);
    expect(existsSync(file)).toBe(true);
    expect(parse(readFileSync(file, 'utf8'))).toEqual(JSON.parse(JSON.stringify(generated)));
  });

  it('describes every topic and every event version of the contracts', () => {
    const topics = Object.values(generated.channels).map((c) => (c as { address: string }).address);
    expect(topics.sort()).toEqual(Object.keys(INTEGRATION_EVENTS).sort());
    const count = Object.values(INTEGRATION_EVENTS).reduce((n, list) => n + list.length, 0);
    expect(Object.keys(generated.components.messages)).toHaveLength(count);
    expect(generated.components.messages).toHaveProperty('SessionVariablesChangedV1.payload.properties.data');
  });
});
