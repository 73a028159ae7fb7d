import {
  type ApiKeyIssuedV1,
  type ApiKeyRevokedV1,
  type BrandCreatedV1,
  type IdentityVerifiedV1,
  type OrgCreatedV1,
  type SigningKeyChangedV1,
  TOPICS,
} from '@svp/contracts';
import type { RecordedEvent } from '@svp/event-store';
import type { OrgEvent, SessionIdentityEvent, SigningKeysEvent } from '@svp/identity-domain';
import type { OutgoingMessage } from '@svp/messaging';
import { integrationMessage } from '@svp/service-kit';

type Envelope = OrgCreatedV1 | ApiKeyIssuedV1 | ApiKeyRevokedV1 | BrandCreatedV1 | SigningKeyChangedV1 | IdentityVerifiedV1;

/**
 * Identity's stored events published on identity.events.v1: org-level events keyed by org id, a
 * session's verification outcomes keyed by session id. Never a secret, a key, a hash of a signing
 * key's material or a token (API key hashes only, so other services could check keys themselves).
 */
export function toIntegrationMessages(event: RecordedEvent): OutgoingMessage[] {
  const domain = { type: event.type, data: event.data } as OrgEvent | SigningKeysEvent | SessionIdentityEvent;
  const base = {
    eventId: event.eventId,
    occurredAt: event.recordedAt.toISOString(),
    ...(typeof event.metadata.correlationId === 'string' ? { correlationId: event.metadata.correlationId } : {}),
  };
  let envelope: Envelope;
  let key: string;
  switch (domain.type) {
    case 'OrgCreated':
      envelope = { ...base, orgId: domain.data.orgId, type: 'OrgCreated', version: 1, data: { orgId: domain.data.orgId, name: domain.data.name } };
      key = domain.data.orgId;
      break;
    case 'ApiKeyIssued':
      envelope = {
        ...base,
        orgId: domain.data.orgId,
        type: 'ApiKeyIssued',
        version: 1,
        data: { keyId: domain.data.keyId, keyHash: domain.data.keyHash, scopes: domain.data.scopes },
      };
      key = domain.data.orgId;
      break;
    case 'ApiKeyRevoked':
      envelope = { ...base, orgId: domain.data.orgId, type: 'ApiKeyRevoked', version: 1, data: { keyId: domain.data.keyId } };
      key = domain.data.orgId;
      break;
    case 'BrandCreated':
      envelope = {
        ...base,
        orgId: domain.data.orgId,
        type: 'BrandCreated',
        version: 1,
        data: { orgId: domain.data.orgId, brandId: domain.data.brandId, name: domain.data.name },
      };
      key = domain.data.orgId;
      break;
    case 'SigningKeyCreated':
    case 'SigningKeyRotated':
    case 'SigningKeyRevoked': {
      const d = domain.data;
      const change = domain.type === 'SigningKeyCreated' ? 'created' : domain.type === 'SigningKeyRotated' ? 'rotated' : 'revoked';
      envelope = {
        ...base,
        orgId: d.orgId,
        type: 'SigningKeyChanged',
        version: 1,
        data: {
          kid: d.kid,
          alg: d.alg,
          ...(d.brandId ? { brandId: d.brandId } : {}),
          change,
          ...(domain.type === 'SigningKeyRotated' ? { graceUntil: domain.data.graceUntil } : {}),
        },
      };
      key = d.orgId;
      break;
    }
    case 'SessionIdentityVerified': {
      const d = domain.data;
      envelope = {
        ...base,
        orgId: d.orgId,
        type: 'IdentityVerified',
        version: 1,
        data: {
          sessionId: d.sessionId,
          kid: d.kid,
          authenticated: true,
          externalId: d.externalId,
          name: d.name,
          email: d.email,
          emailVerified: d.emailVerified,
          claims: d.claims,
          externalIdScope: d.externalIdScope,
          ...(d.brandId ? { brandId: d.brandId } : {}),
          ...(d.visitorId ? { visitorId: d.visitorId } : {}),
          variables: d.variables,
        },
      };
      key = d.sessionId;
      break;
    }
    case 'SessionIdentityRejected': {
      const d = domain.data;
      envelope = {
        ...base,
        orgId: d.orgId,
        type: 'IdentityVerified',
        version: 1,
        data: {
          sessionId: d.sessionId,
          ...(d.kid ? { kid: d.kid } : {}),
          authenticated: false,
          externalId: null,
          name: null,
          email: null,
          claims: {},
          reason: d.reason,
          detail: d.detail,
        },
      };
      key = d.sessionId;
      break;
    }
    default:
      // Settings (brand linking, quota, claim mapping) stay inside identity.
      return [];
  }
  return [integrationMessage(TOPICS.identity, key, envelope)];
}
