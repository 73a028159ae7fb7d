import { BrandCreatedV1, IdentityVerifiedV1, OpaqueId, SigningKeyChangedV1, TOPICS } from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import type { MessageBus } from '@svp/messaging';
import type { SqlClient } from '@svp/postgres';
import type { ProjectionRunner } from '@svp/projections';
import { type StreamWriter, type Worker, consumerWorker } from '@svp/service-kit';
import type { Logger } from 'pino';
import { applyClaimVariables } from './apply-claim-variables/apply-claim-variables.handler.js';
import { applyVerifiedIdentity } from './apply-verified-identity/apply-verified-identity.handler.js';
import type { BrandDirectory } from './brands.js';
import { type RevokedKeys, unverifyIfRevoked } from './revoked-keys.js';
import { signedVariablesProjection, streamsSignedBy } from './index-projections.js';
import type { VariableSettingsReader } from './settings.js';
import { runSessionCommand, runVisitorCommand } from './stores.js';

export const IDENTITY_CONSUMER = 'variables.identity';

const visitorScoped = (data: IdentityVerifiedV1['data']): boolean => !!data.visitorId && (data.variables ?? []).some((v) => v.scope === 'visitor');

/**
 * IdentityVerified as this consumer accepts it: a verified identity's session id, and its visitor id
 * when visitor-scope claims are mapped for it, also name a stream and a read-model document, so each
 * must be an opaque id (as every HTTP path's is); an event where one is not goes to the dead-letter
 * topic with the reason instead of being retried.
 */
const IdentityVerifiedForSession = IdentityVerifiedV1.refine((event) => !event.data.authenticated || !event.data.sessionId || OpaqueId.safeParse(event.data.sessionId).success, {
  message: 'must be an opaque id (letters, digits, _ and -)',
  path: ['data', 'sessionId'],
}).refine((event) => !event.data.authenticated || !visitorScoped(event.data) || OpaqueId.safeParse(event.data.visitorId).success, {
  message: 'must be an opaque id (letters, digits, _ and -)',
  path: ['data', 'visitorId'],
});

export interface IdentityConsumerDeps {
  bus: MessageBus;
  sql: SqlClient;
  store: EventStore;
  writer: StreamWriter;
  settings: VariableSettingsReader;
  brands: BrandDirectory;
  revokedKeys: RevokedKeys;
  /** The service's projections: a revocation reads which streams the key vouches for from `signed_variables`. */
  projections: ProjectionRunner;
  logger: Logger;
  /** How long a revocation waits for `signed_variables` to catch up with the log. Default 30 s. */
  catchUpTimeoutMs?: number;
}

/** `sessionvars-<orgId>.<sessionId>` or `visitorvars-<orgId>.<visitorId>`, parsed (ids hold no `.`). */
function parseStream(stream: string): { kind: 'session' | 'visitor'; orgId: string; id: string } | undefined {
  const match = /^(sessionvars|visitorvars)-([^.]+)\.(.+)$/.exec(stream);
  if (!match) return undefined;
  return { kind: match[1] === 'sessionvars' ? 'session' : 'visitor', orgId: match[2]!, id: match[3]! };
}

/**
 * The variables service learns from identity.events.v1 (never from the identity service's
 * database):
 * - IdentityVerified: a successful verification becomes the session's metadata variables and its
 *   session-scope mapped claim variables and, when it names the visitor, the visitor-scope mapped
 *   claims become that visitor's variables;
 * - BrandCreated: the org's brands, whose names are the SalesIQ portals;
 * - SigningKeyChanged (revoked): every value the key vouched for is marked no longer verified (an
 *   event in each stream, visible in the history).
 * At least once from the bus, one effect per event id. The other event types are skipped.
 */
