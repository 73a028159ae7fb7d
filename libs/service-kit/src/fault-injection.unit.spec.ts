import { crashPlanFromEnv, outboxCrashHook } from './fault-injection.js';

describe('crash points for the drills', () => {
  it('installs nothing unless SVP_FAULT_CRASH_AT is set', () => {
    expect(crashPlanFromEnv({})).toBeUndefined();
    expect(outboxCrashHook(undefined)).toBeUndefined();
  });

  it('reads the point and the batch, and refuses anything else at start-up', () => {
    expect(crashPlanFromEnv({ SVP_FAULT_CRASH_AT: 'outbox:after-publish', SVP_FAULT_CRASH_AFTER: '3' })).toEqual({ point: 'outbox:after-publish', after: 3 });
    expect(crashPlanFromEnv({ SVP_FAULT_CRASH_AT: 'outbox:before-publish' })).toEqual({ point: 'outbox:before-publish', after: 1 });
    expect(() => crashPlanFromEnv({ SVP_FAULT_CRASH_AT: 'relay' })).toThrow(/must be one of outbox:before-publish, outbox:after-publish/);
    expect(() => crashPlanFromEnv({ SVP_FAULT_CRASH_AT: 'outbox:after-publish', SVP_FAULT_CRASH_AFTER: '0' })).toThrow(/SVP_FAULT_CRASH_AFTER/);
  });

  it('crashes once, at the chosen batch reaching the chosen point', () => {
    const crashes: string[] = [];
    const hook = outboxCrashHook({ point: 'outbox:after-publish', after: 2 }, (point) => crashes.push(point))!;
    hook('before-publish');
    hook('after-publish');
    expect(crashes).toEqual([]);
    hook('before-publish');
    hook('after-publish');
    expect(crashes).toEqual(['outbox:after-publish']);
    hook('after-publish');
    expect(crashes).toHaveLength(1);
  });
});
