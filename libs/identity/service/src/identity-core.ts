import { createHash } from 'node:crypto';
import {
  API_SCOPES,
  type IntrospectApiKeyResponse,
  Kid,
  VISITOR_SCOPES,
  VisitorTokenFormat,
  type ApiScope,
  type ClaimMappingEntry,
  type MappedClaimVariable,
  type SigningAlg,
  type SigningKeyView,
  type VariableValue,
  type VerifyIdentityResponse,
  type VerifySignatureResponse,
} from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import {
  type OrgCommand,
  type OrgEvent,
  type OrgState,
  type SessionIdentityCommand,
  type SessionIdentityEvent,
  type SessionIdentityState,
  type SigningKeyState,
  type SigningKeysCommand,
  type SigningKeysEvent,
  type SigningKeysState,
  type StoredKeyMaterial,
  decideOrg,
  decideSessionIdentity,
  decideSigningKeys,
  evolveOrg,
  evolveSessionIdentity,
  evolveSigningKeys,
  externalIdScope,
  initialOrgState,
  initialSessionIdentityState,
  initialSigningKeysState,
  keyStatusAt,
  orgStream,
  own,
  sessionIdentityStream,
  signingKeysStream,
} from '@svp/identity-domain';
import { AppError, type CommandRunner, type Decider, type DocumentReader, type ServiceMetrics, commandRunner, randomId } from '@svp/service-kit';
import type { Counter } from 'prom-client';
import type { Logger } from 'pino';
import { generateApiKey, hashApiKey, isApiKeyShaped } from './api-keys.js';
import type { ApiKeyDoc, OrgDoc, SessionIdentityDoc, SigningKeysDoc } from './projections.js';
import { fingerprint, generateHs256Secret, parsePublicKey, type PublicJwk } from './signing/key-material.js';
import type { SecretBox, VisitorTokens } from '@svp/service-kit';
import { type KeyLookup, type VerificationKey, type VerifyOptions, verifyToken } from './signing/verifier.js';

export interface IdentitySettings {
  clockSkewSeconds: number;
  maxActiveKeys: number;
  graceSeconds: number;
}

export interface IdentityReaders {
  apiKeys: DocumentReader<ApiKeyDoc>;
  orgs: DocumentReader<OrgDoc>;
  signingKeys: DocumentReader<SigningKeysDoc>;
  sessionIdentity: DocumentReader<SessionIdentityDoc>;
}

export interface IdentityDeps {
  store: EventStore;
  readers: IdentityReaders;
  secretBox: SecretBox;
  /** Checks visitor tokens (introspection of `svpv_` credentials). */
  visitorTokens?: VisitorTokens;
  settings: IdentitySettings;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** The clock (tests move it). */
  now?: () => Date;
}

const orgDecider: Decider<OrgCommand, OrgState, OrgEvent> = { initial: initialOrgState, evolve: evolveOrg, decide: decideOrg };
const keysDecider: Decider<SigningKeysCommand, SigningKeysState, SigningKeysEvent> = {
  initial: initialSigningKeysState,
  evolve: evolveSigningKeys,
  decide: decideSigningKeys,
};
export const identityDecider: Decider<SessionIdentityCommand, SessionIdentityState, SessionIdentityEvent> = {
  initial: initialSessionIdentityState,
  evolve: evolveSessionIdentity,
  decide: (command, state) => ({ ok: true, events: decideSessionIdentity(command, state) }),
};

/** A key of the org's document by kid: own entries only (a kid like `toString` finds nothing). */
const ownKey = (doc: SigningKeysDoc | undefined, kid: string): SigningKeyState | undefined => (doc ? own(doc.keys, kid) : undefined);

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The identity service's use cases, framework-free: the controllers are thin HTTP adapters over it.
 * Writes go command → pure decider → append (optimistic concurrency); reads answer from projections
 * and wait for the write's position first (read-your-writes), so a revoked key is refused by the
 * next request on every service (identity verifies every token itself; nothing is cached).
 */
export class IdentityCore {
  private readonly now: () => Date;
  private readonly run: CommandRunner;
  private readonly verifications?: Counter<'outcome' | 'reason' | 'purpose'>;

