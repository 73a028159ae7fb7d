import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type BrandCreatedV1, type IdentityVerifiedV1, type OrgCreatedV1, type SigningKeyChangedV1, TOPICS, dlqTopic } from '@svp/contracts';
import { PostgresEventStore } from '@svp/event-store';
import { InProcessMessageBus, SqlInbox, SqlMessageLog, silentLogger } from '@svp/messaging';
import { PGliteSqlClient } from '@svp/postgres';
import { ProjectionRunner } from '@svp/projections';
import { StreamWriter, type Worker, integrationMessage } from '@svp/service-kit';
import { eventually, waitFor } from '@svp/testing';
import { DEFAULT_LIMITS, sessionKey, sessionVariablesStream, visitorKey, visitorVariablesStream } from '@svp/variables-domain';
import { pino } from 'pino';
import { toVariableViews } from './get-session-variables/get-session-variables.handler.js';
import { applyVerifiedIdentity } from './apply-verified-identity/apply-verified-identity.handler.js';
import { IDENTITY_CONSUMER, identityConsumer } from './identity-consumer.js';
import { BrandDirectory } from './brands.js';
import { RevokedKeys } from './revoked-keys.js';
import { type VariableSettingsDoc, signedVariablesProjection, variableSettingsProjection } from './index-projections.js';
import { VariableSettingsReader, defaultSettings } from './settings.js';
import { runSessionCommand } from './stores.js';
import { type SessionVariablesDoc, sessionVariablesProjection } from './session-variables.projection.js';
import { type VisitorVariablesDoc, visitorVariablesProjection } from './visitor-variables.projection.js';

// The real worker against a real store and bus: the embedded pairing (PGlite holding the event store,
// the read model, the inbox and the in-process bus's log), as `npm start` runs it.
let sql: PGliteSqlClient;
let store: PostgresEventStore;
let bus: InProcessMessageBus;
let runner: ProjectionRunner;
let worker: Worker;
let inbox: SqlInbox;
let writer: StreamWriter;
const orgId = `org-${randomUUID()}`;

beforeAll(async () => {
  sql = await PGliteSqlClient.open();
  store = await PostgresEventStore.create(sql, { pollIntervalMs: 50 });
  bus = new InProcessMessageBus({ log: await SqlMessageLog.create(sql, { logger: silentLogger }), retryBackoff: 20, logger: silentLogger });
  runner = new ProjectionRunner({ sql, store, projections: [sessionVariablesProjection, visitorVariablesProjection, signedVariablesProjection, variableSettingsProjection] });
  await runner.start();
  writer = new StreamWriter(store);
  const settingsDocs = runner.reader<VariableSettingsDoc>(variableSettingsProjection);
  const settings = new VariableSettingsReader(
    { get: async (id) => (await settingsDocs.get(id)) ?? undefined, waitFor: (position) => runner.waitForPosition(variableSettingsProjection.name, position) },
    defaultSettings(0),
  );
  worker = identityConsumer({ bus, sql, store, writer, settings, brands: new BrandDirectory(sql), revokedKeys: new RevokedKeys(sql), projections: runner, logger: pino({ level: 'silent' }) });
  await worker.start();
  inbox = await SqlInbox.create(sql);
});

afterAll(async () => {
  await worker?.stop();
  await runner?.stop();
  await bus?.close();
  await store?.close();
  await sql?.close();
});

const verified = (sessionId: string, overrides: Partial<IdentityVerifiedV1['data']> = {}, eventId: string = randomUUID()): IdentityVerifiedV1 => ({
  eventId,
  type: 'IdentityVerified',
  version: 1,
  occurredAt: '2026-11-21T10:00:00.000Z',
  orgId,
  correlationId: 'corr-1',
  data: {
    sessionId,
    kid: 'k1',
    authenticated: true,
    externalId: 'cust-7',
    name: 'Ann',
    email: 'ann@example.com',
    claims: { plan: 'gold', tier: 'vip' },
    variables: [
      { name: 'plan', value: 'gold', scope: 'session', claim: 'plan' },
      { name: 'tier', value: 'vip', scope: 'visitor', claim: 'tier' },
    ],
    ...overrides,
  },
});
const failed = (sessionId: string): IdentityVerifiedV1 => ({
  eventId: randomUUID(),
  type: 'IdentityVerified',
  version: 1,
  occurredAt: '2026-11-21T10:01:00.000Z',
  orgId,
  data: { sessionId, kid: 'k1', authenticated: false, externalId: null, name: null, email: null, claims: {}, reason: 'TOKEN_EXPIRED', detail: 'exp is in the past' },
});
const publish = (sessionId: string, ...events: (IdentityVerifiedV1 | OrgCreatedV1 | BrandCreatedV1 | SigningKeyChangedV1)[]) =>
  bus.publish(events.map((e) => integrationMessage(TOPICS.identity, sessionId, e)));
