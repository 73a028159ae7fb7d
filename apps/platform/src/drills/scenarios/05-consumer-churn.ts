import type { ServiceInstance } from '../../distributed.js';
import { freePort } from '../../distributed.js';
import { Checks, type Drill, type DrillOutcome, formatCount, sleep, until } from '../drill.js';
import { consumerGroups, totalConsumerLag } from '../probes.js';
import { findOnTopics, keepDiscards, readBackEndedSessions, seconds, startSessionLoad } from './kafka-support.js';

/**
 * Drill 5. Consumer churn: extra instances of the variables service (another process each, same
 * schema, same consumer groups, their own port) join and leave the groups every few seconds, half
 * stopped gracefully (SIGTERM) and half killed (SIGKILL), while session lifecycles run. Then every
 * extra instance is stopped, and the read-back counts: total consumer lag back to 0, every ended
 * session discarded once, the start applied once, every change counted once by sessions, every
 * integration event on its topic. A stuck rebalance shows as lag that never returns to 0.
 */
export const consumerChurnDrill: Drill = {
  id: 5,
  name: 'consumer-churn',
  title: 'start and stop consumers of one group every few seconds for a minute under load; lag returns to 0, nothing stuck',
  async run({ platform, broker, pick, log }) {
    const checks = new Checks();
    const org = await platform.newOrg('Drill 5 consumer churn');
    await keepDiscards(platform, org.apiKey);
    // The churn runs `churnMs`, and on until the group churned enough (3 joins, a stop and a kill
    // scheduled) on a slow machine, within `churnCapMs`.
    const churnMs = pick({ ci: 20_000, full: 60_000 });
    const churnCapMs = pick({ ci: 60_000, full: 120_000 });
    const everyMs = pick({ ci: 3_000, full: 4_000 });
    const maxExtra = 2;
    const maxStarting = 2;
    const concurrency = pick({ ci: 2, full: 4 });
    const load = startSessionLoad(platform, org.apiKey, { concurrency, pauseMs: pick({ ci: 150, full: 0 }), label: 'drill5' });

    // Instances start in the background (a Node process with its workers takes seconds to be
    // healthy on a busy machine): at every tick one more joins while the oldest ready one leaves,
    // stopped (SIGTERM) and killed (SIGKILL) by turns, so joins and leaves overlap as in a rollout.
    const ready: ServiceInstance[] = [];
    const pending = new Set<Promise<void>>();
    const counts = { started: 0, stopped: 0, killed: 0, startFailures: [] as string[] };
    const track = (work: Promise<void>) => {
      pending.add(work);
      void work.finally(() => pending.delete(work));
    };
    let starting = 0;
    const join = () => {
      starting++;
      track(
        freePort()
          .then((port) => platform.spawnInstance('variables', { port }))
          .then(
            (instance) => {
              ready.push(instance);
              counts.started++;
            },
            (error: unknown) => {
              counts.startFailures.push(String(error).slice(0, 200));
            },
          )
          .finally(() => starting--),
      );
    };
    let leaves = 0;
    const leave = (instance: ServiceInstance) => {
      const kill = leaves++ % 2 === 1;
      track(kill ? instance.kill().then(() => void counts.killed++) : instance.stop().then(() => void counts.stopped++));
    };
    let maxLag = 0;
    const lagWatch = setInterval(() => {
      totalConsumerLag(platform).then((lag) => (maxLag = Math.max(maxLag, lag)), () => undefined);
    }, 1000);
    const begun = Date.now();
    try {
      const churnedEnough = () => counts.started >= 3 && leaves >= 2; // leaves by turns: the first stopped, the second killed
      while (Date.now() - begun < churnCapMs && (Date.now() - begun < churnMs || !churnedEnough())) {
        const tick = Date.now();
        if (ready.length >= maxExtra) leave(ready.shift()!);
        if (starting < maxStarting) join();
        log(`  churn ${seconds(Date.now() - begun)} s: ${ready.length} extra variables instances up, ${starting} starting; ${counts.started} joined, ${counts.stopped} stopped, ${counts.killed} killed; ${load.ended} lifecycles`);
        await sleep(Math.max(0, everyMs - (Date.now() - tick)));
      }
    } finally {
      // The last ones, once started: killed and stopped by turns too.
      while (pending.size > 0) await Promise.all([...pending]);
      while (ready.length > 0) leave(ready.shift()!);
      while (pending.size > 0) await Promise.all([...pending]);
      clearInterval(lagWatch);
    }
    const churned = Date.now() - begun;
    const result = await load.stop();
    checks.check(counts.startFailures.length === 0, 'every extra instance started and answered /healthz', counts.startFailures.slice(0, 3));
    checks.check(counts.started >= 3 && counts.killed >= 1 && counts.stopped >= 1, 'the group churned: instances joined, were stopped and killed', counts);
    checks.check(result.refused.length === 0, 'every HTTP write acknowledged during the churn', result.refused.slice(0, 5));

    const settleBegun = Date.now();
    let lastLag = -1;
    const settled = await until(async () => {
      lastLag = await totalConsumerLag(platform);
      return lastLag === 0;
    }, 90_000, 500);
    const lagZeroMs = Date.now() - settleBegun;
    const groups = await consumerGroups(platform, 'variables').catch(() => undefined);
    checks.check(settled, 'total consumer lag back to 0 after the churn (within 90 s)', { lastLag, variablesGroups: groups?.consumers });
    log(`  lag ${settled ? 'back to 0' : `still ${lastLag}`} ${seconds(lagZeroMs)} s after the churn`);

    const back = await readBackEndedSessions(platform, org, result.ended);
    const onTopics = await findOnTopics(broker.brokers, org.orgId, back.expected, 30_000);
    checks.check(back.notDiscarded.length === 0, `every ended session (${formatCount(result.ended.length)}) discarded: one SessionVariablesDiscarded, no session-scope variable read, sessions' activity marked discarded`, back.notDiscarded.slice(0, 5));
    checks.check(back.missing.length === 0, 'every acknowledged write stored (SessionEnded, the three variables) and every variable change counted by sessions', back.missing.slice(0, 5));
    checks.check(back.doubled.length === 0, 'no second effect: one discard per session, the start applied once, each change counted once', back.doubled.slice(0, 5));
    checks.check(onTopics.missing.length === 0, `every integration event of the ended sessions (${formatCount(back.expected.size)}) on its topic`, onTopics.missing.slice(0, 5));

    const outcome: DrillOutcome = {
      load: `${formatCount(result.ended.length)} session lifecycles (start with 2 variables, set 1, end), ${concurrency} at a time`,
      faults: `${seconds(churned)} s of churn of extra variables instances in the same consumer groups: ${counts.started} joined, ${counts.stopped} stopped (SIGTERM), ${counts.killed} killed (SIGKILL), every ${seconds(everyMs)} s`,
      badInputs: 0,
      lost: back.notDiscarded.length + back.missing.length + onTopics.missing.length,
      doubleEffects: back.doubled.length,
      checks: checks.held,
      failures: checks.failed,
      figures: {
        churnSeconds: seconds(churned),
        instancesStarted: counts.started,
        stopped: counts.stopped,
        killed: counts.killed,
        maxLagSeen: maxLag,
        lagToZeroSeconds: settled ? seconds(lagZeroMs) : `not within ${seconds(lagZeroMs)} s (lag ${lastLag})`,
        lifecyclesPerSecond: result.rate,
        republishedMessages: onTopics.republished,
      },
    };
    return outcome;
  },
};
