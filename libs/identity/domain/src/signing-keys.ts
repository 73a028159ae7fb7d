import type { SigningAlg } from '@svp/contracts';
import { own } from './org.js';

/**
 * The signing keys of one org (stream `signingkeys-<orgId>`): one aggregate per org, so the limit on
 * active keys and the uniqueness of kids hold under concurrency. Pure decider: the key material
 * (an HS256 secret already sealed, or a public JWK), its fingerprint, ids, time and looked-up facts
 * (does the brand exist, the configured limits) come in the command.
 */

/** What verification needs of a key; never the plain secret (HS256 secrets are sealed by the caller). */
export type StoredKeyMaterial = { kind: 'hmac'; sealed: string } | { kind: 'jwk'; jwk: Record<string, string> };

export interface SigningKeyState {
  kid: string;
  alg: SigningAlg;
  brandId?: string;
  material: StoredKeyMaterial;
  fingerprint: string;
  createdAt: string;
  /** active: verifies; rotated: verifies until graceUntil; revoked: refused at once. */
  status: 'active' | 'rotated' | 'revoked';
  replaces?: string;
  replacedBy?: string;
  graceUntil?: string;
  revokedAt?: string;
}

export interface SigningKeysState {
  orgId: string | null;
  keys: Record<string, SigningKeyState>;
}

export const initialSigningKeysState = (): SigningKeysState => ({ orgId: null, keys: {} });

export interface NewKey {
  kid: string;
  alg: SigningAlg;
  material: StoredKeyMaterial;
  fingerprint: string;
}

export type SigningKeysCommand =
  | {
      type: 'CreateSigningKey';
      data: NewKey & { orgId: string; brandId?: string; now: string; maxActive: number; brandExists: boolean };
    }
  | {
      type: 'RotateSigningKey';
      data: { orgId: string; kid: string; replacement: NewKey; graceUntil: string; now: string };
    }
  | { type: 'RevokeSigningKey'; data: { orgId: string; kid: string; now: string } };

export type SigningKeysEvent =
  | {
      type: 'SigningKeyCreated';
      data: NewKey & { orgId: string; brandId?: string; replaces?: string; at: string };
    }
  | {
      type: 'SigningKeyRotated';
      data: { orgId: string; kid: string; alg: SigningAlg; brandId?: string; replacedBy: string; graceUntil: string; at: string };
    }
  | { type: 'SigningKeyRevoked'; data: { orgId: string; kid: string; alg: SigningAlg; brandId?: string; at: string } };

export type SigningKeysErrorCode = 'CONFLICT' | 'NOT_FOUND' | 'LIMIT_EXCEEDED' | 'VALIDATION_FAILED';
export type SigningKeysDecision =
  | { ok: true; events: SigningKeysEvent[] }
  | { ok: false; error: { code: SigningKeysErrorCode; message: string; details?: Record<string, unknown> } };

const ok = (events: SigningKeysEvent[]): SigningKeysDecision => ({ ok: true, events });
const fail = (code: SigningKeysErrorCode, message: string, details?: Record<string, unknown>): SigningKeysDecision => ({
  ok: false,
  error: { code, message, ...(details ? { details } : {}) },
});

/** Keys that count against the limit: neither rotated nor revoked (retiring keys do not count). */
export const activeKeyCount = (state: SigningKeysState): number => Object.values(state.keys).filter((k) => k.status === 'active').length;

