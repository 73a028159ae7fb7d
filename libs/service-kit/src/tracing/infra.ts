import type { ServiceInfra } from '../runtime.js';
import { TracedMessageBus } from './traced-bus.js';
import { TracedEventStore } from './traced-store.js';

/** A service's infrastructure with spans on its event store and bus (tracing on only; docs/tracing.md). */
export function tracedInfra<I extends Pick<ServiceInfra, 'store' | 'bus'>>(infra: I): I {
  return { ...infra, store: new TracedEventStore(infra.store), bus: new TracedMessageBus(infra.bus) };
}
