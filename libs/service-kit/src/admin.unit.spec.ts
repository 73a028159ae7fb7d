import { describe, expect, it } from '@jest/globals';
import { ProjectionStatusJson } from '@svp/contracts';
import type { ProjectionStatus } from '@svp/projections';
import { projectionStatusJson } from './admin.js';

describe('GET /admin/v1/projections: a projection as JSON', () => {
  const live: ProjectionStatus = { name: 'sessions', version: 2, table: 'rm_sessions_v2', state: 'live', position: 12n, head: 12n, lag: 0n, failures: 0 };

  it('given a failed projection, then it shows the error, the failures in a row and when it retries (retryAt), as the contract says', () => {
    const failed: ProjectionStatus = { ...live, state: 'failed', position: 9n, lag: 3n, failures: 2, error: new Error('relation "rm_sessions_v2" does not exist'), retryAt: new Date('2026-12-02T16:00:02.000Z') };
    const json = projectionStatusJson(failed);
    expect(json).toEqual({
      name: 'sessions',
      version: 2,
      table: 'rm_sessions_v2',
      state: 'failed',
      position: '9',
      head: '12',
      lag: '3',
      failures: 2,
      error: 'relation "rm_sessions_v2" does not exist',
      retryAt: '2026-12-02T16:00:02.000Z',
    });
    expect(ProjectionStatusJson.parse(json)).toEqual(json);
  });

  it('given a live projection, then there is no error and no retryAt', () => {
    const json = projectionStatusJson(live);
    expect(json).toEqual({ name: 'sessions', version: 2, table: 'rm_sessions_v2', state: 'live', position: '12', head: '12', lag: '0', failures: 0 });
    expect(ProjectionStatusJson.parse(json)).toEqual(json);
  });
});
