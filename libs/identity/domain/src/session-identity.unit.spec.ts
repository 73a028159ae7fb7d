import {
  SESSION_IDENTITY_EVENT_TYPES,
  type SessionIdentityCommand,
  type SessionIdentityEvent,
  type SessionIdentityState,
  type VerificationFailed,
  type VerifiedIdentity,
  decideSessionIdentity,
  evolveSessionIdentity,
  externalIdScope,
  initialSessionIdentityState,
  sessionIdentityStream,
} from './session-identity.js';

// Given/when/then on the session identity record: each `describe` is a state reached by folding
// events, each `it` records one verification outcome and asserts the exact events decided.

const ORG = 'org_1';
const SESSION = 'ses_1';
const T0 = '2026-11-21T10:00:00.000Z';
const T1 = '2026-11-21T10:05:00.000Z';
const NOW = '2026-11-21T11:00:00.000Z';

const given = (...events: SessionIdentityEvent[]): SessionIdentityState => events.reduce(evolveSessionIdentity, initialSessionIdentityState());

const identity = (externalId: string, extra: Partial<VerifiedIdentity> = {}): VerifiedIdentity => ({
  kid: 'k1',
  externalId,
  externalIdScope: 'brand:brd_1',
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  emailVerified: true,
  claims: { plan: 'gold', seats: 3, beta: false },
  variables: [{ name: 'plan', value: 'gold', scope: 'session', claim: 'plan' }],
  brandId: 'brd_1',
  visitorId: 'vis_1',
  ...extra,
});
const failure: VerificationFailed = { reason: 'SIGNATURE_INVALID', detail: 'signature does not match key k1', kid: 'k1' };

// Events.
const verified = (tokenHash: string, who: VerifiedIdentity, at = T0): SessionIdentityEvent => ({
  type: 'SessionIdentityVerified',
  data: { orgId: ORG, sessionId: SESSION, ...who, tokenHash, at },
});
const rejected = (tokenHash: string, why: VerificationFailed = failure, at = T1): SessionIdentityEvent => ({
  type: 'SessionIdentityRejected',
  data: { orgId: ORG, sessionId: SESSION, ...why, tokenHash, at },
});

// Commands.
const succeeded = (tokenHash: string, who: VerifiedIdentity): SessionIdentityCommand => ({
  type: 'RecordVerification',
  data: { orgId: ORG, sessionId: SESSION, tokenHash, outcome: { authenticated: true, ...who }, now: NOW },
});
const failed = (tokenHash: string, why: VerificationFailed = failure): SessionIdentityCommand => ({
  type: 'RecordVerification',
  data: { orgId: ORG, sessionId: SESSION, tokenHash, outcome: { authenticated: false, ...why }, now: NOW },
});

