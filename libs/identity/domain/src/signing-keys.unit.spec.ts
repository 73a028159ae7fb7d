import type { SigningAlg } from '@svp/contracts';
import fc from 'fast-check';
import {
  type NewKey,
  SIGNING_KEYS_EVENT_TYPES,
  type SigningKeyState,
  type SigningKeysCommand,
  type SigningKeysDecision,
  type SigningKeysEvent,
  type SigningKeysState,
  activeKeyCount,
  decideSigningKeys,
  evolveSigningKeys,
  initialSigningKeysState,
  keyStatusAt,
  signingKeysStream,
} from './signing-keys.js';

// Given/when/then on the signing-keys decider: each `describe` is a state reached by folding events,
// each `it` sends one command and asserts the exact decision (events, or the error's code, message and
// details). A property test at the end runs random command sequences against the invariants.

const ORG = 'org_1';
const T0 = '2026-11-21T10:00:00.000Z';
const NOW = '2026-11-21T11:00:00.000Z';
const GRACE = '2026-11-22T11:00:00.000Z';

const given = (...events: SigningKeysEvent[]): SigningKeysState => events.reduce(evolveSigningKeys, initialSigningKeysState());
const accepted = (...events: SigningKeysEvent[]): SigningKeysDecision => ({ ok: true, events });
/** The state after a decision that must be accepted. */
const fold = (state: SigningKeysState, decision: SigningKeysDecision): SigningKeysState => {
  if (!decision.ok) throw new Error(`Refused: ${decision.error.message}`);
  return decision.events.reduce(evolveSigningKeys, state);
};

const newKey = (kid: string, alg: SigningAlg = 'HS256', fingerprint = `fp-${kid}`): NewKey => ({
  kid,
  alg,
  material: alg === 'HS256' ? { kind: 'hmac', sealed: `sealed-${kid}` } : { kind: 'jwk', jwk: { kty: 'RSA', n: `n-${kid}`, e: 'AQAB' } },
  fingerprint,
});

// Events.
const created = (kid: string, opts: { alg?: SigningAlg; brandId?: string; fingerprint?: string; replaces?: string; at?: string } = {}): SigningKeysEvent => ({
  type: 'SigningKeyCreated',
  data: {
    orgId: ORG,
    ...newKey(kid, opts.alg, opts.fingerprint),
    ...(opts.brandId ? { brandId: opts.brandId } : {}),
    ...(opts.replaces ? { replaces: opts.replaces } : {}),
    at: opts.at ?? T0,
  },
});
const rotated = (kid: string, replacedBy: string, opts: { alg?: SigningAlg; brandId?: string; graceUntil?: string } = {}): SigningKeysEvent => ({
  type: 'SigningKeyRotated',
  data: {
    orgId: ORG,
    kid,
    alg: opts.alg ?? 'HS256',
    ...(opts.brandId ? { brandId: opts.brandId } : {}),
    replacedBy,
    graceUntil: opts.graceUntil ?? GRACE,
    at: T0,
  },
});
const revoked = (kid: string, opts: { alg?: SigningAlg; brandId?: string } = {}): SigningKeysEvent => ({
  type: 'SigningKeyRevoked',
  data: { orgId: ORG, kid, alg: opts.alg ?? 'HS256', ...(opts.brandId ? { brandId: opts.brandId } : {}), at: T0 },
});

// Commands.
const create = (
  kid: string,
  opts: { alg?: SigningAlg; brandId?: string; brandExists?: boolean; fingerprint?: string; maxActive?: number } = {},
): SigningKeysCommand => ({
  type: 'CreateSigningKey',
  data: {
    orgId: ORG,
    ...newKey(kid, opts.alg, opts.fingerprint),
    ...(opts.brandId !== undefined ? { brandId: opts.brandId } : {}),
    brandExists: opts.brandExists ?? opts.brandId !== undefined,
    maxActive: opts.maxActive ?? 5,
    now: NOW,
  },
});
const rotate = (kid: string, replacement: NewKey, graceUntil = GRACE): SigningKeysCommand => ({
  type: 'RotateSigningKey',
  data: { orgId: ORG, kid, replacement, graceUntil, now: NOW },
});
const revoke = (kid: string): SigningKeysCommand => ({ type: 'RevokeSigningKey', data: { orgId: ORG, kid, now: NOW } });