export function decideSigningKeys(command: SigningKeysCommand, state: SigningKeysState): SigningKeysDecision {
  switch (command.type) {
    case 'CreateSigningKey': {
      const { orgId, kid, alg, material, fingerprint, brandId, now, maxActive, brandExists } = command.data;
      const existing = own(state.keys, kid);
      if (existing) {
        // The same key sent again: its effect already holds.
        if (existing.fingerprint === fingerprint && existing.alg === alg && existing.status === 'active') return ok([]);
        return fail('CONFLICT', `The org already has a signing key with kid '${kid}'`, { kid });
      }
      if (brandId !== undefined && !brandExists) return fail('NOT_FOUND', `Brand ${brandId} not found`, { brandId });
      const active = activeKeyCount(state);
      if (active >= maxActive)
        return fail('LIMIT_EXCEEDED', `The org already has ${active} active signing keys (at most ${maxActive}); revoke or rotate one first`, {
          active,
          maxActive,
        });
      return ok([
        { type: 'SigningKeyCreated', data: { orgId, kid, alg, material, fingerprint, ...(brandId ? { brandId } : {}), at: now } },
      ]);
    }
    case 'RotateSigningKey': {
      const { orgId, kid, replacement, graceUntil, now } = command.data;
      const key = own(state.keys, kid);
      if (!key) return fail('NOT_FOUND', `Signing key '${kid}' not found`, { kid });
      if (key.status === 'revoked') return fail('CONFLICT', `Signing key '${kid}' is revoked; create a new key instead`, { kid, status: key.status });
      if (key.status === 'rotated') {
        if (key.replacedBy === replacement.kid) return ok([]);
        return fail('CONFLICT', `Signing key '${kid}' was already rotated; rotate its replacement '${key.replacedBy}'`, {
          kid,
          replacedBy: key.replacedBy,
        });
      }
      if (replacement.alg !== key.alg)
        return fail('VALIDATION_FAILED', `A rotation keeps the algorithm: '${kid}' is ${key.alg}`, { kid, alg: key.alg });
      if (own(state.keys, replacement.kid)) return fail('CONFLICT', `The org already has a signing key with kid '${replacement.kid}'`, { kid: replacement.kid });
      return ok([
        {
          type: 'SigningKeyCreated',
          data: { orgId, ...replacement, ...(key.brandId ? { brandId: key.brandId } : {}), replaces: kid, at: now },
        },
        {
          type: 'SigningKeyRotated',
          data: { orgId, kid, alg: key.alg, ...(key.brandId ? { brandId: key.brandId } : {}), replacedBy: replacement.kid, graceUntil, at: now },
        },
      ]);
    }
    case 'RevokeSigningKey': {
      const { orgId, kid, now } = command.data;
      const key = own(state.keys, kid);
      if (!key) return fail('NOT_FOUND', `Signing key '${kid}' not found`, { kid });
      if (key.status === 'revoked') return ok([]);
      return ok([{ type: 'SigningKeyRevoked', data: { orgId, kid, alg: key.alg, ...(key.brandId ? { brandId: key.brandId } : {}), at: now } }]);
    }
    default:
      return exhaustive(command);
  }
}

export function evolveSigningKeys(state: SigningKeysState, event: SigningKeysEvent): SigningKeysState {
  switch (event.type) {
    case 'SigningKeyCreated': {
      const { orgId, kid, alg, material, fingerprint, brandId, replaces, at } = event.data;
      const key: SigningKeyState = {
        kid,
        alg,
        material,
        fingerprint,
        createdAt: at,
        status: 'active',
        ...(brandId ? { brandId } : {}),
        ...(replaces ? { replaces } : {}),
      };
      return { orgId, keys: { ...state.keys, [kid]: key } };
    }
    case 'SigningKeyRotated': {
      const key = own(state.keys, event.data.kid);
      if (!key) return state;
      return {
        ...state,
        keys: { ...state.keys, [key.kid]: { ...key, status: 'rotated', replacedBy: event.data.replacedBy, graceUntil: event.data.graceUntil } },
      };
    }
    case 'SigningKeyRevoked': {
      const key = own(state.keys, event.data.kid);
      if (!key) return state;
      return { ...state, keys: { ...state.keys, [key.kid]: { ...key, status: 'revoked', revokedAt: event.data.at } } };
    }
    default:
      return exhaustive(event);
  }
}

/**
 * What a key is worth at `now`: active; retiring (rotated, grace not over); retired (grace over);
 * revoked. Verification accepts only active and retiring keys.
 */
export function keyStatusAt(key: SigningKeyState, now: Date): 'active' | 'retiring' | 'retired' | 'revoked' {
  if (key.status === 'revoked') return 'revoked';
  if (key.status === 'active') return 'active';
  return key.graceUntil && now.getTime() < Date.parse(key.graceUntil) ? 'retiring' : 'retired';
}

export const signingKeysStream = (orgId: string): string => `signingkeys-${orgId}`;
export const SIGNING_KEYS_EVENT_TYPES = ['SigningKeyCreated', 'SigningKeyRotated', 'SigningKeyRevoked'] as const satisfies readonly SigningKeysEvent['type'][];

function exhaustive(value: never): never {
  throw new Error(`Unhandled: ${JSON.stringify(value)}`);
}
