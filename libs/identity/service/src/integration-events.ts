import { type ApiKeyIssuedV1, type OrgCreatedV1, TOPICS } from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import type { OrgEvent } from '@svp/identity-domain';
import type { OutgoingMessage } from '@svp/messaging';
import { integrationMessage } from '@svp/service-kit';

/** Identity's stored events published on identity.events.v1 (keyed by org id); never secrets. */
export function toIntegrationMessages(event: RecordedEvent): OutgoingMessage[] {
  const domain = { type: event.type, data: event.data } as OrgEvent;
  const base = { eventId: event.eventId, occurredAt: event.recordedAt.toISOString() };
  let envelope: OrgCreatedV1 | ApiKeyIssuedV1;
  switch (domain.type) {
    case 'OrgCreated':
      envelope = { ...base, orgId: domain.data.orgId, type: 'OrgCreated', version: 1, data: { orgId: domain.data.orgId, name: domain.data.name } };
      break;
    case 'ApiKeyIssued':
      envelope = {
        ...base,
        orgId: domain.data.orgId,
        type: 'ApiKeyIssued',
        version: 1,
        data: { keyId: domain.data.keyId, keyHash: domain.data.keyHash, scopes: domain.data.scopes },
      };
      break;
    default:
      return [];
  }
  return [integrationMessage(TOPICS.identity, envelope.orgId, envelope)];
}