describe('signing keys decider', () => {
  describe('given no signing keys', () => {
    const state = initialSigningKeysState();

    it('then there is no org and no key', () => {
      expect(state).toStrictEqual({ orgId: null, keys: {} });
      expect(activeKeyCount(state)).toBe(0);
    });

    it('when an org-wide HS256 key is created, then SigningKeyCreated with the sealed secret and no brand', () => {
      expect(decideSigningKeys(create('k1'), state)).toStrictEqual(
        accepted({
          type: 'SigningKeyCreated',
          data: { orgId: ORG, kid: 'k1', alg: 'HS256', material: { kind: 'hmac', sealed: 'sealed-k1' }, fingerprint: 'fp-k1', at: NOW },
        }),
      );
    });

    it('when a key is created for an existing brand, then SigningKeyCreated carries the brand', () => {
      expect(decideSigningKeys(create('k1', { alg: 'RS256', brandId: 'brd_1', brandExists: true }), state)).toStrictEqual(
        accepted({
          type: 'SigningKeyCreated',
          data: {
            orgId: ORG,
            kid: 'k1',
            alg: 'RS256',
            material: { kind: 'jwk', jwk: { kty: 'RSA', n: 'n-k1', e: 'AQAB' } },
            fingerprint: 'fp-k1',
            brandId: 'brd_1',
            at: NOW,
          },
        }),
      );
    });

    it('when a key is created for an unknown brand, then NOT_FOUND naming the brand', () => {
      expect(decideSigningKeys(create('k1', { brandId: 'brd_x', brandExists: false }), state)).toStrictEqual({
        ok: false,
        error: { code: 'NOT_FOUND', message: 'Brand brd_x not found', details: { brandId: 'brd_x' } },
      });
    });

    it('when a key is created with a limit of 0 active keys, then LIMIT_EXCEEDED', () => {
      expect(decideSigningKeys(create('k1', { maxActive: 0 }), state)).toMatchObject({
        ok: false,
        error: { code: 'LIMIT_EXCEEDED', details: { active: 0, maxActive: 0 } },
      });
    });

    it('when a key is rotated, then NOT_FOUND naming the kid', () => {
      expect(decideSigningKeys(rotate('k1', newKey('k2')), state)).toStrictEqual({
        ok: false,
        error: { code: 'NOT_FOUND', message: "Signing key 'k1' not found", details: { kid: 'k1' } },
      });
    });

    it('when a key is revoked, then NOT_FOUND naming the kid', () => {
      expect(decideSigningKeys(revoke('k1'), state)).toStrictEqual({
        ok: false,
        error: { code: 'NOT_FOUND', message: "Signing key 'k1' not found", details: { kid: 'k1' } },
      });
    });

    it('when SigningKeyCreated is folded, then the org holds one active key created at the event time', () => {
      expect(evolveSigningKeys(state, created('k1', { brandId: 'brd_1' }))).toStrictEqual({
        orgId: ORG,
        keys: {
          k1: {
            kid: 'k1',
            alg: 'HS256',
            material: { kind: 'hmac', sealed: 'sealed-k1' },
            fingerprint: 'fp-k1',
            createdAt: T0,
            status: 'active',
            brandId: 'brd_1',
          },
        },
      });
    });

    it('when a rotation or a revocation of an unknown key is folded, then the state is unchanged', () => {
      expect(evolveSigningKeys(state, rotated('k1', 'k2'))).toStrictEqual(state);
      expect(evolveSigningKeys(state, revoked('k1'))).toStrictEqual(state);
    });
  });

  describe('given an active HS256 key of a brand', () => {
    const state = given(created('k1', { brandId: 'brd_1' }));

    it('then one key is active', () => {
      expect(activeKeyCount(state)).toBe(1);
    });

    it('when the same key (kid, alg, fingerprint) is created again, then nothing is decided', () => {
      expect(decideSigningKeys(create('k1', { brandId: 'brd_1' }), state)).toStrictEqual(accepted());
    });

    it('when the same kid is created with another fingerprint, then CONFLICT naming the kid', () => {
      expect(decideSigningKeys(create('k1', { fingerprint: 'fp-other' }), state)).toStrictEqual({
        ok: false,
        error: { code: 'CONFLICT', message: "The org already has a signing key with kid 'k1'", details: { kid: 'k1' } },
      });
    });

    it('when the same kid and fingerprint are created with another alg, then CONFLICT', () => {
      expect(decideSigningKeys(create('k1', { alg: 'ES256', fingerprint: 'fp-k1' }), state)).toMatchObject({
        ok: false,
        error: { code: 'CONFLICT', details: { kid: 'k1' } },
      });
    });

    it('when another key is created at a limit of 1 active key, then LIMIT_EXCEEDED with the counts', () => {
      expect(decideSigningKeys(create('k2', { maxActive: 1 }), state)).toStrictEqual({
        ok: false,
        error: {
          code: 'LIMIT_EXCEEDED',
          message: 'The org already has 1 active signing keys (at most 1); revoke or rotate one first',
          details: { active: 1, maxActive: 1 },
        },
      });
    });

    it('when another key is created under the limit, then SigningKeyCreated', () => {
      expect(decideSigningKeys(create('k2', { maxActive: 2 }), state)).toStrictEqual(
        accepted({
          type: 'SigningKeyCreated',
          data: { orgId: ORG, kid: 'k2', alg: 'HS256', material: { kind: 'hmac', sealed: 'sealed-k2' }, fingerprint: 'fp-k2', at: NOW },
        }),
      );
    });

    it('when it is rotated, then the replacement is created (same brand, replaces k1), then k1 is rotated with its grace', () => {
      expect(decideSigningKeys(rotate('k1', newKey('k2')), state)).toStrictEqual(
        accepted(
          {
            type: 'SigningKeyCreated',
            data: {
              orgId: ORG,
              kid: 'k2',
              alg: 'HS256',
              material: { kind: 'hmac', sealed: 'sealed-k2' },
              fingerprint: 'fp-k2',
              brandId: 'brd_1',
              replaces: 'k1',
              at: NOW,
            },
          },
          {
            type: 'SigningKeyRotated',
            data: { orgId: ORG, kid: 'k1', alg: 'HS256', brandId: 'brd_1', replacedBy: 'k2', graceUntil: GRACE, at: NOW },
          },
        ),
      );
    });

    it('when it is rotated at the limit of active keys, then the rotation is folded without raising the active count', () => {
      const next = fold(state, decideSigningKeys(rotate('k1', newKey('k2')), state));
      expect(activeKeyCount(next)).toBe(1);
      expect(next.keys).toStrictEqual({
        k1: {
          kid: 'k1',
          alg: 'HS256',
          material: { kind: 'hmac', sealed: 'sealed-k1' },
          fingerprint: 'fp-k1',
          createdAt: T0,
          status: 'rotated',
          brandId: 'brd_1',
          replacedBy: 'k2',
          graceUntil: GRACE,
        },
        k2: {
          kid: 'k2',
          alg: 'HS256',
          material: { kind: 'hmac', sealed: 'sealed-k2' },
          fingerprint: 'fp-k2',
          createdAt: NOW,
          status: 'active',
          brandId: 'brd_1',
          replaces: 'k1',
        },
      });
    });

    it('when it is rotated to a key of another alg, then VALIDATION_FAILED naming the alg to keep', () => {
      expect(decideSigningKeys(rotate('k1', newKey('k2', 'RS256')), state)).toStrictEqual({
        ok: false,
        error: { code: 'VALIDATION_FAILED', message: "A rotation keeps the algorithm: 'k1' is HS256", details: { kid: 'k1', alg: 'HS256' } },
      });
    });

    it('when it is rotated to its own kid, then CONFLICT', () => {
      expect(decideSigningKeys(rotate('k1', newKey('k1', 'HS256', 'fp-new')), state)).toStrictEqual({
        ok: false,
        error: { code: 'CONFLICT', message: "The org already has a signing key with kid 'k1'", details: { kid: 'k1' } },
      });
    });

    it('when it is revoked, then SigningKeyRevoked (with its alg and brand), which folds to a revoked key with its time', () => {
      const decision = decideSigningKeys(revoke('k1'), state);
      expect(decision).toStrictEqual(
        accepted({ type: 'SigningKeyRevoked', data: { orgId: ORG, kid: 'k1', alg: 'HS256', brandId: 'brd_1', at: NOW } }),
      );
      const next = fold(state, decision);
      expect(next.keys.k1).toMatchObject({ status: 'revoked', revokedAt: NOW });
      expect(activeKeyCount(next)).toBe(0);
    });
  });

  describe('given an active key without a brand and another active key', () => {
    const state = given(created('k1', { alg: 'ES256' }), created('k2', { alg: 'ES256' }));

    it('when k1 is rotated, then neither the replacement nor the rotation carries a brand', () => {
      expect(decideSigningKeys(rotate('k1', newKey('k3', 'ES256')), state)).toStrictEqual(
        accepted(
          { type: 'SigningKeyCreated', data: { orgId: ORG, ...newKey('k3', 'ES256'), replaces: 'k1', at: NOW } },
          { type: 'SigningKeyRotated', data: { orgId: ORG, kid: 'k1', alg: 'ES256', replacedBy: 'k3', graceUntil: GRACE, at: NOW } },
        ),
      );
    });

    it('when k2 is revoked, then SigningKeyRevoked carries its alg and no brand', () => {
      expect(decideSigningKeys(revoke('k2'), state)).toStrictEqual(
        accepted({ type: 'SigningKeyRevoked', data: { orgId: ORG, kid: 'k2', alg: 'ES256', at: NOW } }),
      );
    });

    it('when k1 is rotated to the kid of k2, then CONFLICT naming k2', () => {
      expect(decideSigningKeys(rotate('k1', newKey('k2', 'ES256')), state)).toStrictEqual({
        ok: false,
        error: { code: 'CONFLICT', message: "The org already has a signing key with kid 'k2'", details: { kid: 'k2' } },
      });
    });

    it('then both count against the limit', () => {
      expect(activeKeyCount(state)).toBe(2);
      expect(decideSigningKeys(create('k3', { maxActive: 2 }), state)).toMatchObject({
        ok: false,
        error: { code: 'LIMIT_EXCEEDED', details: { active: 2, maxActive: 2 } },
      });
    });
  });

  describe('given a key k1 rotated to k2', () => {
    const state = given(
      created('k1', { brandId: 'brd_1' }),
      created('k2', { brandId: 'brd_1', replaces: 'k1' }),
      rotated('k1', 'k2', { brandId: 'brd_1' }),
    );

    it('then only the replacement counts as active', () => {
      expect(activeKeyCount(state)).toBe(1);
    });

    it('when k1 is rotated to k2 again (a resent command), then nothing is decided', () => {
      expect(decideSigningKeys(rotate('k1', newKey('k2')), state)).toStrictEqual(accepted());
    });

    it('when k1 is rotated to another kid, then CONFLICT naming its replacement', () => {
      expect(decideSigningKeys(rotate('k1', newKey('k3')), state)).toStrictEqual({
        ok: false,
        error: {
          code: 'CONFLICT',
          message: "Signing key 'k1' was already rotated; rotate its replacement 'k2'",
          details: { kid: 'k1', replacedBy: 'k2' },
        },
      });
    });

    it('when the replacement k2 is rotated to k3, then the chain goes on', () => {
      expect(decideSigningKeys(rotate('k2', newKey('k3')), state)).toMatchObject({
        ok: true,
        events: [
          { type: 'SigningKeyCreated', data: { kid: 'k3', brandId: 'brd_1', replaces: 'k2' } },
          { type: 'SigningKeyRotated', data: { kid: 'k2', replacedBy: 'k3' } },
        ],
      });
    });

    it('when the retiring k1 is created again with its own fingerprint, then CONFLICT: a kid is never reused', () => {
      expect(decideSigningKeys(create('k1', { brandId: 'brd_1' }), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    });

    it('when another key is created at a limit of 2, then SigningKeyCreated: a rotated key does not count', () => {
      expect(decideSigningKeys(create('k3', { maxActive: 2 }), state)).toMatchObject({
        ok: true,
        events: [{ type: 'SigningKeyCreated', data: { kid: 'k3' } }],
      });
    });

    it('when another key is created at a limit of 1, then LIMIT_EXCEEDED counting only the replacement', () => {
      expect(decideSigningKeys(create('k3', { maxActive: 1 }), state)).toMatchObject({
        ok: false,
        error: { code: 'LIMIT_EXCEEDED', details: { active: 1, maxActive: 1 } },
      });
    });

    it('when the retiring k1 is revoked, then SigningKeyRevoked, which ends its grace at once', () => {
      const decision = decideSigningKeys(revoke('k1'), state);
      expect(decision).toStrictEqual(
        accepted({ type: 'SigningKeyRevoked', data: { orgId: ORG, kid: 'k1', alg: 'HS256', brandId: 'brd_1', at: NOW } }),
      );
      const k1 = fold(state, decision).keys.k1;
      expect(k1).toMatchObject({ status: 'revoked', revokedAt: NOW, replacedBy: 'k2', graceUntil: GRACE });
      expect(k1 && keyStatusAt(k1, new Date(NOW))).toBe('revoked');
    });
  });

  describe('given a revoked key', () => {
    const state = given(created('k1'), created('k2'), revoked('k1'));

    it('then it does not count as active', () => {
      expect(activeKeyCount(state)).toBe(1);
    });

    it('when it is revoked again, then nothing is decided', () => {
      expect(decideSigningKeys(revoke('k1'), state)).toStrictEqual(accepted());
    });

    it('when it is rotated, then CONFLICT: a revoked key is replaced by a new key', () => {
      expect(decideSigningKeys(rotate('k1', newKey('k3')), state)).toStrictEqual({
        ok: false,
        error: {
          code: 'CONFLICT',
          message: "Signing key 'k1' is revoked; create a new key instead",
          details: { kid: 'k1', status: 'revoked' },
        },
      });
    });

    it('when its kid is created again, even with the same fingerprint, then CONFLICT: a revoked key never comes back', () => {
      expect(decideSigningKeys(create('k1'), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { kid: 'k1' } } });
    });

    it('when another key is rotated to its kid, then CONFLICT', () => {
      expect(decideSigningKeys(rotate('k2', newKey('k1')), state)).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { kid: 'k1' } } });
    });

    it('when another key is created at a limit of 2, then SigningKeyCreated: a revoked key does not count', () => {
      expect(decideSigningKeys(create('k3', { maxActive: 2 }), state)).toMatchObject({
        ok: true,
        events: [{ type: 'SigningKeyCreated', data: { kid: 'k3' } }],
      });
    });
  });

  // Kids that name Object.prototype members (`constructor`, `toString`, `hasOwnProperty`: all valid, and
  // an org may choose its kid) must find nothing: the decider looks kids up as own properties only.
  describe('given no signing keys, with kids that name Object.prototype members', () => {
    const state = initialSigningKeysState();

    it('when a key "constructor" is created, then SigningKeyCreated', () => {
      expect(decideSigningKeys(create('constructor'), state)).toMatchObject({ ok: true, events: [{ type: 'SigningKeyCreated' }] });
    });

    it('when a key "toString" is revoked, then NOT_FOUND', () => {
      expect(decideSigningKeys(revoke('toString'), state)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    });

    it('when a key "hasOwnProperty" is rotated, then NOT_FOUND', () => {
      expect(decideSigningKeys(rotate('hasOwnProperty', newKey('k2')), state)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    });
  });

  describe('the signing keys stream', () => {
    it('is named signingkeys-<orgId>', () => {
      expect(signingKeysStream(ORG)).toBe('signingkeys-org_1');
    });

    it('registers every event type the decider emits', () => {
      expect([...SIGNING_KEYS_EVENT_TYPES].sort()).toStrictEqual(['SigningKeyCreated', 'SigningKeyRevoked', 'SigningKeyRotated']);
    });
  });
});