  constructor(private readonly deps: IdentityDeps) {
    this.now = deps.now ?? (() => new Date());
    this.run = commandRunner(deps.store, deps.metrics);
    this.verifications = deps.metrics?.counter('svp_identity_verifications_total', 'Token verifications by outcome and reason', [
      'outcome',
      'reason',
      'purpose',
    ]);
  }

  // ── orgs, brands, quotas ────────────────────────────────────────────────────────────────────

  async createOrg(name: string): Promise<{ orgId: string; apiKey: string }> {
    const orgId = randomId('org');
    const { apiKey, keyHash } = generateApiKey();
    const { position } = await this.run(
      orgStream(orgId),
      orgDecider,
      { type: 'CreateOrg', data: { orgId, name, keyId: randomId('key'), keyHash, scopes: [...API_SCOPES], now: this.iso() } },
      { orgId },
    );
    // The key works on every service, and the org for every call made with it (brands, signing keys),
    // as soon as this answer arrives: both read models are separate projections, each may lag.
    await this.awaitReadersKeepingSecret(position, [this.deps.readers.apiKeys, this.deps.readers.orgs], { orgId }, 'API key or org');
    return { orgId, apiKey };
  }

  async getOrg(orgId: string): Promise<OrgDoc> {
    const doc = await this.deps.readers.orgs.get(orgId);
    if (!doc) throw new AppError('NOT_FOUND', `Org ${orgId} not found`);
    return doc;
  }

  async setBrandLinking(orgId: string, linked: boolean): Promise<OrgDoc> {
    await this.orgCommand(orgId, { type: 'SetBrandLinking', data: { orgId, linked, now: this.iso() } });
    return this.getOrg(orgId);
  }

  async setQuota(orgId: string, requestsPerMinute: number | null): Promise<OrgDoc> {
    await this.orgCommand(orgId, { type: 'SetOrgQuota', data: { orgId, requestsPerMinute, now: this.iso() } });
    return this.getOrg(orgId);
  }

  async createBrand(orgId: string, name: string): Promise<{ brandId: string; name: string }> {
    const brandId = randomId('brand');
    await this.orgCommand(orgId, { type: 'CreateBrand', data: { orgId, brandId, name, now: this.iso() } });
    return { brandId, name };
  }

  async setClaimMapping(orgId: string, mappings: ClaimMappingEntry[]): Promise<ClaimMappingEntry[]> {
    await this.orgCommand(orgId, { type: 'SetClaimMapping', data: { orgId, mappings, now: this.iso() } });
    return (await this.getOrg(orgId)).claimMapping;
  }

  // ── API keys ────────────────────────────────────────────────────────────────────────────────

  async createApiKey(orgId: string, scopes: ApiScope[], name?: string): Promise<{ keyId: string; apiKey: string; scopes: ApiScope[]; name?: string }> {
    const keyId = randomId('key');
    const { apiKey, keyHash } = generateApiKey();
    const unique = [...new Set(scopes)];
    const { position } = await this.run(
      orgStream(orgId),
      orgDecider,
      { type: 'IssueApiKey', data: { orgId, keyId, keyHash, scopes: unique, ...(name ? { name } : {}), now: this.iso() } },
      { orgId },
    );
    // Introspection reads the API keys projection, GET /v1/api-keys the org's: both see the new key.
    await this.awaitReadersKeepingSecret(position, [this.deps.readers.apiKeys, this.deps.readers.orgs], { orgId, keyId }, 'API key');
    return { keyId, apiKey, scopes: unique, ...(name ? { name } : {}) };
  }

  async revokeApiKey(orgId: string, keyId: string): Promise<OrgDoc['apiKeys'][number]> {
    await this.orgCommand(orgId, { type: 'RevokeApiKey', data: { orgId, keyId, now: this.iso() } }, [this.deps.readers.apiKeys]);
    const key = (await this.getOrg(orgId)).apiKeys.find((k) => k.keyId === keyId);
    if (!key) throw new AppError('NOT_FOUND', `API key ${keyId} not found`);
    return key;
  }

