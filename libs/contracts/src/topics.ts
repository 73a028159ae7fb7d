/** Kafka topics, one per producing service and contract version (DESIGN.md section 5). */
export const TOPICS = {
  identity: 'identity.events.v1',
  sessions: 'sessions.events.v1',
  variables: 'variables.events.v1',
} as const;
export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/** Dead letters of a topic. */
export const dlqTopic = (topic: string): string => `${topic}.dlq`;