describe('keyStatusAt', () => {
  const base: SigningKeyState = {
    kid: 'k1',
    alg: 'HS256',
    material: { kind: 'hmac', sealed: 's' },
    fingerprint: 'fp',
    createdAt: T0,
    status: 'active',
  };
  const graceUntil = '2026-11-22T00:00:00.000Z';
  const rotatedKey: SigningKeyState = { ...base, status: 'rotated', replacedBy: 'k2', graceUntil };

  it('given an active key, then it is active at any time', () => {
    expect(keyStatusAt(base, new Date(T0))).toBe('active');
    expect(keyStatusAt(base, new Date('2099-01-01T00:00:00.000Z'))).toBe('active');
  });

  it('given a rotated key, when before graceUntil (even by 1 ms), then it is retiring', () => {
    expect(keyStatusAt(rotatedKey, new Date(T0))).toBe('retiring');
    expect(keyStatusAt(rotatedKey, new Date(Date.parse(graceUntil) - 1))).toBe('retiring');
  });

  it('given a rotated key, when at graceUntil exactly, then it is retired', () => {
    expect(keyStatusAt(rotatedKey, new Date(graceUntil))).toBe('retired');
  });

  it('given a rotated key, when after graceUntil, then it is retired', () => {
    expect(keyStatusAt(rotatedKey, new Date('2026-12-01T00:00:00.000Z'))).toBe('retired');
  });

  it('given a rotated key without graceUntil, then it is retired', () => {
    expect(keyStatusAt({ ...base, status: 'rotated', replacedBy: 'k2' }, new Date(T0))).toBe('retired');
  });

  it('given a revoked key, then it is revoked, even inside a rotation grace period', () => {
    expect(keyStatusAt({ ...base, status: 'revoked', revokedAt: T0 }, new Date(T0))).toBe('revoked');
    expect(keyStatusAt({ ...rotatedKey, status: 'revoked', revokedAt: T0 }, new Date(T0))).toBe('revoked');
  });
});