  /** Introspection: the org and scopes of a key, with the org's own request quota. */
  /**
   * Who a bearer credential is: an org API key (widget keys are API keys with the `widget` scope), or
   * a visitor token this platform signed (the visitor of one session: the visitor scopes, and the
   * session and visitor it is limited to). Anything else, or an expired token, is inactive.
   */
  async introspectCredential(credential: string): Promise<IntrospectApiKeyResponse> {
    if (isApiKeyShaped(credential)) return this.introspect(hashApiKey(credential));
    const visitor = VisitorTokenFormat.safeParse(credential).success ? await this.deps.visitorTokens?.verify(credential, { now: this.now() }) : undefined;
    if (!visitor || visitor.expired) return { active: false };
    const org = await this.deps.readers.orgs.get(visitor.orgId);
    if (!org) return { active: false };
    return {
      active: true,
      orgId: visitor.orgId,
      keyId: `visitor:${visitor.sessionId}`,
      scopes: [...VISITOR_SCOPES],
      requestsPerMinute: org.requestsPerMinute ?? null,
      visitor: { sessionId: visitor.sessionId, visitorId: visitor.visitorId },
    };
  }

  async introspect(keyHash: string) {
    const doc = await this.deps.readers.apiKeys.get(keyHash);
    if (!doc || doc.revoked) return { active: false as const };
    const org = await this.deps.readers.orgs.get(doc.orgId);
    return { active: true as const, orgId: doc.orgId, keyId: doc.keyId, scopes: doc.scopes, requestsPerMinute: org?.requestsPerMinute ?? null };
  }

  // ── signing keys ────────────────────────────────────────────────────────────────────────────

  async createSigningKey(
    orgId: string,
    body: { alg: SigningAlg; publicKey?: string; jwks?: { keys: Record<string, unknown>[] }; kid?: string; brandId?: string },
  ): Promise<{ kid: string; alg: SigningAlg; secret?: string; brandId?: string; createdAt: string }> {
    const org = await this.getOrg(orgId);
    const made = await this.makeKey(body.alg, body);
    const now = this.iso();
    const { position } = await this.run(
      signingKeysStream(orgId),
      keysDecider,
      {
        type: 'CreateSigningKey',
        data: {
          orgId,
          ...made.key,
          ...(body.brandId ? { brandId: body.brandId } : {}),
          now,
          maxActive: this.deps.settings.maxActiveKeys,
          brandExists: body.brandId === undefined || org.brands.some((b) => b.brandId === body.brandId),
        },
      },
      { orgId },
    );
    await this.awaitSigningKeyAnswer(position, made.key.kid, orgId, made.secret !== undefined);
    return { kid: made.key.kid, alg: body.alg, ...(made.secret ? { secret: made.secret } : {}), ...(body.brandId ? { brandId: body.brandId } : {}), createdAt: now };
  }

  async rotateSigningKey(
    orgId: string,
    kid: string,
    body: { publicKey?: string; jwks?: { keys: Record<string, unknown>[] }; kid?: string; graceSeconds?: number },
  ) {
    const current = ownKey(await this.deps.readers.signingKeys.get(orgId), kid);
    if (!current) throw new AppError('NOT_FOUND', `Signing key '${kid}' not found`, { kid });
    const made = await this.makeKey(current.alg, body);
    const now = this.now();
    const graceUntil = new Date(now.getTime() + (body.graceSeconds ?? this.deps.settings.graceSeconds) * 1000).toISOString();
    const { position } = await this.run(
      signingKeysStream(orgId),
      keysDecider,
      { type: 'RotateSigningKey', data: { orgId, kid, replacement: made.key, graceUntil, now: now.toISOString() } },
      { orgId },
    );
    await this.awaitSigningKeyAnswer(position, made.key.kid, orgId, made.secret !== undefined);
    return {
      kid: made.key.kid,
      alg: current.alg,
      ...(made.secret ? { secret: made.secret } : {}),
      ...(current.brandId ? { brandId: current.brandId } : {}),
      createdAt: now.toISOString(),
      replaces: kid,
      graceUntil,
    };
  }

