import type { z } from 'zod';
import { ApiKeyIssuedV1 } from './identity/api-key-issued.v1.js';
import { ApiKeyRevokedV1 } from './identity/api-key-revoked.v1.js';
import { BrandCreatedV1 } from './identity/brand-created.v1.js';
import { IdentityVerifiedV1 } from './identity/identity-verified.v1.js';
import { OrgCreatedV1 } from './identity/org-created.v1.js';
import { SigningKeyChangedV1 } from './identity/signing-key-changed.v1.js';
import { MessageRecordedV1 } from './sessions/message-recorded.v1.js';
import { SessionAssignedV1 } from './sessions/session-assigned.v1.js';
import { SessionBlockedV1 } from './sessions/session-blocked.v1.js';
import { SessionEndedV1 } from './sessions/session-ended.v1.js';
import { SessionStartedV1 } from './sessions/session-started.v1.js';
import { SessionStatusChangedV1 } from './sessions/session-status-changed.v1.js';
import { SessionVariablesChangedV1 } from './variables/session-variables-changed.v1.js';
import { SessionVariablesDiscardedV1 } from './variables/session-variables-discarded.v1.js';
import { VisitorErasedV1 } from './variables/visitor-erased.v1.js';
import { VisitorVariablesChangedV1 } from './variables/visitor-variables-changed.v1.js';
import { TOPICS } from '../topics.js';

export * from './identity/api-key-issued.v1.js';
export * from './identity/api-key-revoked.v1.js';
export * from './identity/brand-created.v1.js';
export * from './identity/identity-verified.v1.js';
export * from './identity/org-created.v1.js';
export * from './identity/signing-key-changed.v1.js';
export * from './sessions/message-recorded.v1.js';
export * from './sessions/session-assigned.v1.js';
export * from './sessions/session-blocked.v1.js';
export * from './sessions/session-ended.v1.js';
export * from './sessions/session-started.v1.js';
export * from './sessions/session-status-changed.v1.js';
export * from './variables/session-variables-changed.v1.js';
export * from './variables/session-variables-discarded.v1.js';
export * from './variables/visitor-erased.v1.js';
export * from './variables/visitor-variables-changed.v1.js';

/**
 * The registry of integration events: topic → event schemas. Consumers parse with it (and
 * dead-letter what fails); the AsyncAPI document is generated from it.
 */
export const INTEGRATION_EVENTS = {
  [TOPICS.identity]: [OrgCreatedV1, BrandCreatedV1, ApiKeyIssuedV1, ApiKeyRevokedV1, SigningKeyChangedV1, IdentityVerifiedV1],
  [TOPICS.sessions]: [SessionStartedV1, SessionStatusChangedV1, SessionAssignedV1, MessageRecordedV1, SessionEndedV1, SessionBlockedV1],
  [TOPICS.variables]: [SessionVariablesChangedV1, SessionVariablesDiscardedV1, VisitorVariablesChangedV1, VisitorErasedV1],
} as const;

type Schemas = (typeof INTEGRATION_EVENTS)[keyof typeof INTEGRATION_EVENTS][number];
export type IntegrationEvent = z.infer<Schemas>;

/** Finds the schema of `type` at `version` on `topic`, if the contract knows it. */
export function integrationEventSchema(topic: string, type: string, version: number): z.ZodType | undefined {
  const schemas = (INTEGRATION_EVENTS as Record<string, readonly z.ZodObject[]>)[topic] ?? [];
  return schemas.find((s) => {
    const shape = s.shape as { type: z.ZodLiteral<string>; version: z.ZodLiteral<number> };
    return shape.type.value === type && shape.version.value === version;
  });
}
