import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from '@jest/globals';
import type { ServiceName } from '@svp/contracts';
import { call } from './slice.js';

/** Where the OpenAPI documents of the services are checked in (docs/openapi/<service>.json). */
export const OPENAPI_DIR = resolve(import.meta.dirname, '../../../../docs/openapi');

/**
 * Each service's OpenAPI document, as it serves it at /docs/json in the distributed mode (the
 * production shape; the embedded gateway adds its demo routes), equals the one checked in under
 * docs/openapi. Both come from the zod contracts (libs/service-kit/src/openapi.ts). After a change
 * to a route, `UPDATE_DOCS=1 npm test -- apps/platform/src/distributed.e2e.spec.ts` rewrites them.
 */
export async function checkOpenApiDocuments(urls: Record<ServiceName, string>): Promise<void> {
  const update = process.env.UPDATE_DOCS === '1';
  if (update) mkdirSync(OPENAPI_DIR, { recursive: true });
  for (const [name, url] of Object.entries(urls)) {
    const served = await call<Record<string, unknown>>(`${url}/docs/json`);
    expect(served.status).toBe(200);
    const file = resolve(OPENAPI_DIR, `${name}.json`);
    if (update) writeFileSync(file, `${JSON.stringify(served.body, null, 2)}\n`);
    expect({ service: name, checkedIn: existsSync(file) }).toEqual({ service: name, checkedIn: true });
    // The whole document: a route, a body's schema or an error status that changed shows here.
    expect({ service: name, document: JSON.parse(readFileSync(file, 'utf8')) }).toEqual({ service: name, document: served.body });
  }
}