describe('session identity decider', () => {
  describe('given no verification yet', () => {
    const state = initialSessionIdentityState();

    it('then the identity is unknown', () => {
      expect(state).toStrictEqual({ status: 'unknown' });
    });

    it('when a verification succeeds, then SessionIdentityVerified carries the whole identity (scope, claims, variables, brand, visitor)', () => {
      expect(decideSessionIdentity(succeeded('h1', identity('ext-1')), state)).toStrictEqual([
        {
          type: 'SessionIdentityVerified',
          data: {
            orgId: ORG,
            sessionId: SESSION,
            kid: 'k1',
            externalId: 'ext-1',
            externalIdScope: 'brand:brd_1',
            name: 'Ada Lovelace',
            email: 'ada@example.com',
            emailVerified: true,
            claims: { plan: 'gold', seats: 3, beta: false },
            variables: [{ name: 'plan', value: 'gold', scope: 'session', claim: 'plan' }],
            brandId: 'brd_1',
            visitorId: 'vis_1',
            tokenHash: 'h1',
            at: NOW,
          },
        },
      ]);
    });

    it('when an org-wide verification without brand, visitor or profile succeeds, then the event holds only what was verified', () => {
      const bare: VerifiedIdentity = {
        kid: 'k2',
        externalId: 'ext-9',
        externalIdScope: 'org',
        name: null,
        email: null,
        emailVerified: null,
        claims: {},
        variables: [],
      };
      expect(decideSessionIdentity(succeeded('h1', bare), state)).toStrictEqual([
        { type: 'SessionIdentityVerified', data: { orgId: ORG, sessionId: SESSION, ...bare, tokenHash: 'h1', at: NOW } },
      ]);
    });

    it('when a verification fails, then SessionIdentityRejected with its reason, detail and kid', () => {
      expect(decideSessionIdentity(failed('h1'), state)).toStrictEqual([
        {
          type: 'SessionIdentityRejected',
          data: {
            orgId: ORG,
            sessionId: SESSION,
            reason: 'SIGNATURE_INVALID',
            detail: 'signature does not match key k1',
            kid: 'k1',
            tokenHash: 'h1',
            at: NOW,
          },
        },
      ]);
    });

    it('when a verification fails before any kid is known, then SessionIdentityRejected has no kid', () => {
      expect(decideSessionIdentity(failed('h1', { reason: 'MALFORMED', detail: 'not a JWS' }), state)).toStrictEqual([
        { type: 'SessionIdentityRejected', data: { orgId: ORG, sessionId: SESSION, reason: 'MALFORMED', detail: 'not a JWS', tokenHash: 'h1', at: NOW } },
      ]);
    });

    it('when SessionIdentityVerified is folded, then the session is authenticated with no failure', () => {
      expect(evolveSessionIdentity(state, verified('h1', identity('ext-1')))).toStrictEqual({
        status: 'authenticated',
        orgId: ORG,
        sessionId: SESSION,
        identity: identity('ext-1'),
        verifiedAt: T0,
        lastFailure: null,
        lastTokenHash: 'h1',
        lastOutcome: 'OK',
      });
    });

    it('when SessionIdentityRejected is folded, then the session is anonymous with the failure recorded', () => {
      expect(evolveSessionIdentity(state, rejected('h1'))).toStrictEqual({
        status: 'anonymous',
        orgId: ORG,
        sessionId: SESSION,
        lastFailure: { at: T1, authenticated: false, reason: 'SIGNATURE_INVALID', detail: 'signature does not match key k1', kid: 'k1' },
        lastTokenHash: 'h1',
        lastOutcome: 'SIGNATURE_INVALID',
      });
    });

    it('when SessionIdentityRejected without kid is folded, then the recorded failure has no kid', () => {
      const next = evolveSessionIdentity(state, rejected('h1', { reason: 'KID_UNKNOWN', detail: 'no key' }));
      expect(next.status === 'anonymous' && next.lastFailure).toStrictEqual({ at: T1, authenticated: false, reason: 'KID_UNKNOWN', detail: 'no key' });
    });
  });

  describe('given an authenticated session', () => {
    const state = given(verified('h1', identity('ext-1')));

    it('when the same token is recorded again, then nothing is decided', () => {
      expect(decideSessionIdentity(succeeded('h1', identity('ext-1')), state)).toStrictEqual([]);
    });

    it('when the same token is recorded again with another outcome (it expired meanwhile), then the failure is recorded', () => {
      const why: VerificationFailed = { reason: 'TOKEN_EXPIRED', detail: 'exp passed', kid: 'k1' };
      expect(decideSessionIdentity(failed('h1', why), state)).toStrictEqual([rejected('h1', why, NOW)]);
    });

    it('when another token for the same external id succeeds, then SessionIdentityVerified without previousExternalId', () => {
      expect(decideSessionIdentity(succeeded('h2', identity('ext-1', { name: 'Ada King' })), state)).toStrictEqual([
        verified('h2', identity('ext-1', { name: 'Ada King' }), NOW),
      ]);
    });

    it('when a token for another external id succeeds, then SessionIdentityVerified carries previousExternalId', () => {
      expect(decideSessionIdentity(succeeded('h2', identity('ext-2')), state)).toStrictEqual([
        {
          type: 'SessionIdentityVerified',
          data: { orgId: ORG, sessionId: SESSION, ...identity('ext-2'), tokenHash: 'h2', previousExternalId: 'ext-1', at: NOW },
        },
      ]);
    });

    it('when the switch to another external id is folded, then the new identity replaces the old one (previousExternalId is not kept)', () => {
      const [event] = decideSessionIdentity(succeeded('h2', identity('ext-2')), state);
      expect(event && evolveSessionIdentity(state, event)).toStrictEqual({
        status: 'authenticated',
        orgId: ORG,
        sessionId: SESSION,
        identity: identity('ext-2'),
        verifiedAt: NOW,
        lastFailure: null,
        lastTokenHash: 'h2',
        lastOutcome: 'OK',
      });
    });

    it('when another token fails, then SessionIdentityRejected with its reason, detail and kid', () => {
      const why: VerificationFailed = { reason: 'KID_REVOKED', detail: "key 'k0' is revoked", kid: 'k0' };
      expect(decideSessionIdentity(failed('h2', why), state)).toStrictEqual([rejected('h2', why, NOW)]);
    });

    it('when the failure is folded, then the session stays authenticated as before, with lastFailure set', () => {
      expect(evolveSessionIdentity(state, rejected('h2'))).toStrictEqual({
        status: 'authenticated',
        orgId: ORG,
        sessionId: SESSION,
        identity: identity('ext-1'),
        verifiedAt: T0,
        lastFailure: { at: T1, authenticated: false, reason: 'SIGNATURE_INVALID', detail: 'signature does not match key k1', kid: 'k1' },
        lastTokenHash: 'h2',
        lastOutcome: 'SIGNATURE_INVALID',
      });
    });
  });

  describe('given an authenticated session with a later failure', () => {
    const state = given(verified('h1', identity('ext-1')), rejected('h2'));

    it('when the failed token is recorded again, then nothing is decided', () => {
      expect(decideSessionIdentity(failed('h2'), state)).toStrictEqual([]);
    });

    it('when another failure is recorded, then it becomes the last failure, still authenticated', () => {
      const why: VerificationFailed = { reason: 'TOKEN_EXPIRED', detail: 'exp passed', kid: 'k1' };
      const decided = decideSessionIdentity(failed('h3', why), state);
      expect(decided).toStrictEqual([rejected('h3', why, NOW)]);
      expect(decided.reduce(evolveSessionIdentity, state)).toMatchObject({
        status: 'authenticated',
        identity: { externalId: 'ext-1' },
        lastFailure: { at: NOW, reason: 'TOKEN_EXPIRED' },
        lastTokenHash: 'h3',
      });
    });

    it('when a new token succeeds, then SessionIdentityVerified; folded, it keeps the last failure on record', () => {
      const decided = decideSessionIdentity(succeeded('h3', identity('ext-1')), state);
      expect(decided).toStrictEqual([verified('h3', identity('ext-1'), NOW)]);
      expect(decided.reduce(evolveSessionIdentity, state)).toStrictEqual({
        status: 'authenticated',
        orgId: ORG,
        sessionId: SESSION,
        identity: identity('ext-1'),
        verifiedAt: NOW,
        lastFailure: { at: T1, authenticated: false, reason: 'SIGNATURE_INVALID', detail: 'signature does not match key k1', kid: 'k1' },
        lastTokenHash: 'h3',
        lastOutcome: 'OK',
      });
    });
  });

  describe('given an anonymous session (only a failed verification)', () => {
    const state = given(rejected('h1'));

    it('when the same token is recorded again, then nothing is decided', () => {
      expect(decideSessionIdentity(failed('h1'), state)).toStrictEqual([]);
    });

    it('when the same token later verifies (it was not yet valid), then SessionIdentityVerified', () => {
      expect(decideSessionIdentity(succeeded('h1', identity('ext-1')), state)).toStrictEqual([verified('h1', identity('ext-1'), NOW)]);
    });

    it('when a token succeeds, then SessionIdentityVerified without previousExternalId', () => {
      expect(decideSessionIdentity(succeeded('h2', identity('ext-1')), state)).toStrictEqual([verified('h2', identity('ext-1'), NOW)]);
    });

    it('when the success is folded, then the session is authenticated and keeps the failure on record', () => {
      expect(evolveSessionIdentity(state, verified('h2', identity('ext-1'), NOW))).toStrictEqual({
        status: 'authenticated',
        orgId: ORG,
        sessionId: SESSION,
        identity: identity('ext-1'),
        verifiedAt: NOW,
        lastFailure: { at: T1, authenticated: false, reason: 'SIGNATURE_INVALID', detail: 'signature does not match key k1', kid: 'k1' },
        lastTokenHash: 'h2',
        lastOutcome: 'OK',
      });
    });

    it('when another token fails, then SessionIdentityRejected, which folds to an anonymous session with the new failure', () => {
      const why: VerificationFailed = { reason: 'CLAIM_MISSING', detail: 'sub is missing', kid: 'k1' };
      const decided = decideSessionIdentity(failed('h2', why), state);
      expect(decided).toStrictEqual([rejected('h2', why, NOW)]);
      expect(decided.reduce(evolveSessionIdentity, state)).toStrictEqual({
        status: 'anonymous',
        orgId: ORG,
        sessionId: SESSION,
        lastFailure: { at: NOW, authenticated: false, reason: 'CLAIM_MISSING', detail: 'sub is missing', kid: 'k1' },
        lastTokenHash: 'h2',
        lastOutcome: 'CLAIM_MISSING',
      });
    });
  });

  describe('given the session\'s visitor is erased', () => {
    const erase: SessionIdentityCommand = { type: 'EraseSessionIdentity', data: { orgId: ORG, sessionId: SESSION, erasureId: 'era_1', now: NOW } };
    const erased: SessionIdentityEvent = { type: 'SessionIdentityErased', data: { orgId: ORG, sessionId: SESSION, erasureId: 'era_1', at: NOW } };

    it('when the record is authenticated or anonymous, then SessionIdentityErased', () => {
      expect(decideSessionIdentity(erase, given(verified('h1', identity('cust-1'))))).toStrictEqual([erased]);
      expect(decideSessionIdentity(erase, given(rejected('h1')))).toStrictEqual([erased]);
    });

    it('when nothing was ever recorded, or it was erased already (a redelivery), then nothing is decided', () => {
      expect(decideSessionIdentity(erase, given())).toStrictEqual([]);
      expect(decideSessionIdentity(erase, given(verified('h1', identity('cust-1')), erased))).toStrictEqual([]);
    });

    it('when folded, then the identity and every attempt are gone; later verifications are not recorded on it', () => {
      const state = given(verified('h1', identity('cust-1')), rejected('h2'), erased);
      expect(state).toStrictEqual({ status: 'erased', orgId: ORG, sessionId: SESSION });
      expect(decideSessionIdentity(succeeded('h3', identity('cust-2')), state)).toStrictEqual([]);
      expect(decideSessionIdentity(failed('h4'), state)).toStrictEqual([]);
      expect(evolveSessionIdentity(state, verified('h3', identity('cust-2')))).toStrictEqual(state);
    });
  });

  describe('the session identity stream', () => {
    it('is named sessionidentity-<orgId>.<sessionId>', () => {
      expect(sessionIdentityStream(ORG, SESSION)).toBe('sessionidentity-org_1.ses_1');
    });

    it('registers every event type the decider emits', () => {
      expect([...SESSION_IDENTITY_EVENT_TYPES].sort()).toStrictEqual(['SessionIdentityErased', 'SessionIdentityRejected', 'SessionIdentityVerified']);
    });
  });
});

describe('externalIdScope', () => {
  it.each<[string | undefined, boolean, string]>([
    ['brd_1', false, 'brand:brd_1'],
    ['brd_1', true, 'org'],
    [undefined, false, 'org'],
    [undefined, true, 'org'],
    ['', false, 'org'],
  ])('given brand %p and linkBrands %p, then the scope is %p', (brandId, linkBrands, scope) => {
    expect(externalIdScope(brandId, linkBrands)).toBe(scope);
  });
});
