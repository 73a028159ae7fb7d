import { z } from 'zod';
import { EventEnvelope } from './envelope.js';
import { INTEGRATION_EVENTS } from './events/index.js';
import { dlqTopic } from './topics.js';

const PRODUCERS: Record<string, string> = {
  'identity.events.v1': 'identity',
  'sessions.events.v1': 'sessions',
  'variables.events.v1': 'variables',
};

/**
 * The AsyncAPI 3 document of the Kafka topics, generated from the zod contracts (the one source of
 * truth); docs/asyncapi.yaml is this document, checked by a test to stay equal to it.
 */
export function buildAsyncApiDocument() {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const [topic, schemas] of Object.entries(INTEGRATION_EVENTS)) {
    const channelId = topic.replace(/\./g, '_');
    const refs: Record<string, { $ref: string }> = {};
    for (const schema of schemas as readonly z.ZodObject[]) {
      const shape = schema.shape as { type: z.ZodLiteral<string>; version: z.ZodLiteral<number> };
      const name = `${shape.type.value}V${shape.version.value}`;
      messages[name] = {
        name: shape.type.value,
        title: `${shape.type.value} v${shape.version.value}`,
        contentType: 'application/json',
        headers: {
          type: 'object',
          properties: {
            'x-event-id': { type: 'string', description: 'the envelope eventId (consumers dedupe on it)' },
            'x-event-type': { type: 'string', const: shape.type.value },
            'x-event-version': { type: 'string', const: String(shape.version.value) },
            traceparent: { type: 'string', description: 'W3C Trace Context of the publish span, when tracing is on (docs/tracing.md); optional' },
            tracestate: { type: 'string', description: 'W3C Trace Context vendor state, with traceparent; optional' },
          },
        },
        payload: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
      };
      refs[name] = { $ref: `#/components/messages/${name}` };
    }
    channels[channelId] = {
      address: topic,
      description: `Integration events of the ${PRODUCERS[topic]} service, keyed by session, visitor or org id (order holds per key). Dead letters: ${dlqTopic(topic)}.`,
      messages: refs,
    };
    operations[`publish_${channelId}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${channelId}` },
      summary: `${PRODUCERS[topic]} publishes through its transactional outbox (at least once).`,
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Session & visitor variables platform: integration events',
      version: '1.0.0',
      description:
        'Every message is a JSON envelope (eventId, type, version, occurredAt, orgId, correlationId?, causationId?, data). ' +
        'Delivery is at least once: deduplicate by eventId. A new optional field may appear in any version; a breaking change is a new version.',
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages, schemas: { EventEnvelope: z.toJSONSchema(EventEnvelope, { io: 'input', unrepresentable: 'any' }) } },
  };
}