const docOf = async (sessionId: string): Promise<SessionVariablesDoc | undefined> =>
  (await runner.reader<SessionVariablesDoc>(sessionVariablesProjection).get(sessionKey(orgId, sessionId))) ?? undefined;
const streamOf = (sessionId: string) => store.readStream(sessionVariablesStream(orgId, sessionId));
const visitorDocOf = async (visitorId: string): Promise<VisitorVariablesDoc | undefined> =>
  (await runner.reader<VisitorVariablesDoc>(visitorVariablesProjection).get(visitorKey(orgId, visitorId))) ?? undefined;
const visitorStreamOf = (visitorId: string) => store.readStream(visitorVariablesStream(orgId, visitorId));
const deadLetters = async () => {
  const letters = [];
  const dlq = dlqTopic(TOPICS.identity);
  const partitions = await bus.log.ensureTopic(dlq, 3);
  for (let p = 0; p < partitions; p++) letters.push(...(await bus.log.read(dlq, p, 0, 100)));
  return letters;
};

describe('identity consumer (in-process bus, PGlite store)', () => {
  it('turns a verified identity into the four verified metadata variables and the mapped session variables; other event types are skipped', async () => {
    const sessionId = `s-${randomUUID()}`;
    const orgCreated: OrgCreatedV1 = { eventId: randomUUID(), type: 'OrgCreated', version: 1, occurredAt: '2026-11-21T09:00:00.000Z', orgId, data: { orgId, name: 'Acme' } };
    const event = verified(sessionId);
    // Same key, so the same partition: the OrgCreated is handled (skipped) before the verification.
    await publish(sessionId, orgCreated, event);

    const doc = await eventually(async () => {
      const d = await docOf(sessionId);
      return d && Object.keys(d.metadata).length === 4 ? d : undefined;
    }, 'the projection to show the four metadata variables');
    const fromClaim = (value: unknown) => ({ value, source: 'claim', verified: true, version: 1, updatedAt: event.occurredAt, setBy: 'claim:k1', kid: 'k1' });
    expect(doc.metadata).toEqual({
      providedName: fromClaim('Ann'),
      providedEmail: fromClaim('ann@example.com'),
      authenticatedExternalId: fromClaim('cust-7'),
      authenticatedStatus: fromClaim(true),
    });
    // The session-scope mapped claim is stored in the session; the visitor-scope one belongs to a visitor (none is named here).
    expect(doc.variables).toEqual({ plan: fromClaim('gold') });

    expect(toVariableViews(doc).map((v) => [v.name, v.value, v.scope, v.source, v.verified, v.version])).toEqual([
      ['plan', 'gold', 'session', 'claim', true, 1],
      ['providedName', 'Ann', 'metadata', 'claim', true, 1],
      ['providedEmail', 'ann@example.com', 'metadata', 'claim', true, 1],
      ['authenticatedExternalId', 'cust-7', 'metadata', 'claim', true, 1],
      ['authenticatedStatus', true, 'metadata', 'claim', true, 1],
    ]);

    // The stored events name the integration event as their cause and keep its correlation.
    const stored = await streamOf(sessionId);
    expect(stored.map((e) => [e.type, e.metadata])).toEqual([
      ['MetadataVariablesSet', { orgId, correlationId: 'corr-1', causationId: event.eventId }],
      ['SessionVariablesSet', { orgId, correlationId: 'corr-1', causationId: event.eventId }],
    ]);
    expect(await inbox.has(IDENTITY_CONSUMER, orgCreated.eventId)).toBe(false);
    expect(await deadLetters()).toEqual([]);
  });

  it('applies a redelivered event id once, and a failed verification changes nothing', async () => {
    const sessionId = `s-${randomUUID()}`;
    const first = verified(sessionId);
    await publish(sessionId, first);
    await waitFor(async () => (await docOf(sessionId))?.metadata.authenticatedStatus?.value === true, 'the first verification to be applied');

    // A redelivery of the same event id (here even with other content, so only the inbox can stop it),
    // then a failed verification, then a newer verification of the same person with another name.
    const redelivered = verified(sessionId, { name: 'Mallory', externalId: 'cust-666' }, first.eventId);
    const rejected = failed(sessionId);
    const renamed = verified(sessionId, { name: 'Ann B.' });
    await publish(sessionId, redelivered, rejected, renamed);

    // The same partition keeps their order: once the rename shows, the two before were handled.
    const doc = await eventually(async () => {
      const d = await docOf(sessionId);
      return d?.metadata.providedName?.value === 'Ann B.' ? d : undefined;
    }, 'the newer verification to be applied');
    expect(await inbox.has(IDENTITY_CONSUMER, rejected.eventId)).toBe(true);
    expect(Object.fromEntries(Object.entries(doc.metadata).map(([name, v]) => [name, [v.value, v.version]]))).toEqual({
      providedName: ['Ann B.', 2],
      providedEmail: ['ann@example.com', 1],
      authenticatedExternalId: ['cust-7', 1],
      authenticatedStatus: [true, 1],
    });
    expect(doc.variables.plan?.version).toBe(1);
    expect((await streamOf(sessionId)).map((e) => [e.type, (e.metadata as { causationId?: string }).causationId])).toEqual([
      ['MetadataVariablesSet', first.eventId],
      ['SessionVariablesSet', first.eventId],
      ['MetadataVariablesSet', renamed.eventId],
    ]);
    expect((await streamOf(sessionId)).at(-1)?.data).toMatchObject({ changes: [{ name: 'providedName', value: 'Ann B.', version: 2 }] });
  });

  it('has no second effect when its effect is stored but the inbox record was lost (a crash in between), even after a later write', async () => {
    const sessionId = `s-${randomUUID()}`;
    const event = verified(sessionId);
    // The effect, as the consumer applies it, without the inbox record that would follow.
    const first = await applyVerifiedIdentity(writer, event, DEFAULT_LIMITS);
    expect(first?.ok && first.events.length).toBeGreaterThan(0);
    // Meanwhile a widget changes the mapped variable.
    const later = await runSessionCommand(
      writer,
      { type: 'SetSessionVariables', data: { orgId, sessionId, values: [{ name: 'plan', value: 'silver' }], source: 'widget', now: '2026-11-21T10:05:00.000Z' } },
      DEFAULT_LIMITS,
    );
    expect(later.ok).toBe(true);
    const before = (await streamOf(sessionId)).length;
    // The redelivery finds its effect in the stream (by causation) and changes nothing.
    expect(await applyVerifiedIdentity(writer, event, DEFAULT_LIMITS)).toMatchObject({ ok: true, events: [], duplicate: true });
    expect(await streamOf(sessionId)).toHaveLength(before);
    // Through the bus too.
    await publish(sessionId, event);
    await waitFor(async () => inbox.has(IDENTITY_CONSUMER, event.eventId), 'the redelivered event to be recorded');
    expect(await streamOf(sessionId)).toHaveLength(before);
  });

  it('leaves a session whose verification failed unauthenticated: no event, GET shows the metadata as never set', async () => {
    const sessionId = `s-${randomUUID()}`;
    const rejected = failed(sessionId);
    await publish(sessionId, rejected);
    await waitFor(() => inbox.has(IDENTITY_CONSUMER, rejected.eventId), 'the failed verification to be handled');

    expect(await streamOf(sessionId)).toEqual([]);
    expect(await docOf(sessionId)).toBeUndefined();
    expect(toVariableViews(await docOf(sessionId)).map((v) => [v.name, v.value, v.verified, v.version, v.updatedAt])).toEqual([
      ['providedName', null, false, 0, null],
      ['providedEmail', null, false, 0, null],
      ['authenticatedExternalId', null, false, 0, null],
      ['authenticatedStatus', false, false, 0, null],
    ]);
    expect(await deadLetters()).toEqual([]);
  });

  it("applies the visitor-scope mapped claims to the visitor the verification names (verified, from claims), once per event id", async () => {
    const sessionId = `s-${randomUUID()}`;
    const visitorId = `v-${randomUUID()}`;
    const mapped = [
      { name: 'plan', value: 'gold', scope: 'session' as const, claim: 'plan' },
      { name: 'tier', value: 'vip', scope: 'visitor' as const, claim: 'tier' },
      { name: 'username', value: 'Ann', scope: 'visitor' as const, claim: 'name' },
      { name: 'providedEmail', value: 'mallory@example.com', scope: 'visitor' as const, claim: 'alt_email' },
    ];
    const first = verified(sessionId, { visitorId, variables: mapped });
    await publish(sessionId, first);

    const doc = await eventually(async () => {
      const d = await visitorDocOf(visitorId);
      return d && Object.keys(d.variables).length === 2 ? d : undefined;
    }, 'the projection to show the visitor claim variables');
    const fromClaim = (value: unknown) => ({ value, source: 'claim', verified: true, version: 1, updatedAt: first.occurredAt, setBy: 'claim:k1', kid: 'k1' });
    // A metadata name is never a visitor variable (skipped, the rest applied); `username` is the display name.
    expect(doc).toEqual({ orgId, visitorId, displayName: 'Ann', variables: { tier: fromClaim('vip'), username: fromClaim('Ann') }, retired: {} });
    await waitFor(async () => (await docOf(sessionId))?.variables.plan?.value === 'gold', 'the session-scope claim in the session');
    expect(Object.keys((await docOf(sessionId))!.variables)).toEqual(['plan']);

    // The redelivered event id (other content, so only the inbox can stop it), then a failed verification naming the visitor.
    const redelivered = verified(sessionId, { visitorId, variables: [{ name: 'tier', value: 'basic', scope: 'visitor', claim: 'tier' }] }, first.eventId);
    const rejected = { ...failed(sessionId), data: { ...failed(sessionId).data, visitorId } };
    const changed = verified(sessionId, { visitorId, variables: [{ name: 'tier', value: 'platinum', scope: 'visitor', claim: 'tier' }] });
    await publish(sessionId, redelivered, rejected, changed);
    await waitFor(async () => (await visitorDocOf(visitorId))?.variables.tier?.value === 'platinum', 'the newer claim to be applied');

    const stored = await visitorStreamOf(visitorId);
    expect(stored.map((e) => [e.type, e.metadata])).toEqual([
      ['VisitorClaimVariablesApplied', { orgId, correlationId: 'corr-1', causationId: first.eventId }],
      ['VisitorClaimVariablesApplied', { orgId, correlationId: 'corr-1', causationId: changed.eventId }],
    ]);
    expect(stored[0]!.data).toMatchObject({ sessionId, kid: 'k1', displayName: 'Ann' });
    expect(stored[1]!.data).toMatchObject({ changes: [{ name: 'tier', value: 'platinum', source: 'claim', verified: true, version: 2 }] });
    expect((await visitorDocOf(visitorId))?.variables.username?.value).toBe('Ann');
    expect(await deadLetters()).toEqual([]);
  });

  it('dead-letters a verified identity whose session id could not name a stream (not an opaque id), with the reason', async () => {
    const bad = verified('org.s1');
    await publish('org.s1', bad);
    const [letter] = await eventually(async () => {
      const letters = await deadLetters();
      return letters.length > 0 ? letters : undefined;
    }, 'the dead letter');
    expect(JSON.parse(letter!.value).eventId).toBe(bad.eventId);
    expect(JSON.stringify(letter!.headers)).toContain('data.sessionId');
    expect(await streamOf('org.s1')).toEqual([]);
  });

  it('dead-letters a verified identity whose visitor id, named for visitor-scope claims, could not name a stream', async () => {
    const sessionId = `s-${randomUUID()}`;
    const bad = verified(sessionId, { visitorId: 'org.v1' });
    await publish(sessionId, bad);
    const letter = await eventually(async () => (await deadLetters()).find((l) => JSON.parse(l.value).eventId === bad.eventId), 'the dead letter');
    expect(JSON.stringify(letter.headers)).toContain('data.visitorId');
    expect(await visitorStreamOf('org.v1')).toEqual([]);
  });

  it('records the brands of BrandCreated (the SalesIQ portals), once per brand, found by name in any case', async () => {
    const brandId = `brd_${randomUUID().slice(0, 8)}`;
    const created: BrandCreatedV1 = { eventId: randomUUID(), type: 'BrandCreated', version: 1, occurredAt: '2026-11-21T09:00:00.000Z', orgId, data: { orgId, brandId, name: 'Shop-EU' } };
    await publish(orgId, created, created);
    const brands = new BrandDirectory(sql);
    expect(await eventually(() => brands.byName(orgId, 'shop-eu'), 'the brand to be recorded')).toEqual({ brandId, name: 'Shop-EU' });
    expect(await brands.byName(orgId, 'shop-us')).toBeUndefined();
    expect(await brands.byName(`org-${randomUUID()}`, 'shop-eu')).toBeUndefined();
  });

  it("marks what a revoked signing key vouched for as no longer verified, in every session and visitor, as an event in each stream; other keys' values stay verified", async () => {
    const sessionId = `s-${randomUUID()}`;
    const visitorId = `v-${randomUUID()}`;
    const otherSession = `s-${randomUUID()}`;
    const kid = `kid_${randomUUID().slice(0, 8)}`;
    const event = verified(sessionId, { kid, visitorId, variables: [{ name: 'plan', value: 'gold', scope: 'session', claim: 'plan' }, { name: 'tier', value: 'vip', scope: 'visitor', claim: 'tier' }] });
    await publish(sessionId, event, verified(otherSession, { kid: 'other-key' }));
    await waitFor(async () => (await visitorDocOf(visitorId))?.variables.tier?.verified === true, 'the visitor claim to be applied');
    await waitFor(async () => (await docOf(otherSession))?.metadata.authenticatedStatus?.value === true, 'the other session to be authenticated');

    const revoked: SigningKeyChangedV1 = { eventId: randomUUID(), type: 'SigningKeyChanged', version: 1, occurredAt: '2026-11-21T11:00:00.000Z', orgId, data: { kid, alg: 'HS256', change: 'revoked' } };
    await publish(kid, revoked);
    const doc = await eventually(async () => {
      const d = await docOf(sessionId);
      return d?.metadata.authenticatedStatus?.value === false ? d : undefined;
    }, 'the session metadata to be unverified');
    expect(Object.values(doc.metadata).every((v) => !v.verified)).toBe(true);
    expect([doc.metadata.providedName?.value, doc.metadata.providedName?.version, doc.metadata.providedName?.setBy]).toEqual(['Ann', 2, `key-revoked:${kid}`]);
    expect(doc.variables.plan).toMatchObject({ value: 'gold', verified: false, version: 2 });
    expect((await streamOf(sessionId)).at(-1)).toMatchObject({ type: 'SessionVariablesUnverified', metadata: { causationId: revoked.eventId } });
    await waitFor(async () => (await visitorDocOf(visitorId))?.variables.tier?.verified === false, 'the visitor claim to be unverified');
    expect((await visitorStreamOf(visitorId)).at(-1)).toMatchObject({ type: 'VisitorVariablesUnverified', data: { kid } });
    // Another key's values are untouched.
    expect((await docOf(otherSession))?.metadata.authenticatedStatus).toMatchObject({ value: true, verified: true });
    // The same revocation again (another event id, e.g. republished) finds nothing left to change.
    const before = (await streamOf(sessionId)).length;
    const again = { ...revoked, eventId: randomUUID() };
    await publish(kid, again);
    await waitFor(() => inbox.has(IDENTITY_CONSUMER, again.eventId), 'the second revocation to be handled');
    expect(await streamOf(sessionId)).toHaveLength(before);
  });

  it('given a revocation consumed before a verification by that key (other partitions), when the verification arrives, then what it sets is un-verified at once', async () => {
    const sessionId = `s-${randomUUID()}`;
    const visitorId = `v-${randomUUID()}`;
    const kid = `kid_${randomUUID().slice(0, 8)}`;
    const revoked: SigningKeyChangedV1 = { eventId: randomUUID(), type: 'SigningKeyChanged', version: 1, occurredAt: '2026-11-21T11:00:00.000Z', orgId, data: { kid, alg: 'HS256', change: 'revoked' } };
    await publish(kid, revoked);
    await waitFor(() => inbox.has(IDENTITY_CONSUMER, revoked.eventId), 'the revocation to be handled');
    // The verification happened before the revocation, but reaches the variables service after it.
    await publish(sessionId, verified(sessionId, { kid, visitorId, variables: [{ name: 'tier', value: 'vip', scope: 'visitor', claim: 'tier' }] }));
    const doc = await eventually(async () => {
      const d = await docOf(sessionId);
      return d?.metadata.authenticatedStatus?.version === 2 ? d : undefined;
    }, 'the late verification applied and un-verified');
    expect(doc.metadata.authenticatedStatus).toMatchObject({ value: false, verified: false, setBy: `key-revoked:${kid}` });
    expect(Object.values(doc.metadata).every((v) => !v.verified)).toBe(true);
    await waitFor(async () => (await visitorDocOf(visitorId))?.variables.tier?.verified === false, 'the visitor claim un-verified');
  });
});