export function identityConsumer(deps: IdentityConsumerDeps): Worker {
  async function unverify(event: SigningKeyChangedV1): Promise<void> {
    const { orgId } = event;
    const { kid } = event.data;
    // Recorded first: a write of values this key vouched for that lands after the search below
    // sees it and un-verifies itself (unverifyIfRevoked).
    await deps.revokedKeys.record(orgId, kid, event.occurredAt);
    // Every value the key signed before its revocation must be found: wait until the index has
    // applied the whole log as it stands now.
    await deps.projections.waitForPosition(signedVariablesProjection.name, await deps.store.headPosition(), { timeoutMs: deps.catchUpTimeoutMs ?? 30_000 });
    const streams = await streamsSignedBy(deps.sql, await deps.projections.activeTable(signedVariablesProjection.name), orgId, kid);
    const context = { causationId: event.eventId, ...(event.correlationId ? { correlationId: event.correlationId } : {}) };
    const { limits } = await deps.settings.get(orgId);
    const now = event.occurredAt;
    let changed = 0;
    for (const stream of streams) {
      const parsed = parseStream(stream);
      if (!parsed || parsed.orgId !== orgId) continue;
      const result =
        parsed.kind === 'session'
          ? await runSessionCommand(deps.writer, { type: 'UnverifyKey', data: { orgId, sessionId: parsed.id, kid, now } }, limits, context)
          : await runVisitorCommand(deps.writer, { type: 'UnverifyKey', data: { orgId, visitorId: parsed.id, kid, now } }, limits, context);
      if (result.ok && result.events.length > 0) changed++;
    }
    deps.logger.info({ orgId, kid, streams: streams.length, changed }, 'values vouched for by a revoked signing key marked unverified');
  }

  return consumerWorker({
    name: IDENTITY_CONSUMER,
    bus: deps.bus,
    sql: deps.sql,
    logger: deps.logger,
    topics: [TOPICS.identity],
    schema: { IdentityVerified: IdentityVerifiedForSession, BrandCreated: BrandCreatedV1, SigningKeyChanged: SigningKeyChangedV1 },
    // The effects are appends to the event store, which cannot join the inbox's SQL transaction
    // (KurrentDB is another system; on PGlite, a single connection, a store transaction inside the
    // inbox's would wait for it forever). So they run before the inbox record: a crash in between
    // redelivers the event, and each command, finding an event caused by it in its stream (its
    // causationId), appends nothing, even if a later write changed the values.
    handle: async (event) => {
      if (event.type === 'BrandCreated') {
        await deps.brands.record(event.data.orgId, event.data.brandId, event.data.name);
      } else if (event.type === 'SigningKeyChanged') {
        if (event.data.change === 'revoked') await unverify(event);
      } else {
        const { limits } = await deps.settings.get(event.orgId);
        const result = await applyVerifiedIdentity(deps.writer, event, limits);
        if (result && result.ok && result.skipped && result.skipped.length > 0)
          deps.logger.warn({ orgId: event.orgId, sessionId: event.data.sessionId, eventId: event.eventId, skipped: result.skipped }, 'mapped claim variables not stored');
        // The visitor's stream is another stream: a crash between the two appends redelivers the
        // event, and each, finding its cause already in its stream, decides nothing the second time.
        const visitorResult = await applyClaimVariables(deps.writer, event, limits);
        if (visitorResult && visitorResult.ok && visitorResult.skipped && visitorResult.skipped.length > 0)
          deps.logger.warn({ orgId: event.orgId, visitorId: event.data.visitorId, eventId: event.eventId, skipped: visitorResult.skipped }, 'mapped visitor claim variables not stored');
        // Verified by a key revoked since (its revocation may have been consumed first): un-verified at once.
        const target = { orgId: event.orgId, kid: event.data.kid, limits, now: event.occurredAt };
        if (result) await unverifyIfRevoked(deps, { ...target, sessionId: event.data.sessionId });
        if (visitorResult && event.data.visitorId) await unverifyIfRevoked(deps, { ...target, visitorId: event.data.visitorId });
      }
    },
  });
}
