import type { Drill } from '../drill.js';
import { crashDrill } from './01-crash.js';
import { brokerOutageDrill } from './02-broker-outage.js';
import { outboxCrashPointsDrill } from './03-outbox-crash-points.js';
import { poisonMessageDrill } from './04-poison-message.js';
import { consumerChurnDrill } from './05-consumer-churn.js';
import { webhookOutageDrill } from './06-webhook-outage.js';
import { concurrencyDrill } from './07-concurrency.js';
import { badInputDrill } from './08-bad-input.js';
import { securityDrill } from './09-security.js';
import { rebuildLiveDrill } from './10-rebuild-live.js';

/** Every drill, in the order of docs/reliability.md (and of the issue that asked for them). */
export const DRILLS: readonly Drill[] = [crashDrill, outboxCrashPointsDrill, brokerOutageDrill, poisonMessageDrill, consumerChurnDrill, webhookOutageDrill, concurrencyDrill, badInputDrill, securityDrill, rebuildLiveDrill].sort((a, b) => a.id - b.id);
