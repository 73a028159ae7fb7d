import type { ClaimMappingEntry } from '@svp/contracts';
import { mapClaims } from './identity-core.js';

describe('claim mapping', () => {
  const mapping: ClaimMappingEntry[] = [
    { claim: 'plan', variable: 'plan', scope: 'session', type: 'string' },
    { claim: 'cart_value', variable: 'cartValue', scope: 'session', type: 'number' },
    { claim: 'vip', variable: 'vip', scope: 'visitor', type: 'boolean' },
    { claim: 'absent', variable: 'absent', scope: 'session', type: 'string' },
  ];

  it('given typed claims, when mapped, then each becomes its variable with its type and scope', () => {
    expect(mapClaims(mapping, { plan: 'gold', cart_value: 99.5, vip: true, other: 'x' })).toEqual([
      { name: 'plan', value: 'gold', scope: 'session', claim: 'plan' },
      { name: 'cartValue', value: 99.5, scope: 'session', claim: 'cart_value' },
      { name: 'vip', value: true, scope: 'visitor', claim: 'vip' },
    ]);
  });

  it('given claims as text, when mapped, then numbers and booleans are converted and other types become text', () => {
    expect(mapClaims(mapping, { plan: 3, cart_value: '12.50', vip: 'false' })).toEqual([
      { name: 'plan', value: '3', scope: 'session', claim: 'plan' },
      { name: 'cartValue', value: 12.5, scope: 'session', claim: 'cart_value' },
      { name: 'vip', value: false, scope: 'visitor', claim: 'vip' },
    ]);
  });

  it('given claims that cannot take the type, when mapped, then they give no variable (null stays null)', () => {
    expect(mapClaims(mapping, { plan: null, cart_value: 'abc', vip: 'yes' })).toEqual([{ name: 'plan', value: null, scope: 'session', claim: 'plan' }]);
    expect(mapClaims(mapping, { cart_value: ' ' })).toEqual([]);
  });

  it('given a claim named like an Object.prototype member, when not present, then nothing is mapped', () => {
    expect(mapClaims([{ claim: 'toString', variable: 'x', scope: 'session', type: 'string' }], {})).toEqual([]);
  });
});