describe('activeKeyCount', () => {
  it('counts only active keys, neither rotated nor revoked ones', () => {
    expect(activeKeyCount(initialSigningKeysState())).toBe(0);
    const state = given(
      created('a'),
      created('b'),
      created('c'),
      created('d', { replaces: 'c' }),
      rotated('c', 'd'),
      created('e'),
      revoked('e'),
    );
    expect(activeKeyCount(state)).toBe(3);
  });
});

describe('signing keys decider (property)', () => {
  type Step =
    | { type: 'create'; kid: string; alg: SigningAlg; fingerprint: string; maxActive: number; brandId?: string }
    | { type: 'rotate'; kid: string; replacementKid: string; alg: SigningAlg; fingerprint: string; graceSeconds: number }
    | { type: 'revoke'; kid: string };

  const kid = fc.constantFrom('k1', 'k2', 'k3', 'k4', 'k5', 'k6');
  const alg = fc.constantFrom<SigningAlg>('HS256', 'ES256');
  const fingerprint = fc.constantFrom('fp-a', 'fp-b');
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record(
      {
        type: fc.constant('create' as const),
        kid,
        alg,
        fingerprint,
        maxActive: fc.integer({ min: 1, max: 4 }),
        brandId: fc.constantFrom('brd_1', 'brd_2'),
      },
      { requiredKeys: ['type', 'kid', 'alg', 'fingerprint', 'maxActive'] },
    ),
    fc.record({ type: fc.constant('rotate' as const), kid, replacementKid: kid, alg, fingerprint, graceSeconds: fc.integer({ min: 0, max: 86_400 }) }),
    fc.record({ type: fc.constant('revoke' as const), kid }),
  );

  const toCommand = (s: Step, i: number): SigningKeysCommand => {
    const now = new Date(Date.parse(T0) + i * 60_000).toISOString();
    const material = { kind: 'hmac' as const, sealed: `sealed-${i}` };
    switch (s.type) {
      case 'create':
        return {
          type: 'CreateSigningKey',
          data: {
            orgId: ORG,
            kid: s.kid,
            alg: s.alg,
            material,
            fingerprint: s.fingerprint,
            ...(s.brandId !== undefined ? { brandId: s.brandId } : {}),
            brandExists: true,
            maxActive: s.maxActive,
            now,
          },
        };
      case 'rotate':
        return {
          type: 'RotateSigningKey',
          data: {
            orgId: ORG,
            kid: s.kid,
            replacement: { kid: s.replacementKid, alg: s.alg, material, fingerprint: s.fingerprint },
            graceUntil: new Date(Date.parse(now) + s.graceSeconds * 1000).toISOString(),
            now,
          },
        };
      case 'revoke':
        return { type: 'RevokeSigningKey', data: { orgId: ORG, kid: s.kid, now } };
    }
  };

  it('folding only decided events never reaches an illegal state', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let state = initialSigningKeysState();
        const everRevoked = new Set<string>();
        /** The maxActive of the last create that added a key: nothing after it raises the count. */
        let limit = 0;
        steps.forEach((s, i) => {
          const command = toCommand(s, i);
          const decision = decideSigningKeys(command, state);
          if (!decision.ok) return;
          const before = state;
          const activeBefore = activeKeyCount(before);
          for (const event of decision.events) {
            // Kids are unique: a created kid was not in the state before.
            if (event.type === 'SigningKeyCreated') expect(state.keys[event.data.kid]).toBeUndefined();
            state = evolveSigningKeys(state, event);
          }
          const active = activeKeyCount(state);

          if (command.type === 'CreateSigningKey') {
            // A create adds at most one active key and never goes over the limit it was given.
            expect(active - activeBefore).toBe(decision.events.length);
            if (decision.events.length > 0) {
              expect(active).toBeLessThanOrEqual(command.data.maxActive);
              limit = command.data.maxActive;
            }
          } else if (command.type === 'RotateSigningKey') {
            // A rotation swaps one active key for another; its replacement keeps the brand and alg.
            expect(active).toBe(activeBefore);
            if (decision.events.length > 0) {
              const old = state.keys[command.data.kid];
              const replacement = state.keys[command.data.replacement.kid];
              expect(old?.status).toBe('rotated');
              expect(replacement).toMatchObject({ status: 'active', alg: old?.alg, replaces: command.data.kid });
              expect(replacement?.brandId).toBe(old?.brandId);
            }
          } else {
            // A revocation takes away at most the one key it names.
            const wasActive = before.keys[command.data.kid]?.status === 'active';
            expect(active).toBe(wasActive ? activeBefore - 1 : activeBefore);
            everRevoked.add(command.data.kid);
          }

          expect(active).toBeLessThanOrEqual(limit);
          // A revoked key never becomes active (or anything else) again.
          for (const k of everRevoked) expect(state.keys[k]?.status).toBe('revoked');
          for (const [id, key] of Object.entries(state.keys)) {
            // The record is keyed by kid.
            expect(key.kid).toBe(id);
            // Every rotated key points at a replacement that exists, which replaces it.
            if (key.status === 'rotated') {
              expect(key.replacedBy).toBeDefined();
              expect(state.keys[key.replacedBy ?? '']?.replaces).toBe(id);
            }
          }
        });
      }),
      { numRuns: 500 },
    );
  });
});