  async revokeSigningKey(orgId: string, kid: string): Promise<SigningKeyView> {
    const { position } = await this.run(signingKeysStream(orgId), keysDecider, { type: 'RevokeSigningKey', data: { orgId, kid, now: this.iso() } }, { orgId });
    // Verification reads this projection: once it has applied the revocation, the key is refused everywhere.
    await this.deps.readers.signingKeys.waitFor(position);
    const key = ownKey(await this.deps.readers.signingKeys.get(orgId), kid);
    if (!key) throw new AppError('NOT_FOUND', `Signing key '${kid}' not found`, { kid });
    return this.keyView(key);
  }

  async listSigningKeys(orgId: string): Promise<SigningKeyView[]> {
    const doc = await this.deps.readers.signingKeys.get(orgId);
    return Object.values(doc?.keys ?? {})
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.kid.localeCompare(b.kid))
      .map((k) => this.keyView(k));
  }

  // ── verification ────────────────────────────────────────────────────────────────────────────

  /** Verifies a messaging JWT; with a sessionId, records the outcome on the session's identity record. */
  async verifyIdentity(
    orgId: string,
    body: { token: string; sessionId?: string; brandId?: string; visitorId?: string },
    correlationId?: string,
  ): Promise<VerifyIdentityResponse> {
    const org = await this.getOrg(orgId);
    if (body.brandId !== undefined && !org.brands.some((b) => b.brandId === body.brandId))
      throw new AppError('NOT_FOUND', `Brand ${body.brandId} not found`, { brandId: body.brandId });
    const now = this.now();
    const outcome = await this.verify(orgId, body.token, { purpose: 'messaging', ...(body.brandId ? { brandId: body.brandId } : {}) }, now);
    this.verifications?.inc({ outcome: outcome.ok ? 'verified' : 'refused', reason: outcome.ok ? 'OK' : outcome.reason, purpose: 'messaging' });
    let response: VerifyIdentityResponse;
    let command: Extract<SessionIdentityCommand, { type: 'RecordVerification' }>['data']['outcome'];
    if (outcome.ok && outcome.externalId !== null) {
      const brandId = body.brandId ?? outcome.brandId;
      const scope = externalIdScope(brandId, org.linkBrands);
      const variables = mapClaims(org.claimMapping, outcome.claims);
      response = {
        authenticated: true,
        externalId: outcome.externalId,
        name: outcome.name,
        email: outcome.email,
        emailVerified: outcome.emailVerified,
        scope: outcome.scope,
        claims: outcome.claims,
        kid: outcome.kid,
        ...(brandId ? { brandId } : {}),
        externalIdScope: scope,
        variables,
      };
      command = {
        authenticated: true,
        kid: outcome.kid,
        externalId: outcome.externalId,
        externalIdScope: scope,
        name: outcome.name,
        email: outcome.email,
        emailVerified: outcome.emailVerified,
        // Only the claims the mapping names are kept: the others may hold secrets (access tokens).
        claims: Object.fromEntries(Object.entries(outcome.claims).filter(([name]) => org.claimMapping.some((m) => m.claim === name))),
        variables,
        ...(brandId ? { brandId } : {}),
        ...(body.visitorId ? { visitorId: body.visitorId } : {}),
      };
    } else {
      const failure = outcome.ok
        ? { reason: 'CLAIM_MISSING' as const, detail: 'the external_id claim is required', kid: outcome.kid }
        : { reason: outcome.reason, detail: outcome.detail, ...(outcome.kid ? { kid: outcome.kid } : {}) };
      response = { authenticated: false, externalId: null, name: null, email: null, claims: {}, ...failure };
      command = { authenticated: false, ...failure };
    }
    if (body.sessionId) {
      const sessionId = body.sessionId;
      const { position } = await this.run(
        sessionIdentityStream(orgId, sessionId),
        identityDecider,
        { type: 'RecordVerification', data: { orgId, sessionId, tokenHash: sha256(body.token), outcome: command, now: now.toISOString() } },
        { orgId, ...(correlationId ? { correlationId } : {}) },
      );
      await this.deps.readers.sessionIdentity.waitFor(position);
    }
    return response;
  }

  /** The signature check of signed visitor data (giosg style): claims less the registered ones are the data. */
  async verifySignature(orgId: string, token: string, alg?: SigningAlg): Promise<VerifySignatureResponse> {
    const now = this.now();
    const outcome = await this.verify(orgId, token, { purpose: 'signature', ...(alg ? { expectedAlg: alg } : {}) }, now);
    this.verifications?.inc({ outcome: outcome.ok ? 'verified' : 'refused', reason: outcome.ok ? 'OK' : outcome.reason, purpose: 'signature' });
    if (!outcome.ok) return { valid: false, reason: outcome.reason, detail: outcome.detail };
    return { valid: true, kid: outcome.kid, alg: outcome.alg, ...(outcome.brandId ? { brandId: outcome.brandId } : {}), data: outcome.claims };
  }

  async sessionIdentity(orgId: string, sessionId: string): Promise<Omit<SessionIdentityDoc, 'orgId'>> {
    const doc = await this.deps.readers.sessionIdentity.get(`${orgId}.${sessionId}`);
    if (!doc) {
      // Never verified: not an error (every session reads authenticated false).
      return { sessionId, authenticated: false, externalId: null, externalIdScope: null, name: null, email: null, kid: null, verifiedAt: null, lastFailure: null, attempts: [] };
    }
    const { orgId: _orgId, ...rest } = doc;
    return rest;
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────

  /**
   * Read-your-writes for an answer that carries a secret shown only once (an API key, an HS256
   * secret). The event is stored by now: if a read model cannot catch up in time, a 503 would lose
   * the secret while the key exists (and counts against the org's limits), so the answer goes out
   * anyway and the delay is logged; the key works once the projection catches up, seconds later.
   * An answer without a secret (a public key registered) waits as every other command does.
   */
  private async awaitReadersKeepingSecret(position: bigint, readers: readonly DocumentReader<unknown>[], context: Record<string, string>, what: string): Promise<void> {
    await Promise.all(readers.map((reader) => reader.waitFor(position))).catch((err: unknown) =>
      this.deps.logger.warn({ err, ...context }, `${what} not yet readable; answering anyway (its secret is shown only in this answer)`),
    );
  }

  /** A signing key's answer: an HS256 secret is never lost to a slow read model; a public key registered waits as any command. */
  private async awaitSigningKeyAnswer(position: bigint, kid: string, orgId: string, carriesSecret: boolean): Promise<void> {
    if (carriesSecret) await this.awaitReadersKeepingSecret(position, [this.deps.readers.signingKeys], { orgId, kid }, 'Signing key');
    else await this.deps.readers.signingKeys.waitFor(position);
  }

  private async orgCommand(orgId: string, command: OrgCommand, alsoWaitFor: DocumentReader<unknown>[] = []): Promise<void> {
    const { position } = await this.run(orgStream(orgId), orgDecider, command, { orgId });
    await Promise.all([this.deps.readers.orgs, ...alsoWaitFor].map((reader) => reader.waitFor(position)));
  }

  /**
   * Verifies with the org's keys only (a kid is never looked up across orgs). The keys are read before
   * verification, so an unreachable database is a 503 and never a token's fault; a secret that cannot
   * be unsealed (SIGNING_SECRETS_KEY changed) is an operator error, reported as such.
   */
  private async verify(orgId: string, token: string, options: Omit<VerifyOptions, 'now' | 'clockSkewSeconds'>, now: Date) {
    const doc = await this.deps.readers.signingKeys.get(orgId);
    let lookupError: unknown;
    const lookup: KeyLookup = async (kid) => {
      const key = ownKey(doc, kid);
      if (!key) return undefined;
      try {
        return this.verificationKey(key, now);
      } catch (error) {
        lookupError = error;
        throw error;
      }
    };
    const outcome = await verifyToken(token, lookup, { ...options, now, clockSkewSeconds: this.deps.settings.clockSkewSeconds });
    if (lookupError !== undefined) {
      this.deps.logger.error({ err: lookupError, orgId }, 'a signing key could not be used');
      throw new AppError('SERVICE_UNAVAILABLE', 'A signing key of this org cannot be used by this service (is SIGNING_SECRETS_KEY the one the key was created with?)');
    }
    return outcome;
  }

  private verificationKey(key: SigningKeyState, now: Date): VerificationKey {
    const material: VerificationKey['material'] =
      key.material.kind === 'hmac'
        ? { kind: 'hmac', secret: this.deps.secretBox.open(key.material.sealed) }
        : { kind: 'jwk', jwk: key.material.jwk as unknown as PublicJwk };
    return {
      kid: key.kid,
      alg: key.alg,
      ...(key.brandId ? { brandId: key.brandId } : {}),
      status: keyStatusAt(key, now),
      ...(key.graceUntil ? { graceUntil: key.graceUntil } : {}),
      ...(key.revokedAt ? { revokedAt: key.revokedAt } : {}),
      material,
    };
  }

  private async makeKey(
    alg: SigningAlg,
    body: { publicKey?: string; jwks?: { keys: Record<string, unknown>[] }; kid?: string },
  ): Promise<{ key: { kid: string; alg: SigningAlg; material: StoredKeyMaterial; fingerprint: string }; secret?: string }> {
    if (alg === 'HS256') {
      if (body.publicKey !== undefined || body.jwks !== undefined)
        throw new AppError('VALIDATION_FAILED', 'HS256 secrets are generated by the platform: send no publicKey or jwks');
      const secret = generateHs256Secret();
      return {
        key: {
          kid: body.kid ?? randomId('kid'),
          alg,
          material: { kind: 'hmac', sealed: this.deps.secretBox.seal(secret) },
          fingerprint: await fingerprint({ kind: 'hmac', secret }),
        },
        secret,
      };
    }
    const parsed = await parsePublicKey(alg, body);
    if (!parsed.ok) throw new AppError('VALIDATION_FAILED', parsed.message, { alg });
    if (body.kid === undefined && parsed.kid !== undefined && !Kid.safeParse(parsed.kid).success)
      throw new AppError('VALIDATION_FAILED', 'The JWK\'s kid must be 1 to 64 letters, digits, . _ or -; give another one with "kid"', { alg });
    return {
      key: {
        kid: body.kid ?? parsed.kid ?? randomId('kid'),
        alg,
        material: { kind: 'jwk', jwk: { ...parsed.jwk } },
        fingerprint: await fingerprint({ kind: 'jwk', jwk: parsed.jwk }),
      },
    };
  }

  private keyView(key: SigningKeyState): SigningKeyView {
    return {
      kid: key.kid,
      alg: key.alg,
      ...(key.brandId ? { brandId: key.brandId } : {}),
      status: keyStatusAt(key, this.now()),
      createdAt: key.createdAt,
      fingerprint: key.fingerprint,
      ...(key.replacedBy ? { replacedBy: key.replacedBy } : {}),
      ...(key.graceUntil ? { graceUntil: key.graceUntil } : {}),
      ...(key.revokedAt ? { revokedAt: key.revokedAt } : {}),
    };
  }

  private iso(): string {
    return this.now().toISOString();
  }
}

/**
 * The org's claim mapping applied to verified custom claims: typed variables. A claim that is absent,
 * or cannot take the mapped type, gives no variable.
 */
export function mapClaims(mappings: readonly ClaimMappingEntry[], claims: Record<string, VariableValue>): MappedClaimVariable[] {
  const variables: MappedClaimVariable[] = [];
  for (const m of mappings) {
    if (!Object.hasOwn(claims, m.claim)) continue;
    const value = coerce(claims[m.claim] ?? null, m.type);
    if (value === undefined) continue;
    variables.push({ name: m.variable, value, scope: m.scope, claim: m.claim });
  }
  return variables;
}

function coerce(value: VariableValue, type: ClaimMappingEntry['type']): VariableValue | undefined {
  if (value === null) return null;
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : String(value);
    case 'number': {
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      return undefined;
    }
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return undefined;
  }
}
