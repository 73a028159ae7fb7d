import type { EventEnvelope } from '@svp/contracts';
import type { OutgoingMessage } from '@svp/messaging';

/**
 * An integration event as a Kafka message: the JSON envelope as value, keyed by the aggregate id
 * (order holds per key), with the envelope's id, type and version also in headers so consumers and
 * operators can route or skip without parsing the body.
 */
export function integrationMessage(topic: string, key: string, envelope: Pick<EventEnvelope, 'eventId' | 'type' | 'version'>): OutgoingMessage {
  return {
    topic,
    key,
    value: JSON.stringify(envelope),
    headers: { 'x-event-id': envelope.eventId, 'x-event-type': envelope.type, 'x-event-version': String(envelope.version) },
  };
}
