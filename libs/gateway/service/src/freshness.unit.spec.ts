import type { VariableView } from '@svp/contracts';
import { changeVisible } from './freshness.js';
import type { VariablesChange } from './live-hub.js';

const AT = '2026-12-02T10:00:00.000Z';

/** One variable of a read (GET /v1/sessions/{id}/variables, no room). */
const read = (scope: VariableView['scope'], name: string, version: number, value: VariableView['value'] = 'x'): VariableView => ({
  name,
  value,
  scope,
  source: scope === 'metadata' ? 'claim' : 'widget',
  verified: scope === 'metadata',
  updatedAt: version === 0 ? null : AT,
  version,
});

type Change = VariablesChange['changes'][number];
const changed = (scope: Change['scope'], name: string, version: number, rooms?: string[]): Change => ({
  name,
  value: 'x',
  scope,
  source: 'widget',
  verified: false,
  version,
  ...(rooms ? { rooms } : {}),
});

const change = (kind: VariablesChange['kind'], changes: Change[] = [], removed: string[] = []): VariablesChange => ({
  eventId: kind === 'CURRENT' ? null : '3f0c8a43-5f57-4d7a-9d27-3f3f1b0b8e11',
  kind,
  occurredAt: AT,
  changes,
  removed,
});

describe('changeVisible: whether a variables read already shows a subscription event', () => {
  describe('CURRENT (the first event of includeCurrent: not a change)', () => {
    it('given any read, even an empty one, then it is visible at once (nothing to wait for)', () => {
      expect(changeVisible(change('CURRENT'), [])).toBe(true);
      expect(changeVisible(change('CURRENT'), [read('session', 'plan', 3), read('visitor', 'username', 1)])).toBe(true);
    });
  });

  describe('SESSION_CHANGED', () => {
    const plan2 = change('SESSION_CHANGED', [changed('session', 'plan', 2)]);

    it('given the read holds the session variable at the event version, then it is visible', () => {
      expect(changeVisible(plan2, [read('session', 'plan', 2)])).toBe(true);
    });

    it('given the read holds it at a later version (a newer change already applied), then it is visible', () => {
      expect(changeVisible(plan2, [read('session', 'plan', 5)])).toBe(true);
    });

    it('given the read holds an older version, then it is not visible yet', () => {
      expect(changeVisible(plan2, [read('session', 'plan', 1)])).toBe(false);
    });

    it('given the read does not hold the variable at all (a new one, not projected yet), then it is not visible yet', () => {
      expect(changeVisible(change('SESSION_CHANGED', [changed('session', 'cartItems', 1)]), [read('session', 'plan', 2)])).toBe(false);
    });

    it('given the same name only in another scope (the visitor\'s), then the session change is not visible yet', () => {
      expect(changeVisible(plan2, [read('visitor', 'plan', 7)])).toBe(false);
    });

    it('given several changes, then it is visible only once every one of them is', () => {
      const cart = change('SESSION_CHANGED', [changed('session', 'cartItems', 3), changed('session', 'cartValue', 3), changed('session', 'lastItem', 1)]);
      const partly = [read('session', 'cartItems', 3), read('session', 'cartValue', 2), read('session', 'lastItem', 1)];
      expect(changeVisible(cart, partly)).toBe(false);
      expect(changeVisible(cart, [read('session', 'cartItems', 3), read('session', 'cartValue', 3), read('session', 'lastItem', 1)])).toBe(true);
    });

    describe('metadata scope (identity\'s verified claims)', () => {
      const authenticated = change('SESSION_CHANGED', [changed('metadata', 'authenticatedStatus', 1), changed('metadata', 'providedName', 1)]);

      it('given the metadata variables at the event version, then it is visible', () => {
        expect(changeVisible(authenticated, [read('metadata', 'authenticatedStatus', 1, true), read('metadata', 'providedName', 1, 'Jane')])).toBe(true);
      });

      it('given metadata never set (version 0, as the read model lists it), then it is not visible yet', () => {
        expect(changeVisible(authenticated, [read('metadata', 'authenticatedStatus', 0, false), read('metadata', 'providedName', 0, null)])).toBe(false);
      });

      it('given a session variable of the same name at that version, then the metadata change is still not visible', () => {
        expect(changeVisible(authenticated, [read('session', 'authenticatedStatus', 1, true), read('session', 'providedName', 1, 'Jane')])).toBe(false);
      });
    });
  });

  describe('VISITOR_CHANGED', () => {
    const username1 = change('VISITOR_CHANGED', [changed('visitor', 'username', 1)]);

    it('given the read holds the visitor variable at the event version or later, then it is visible', () => {
      expect(changeVisible(username1, [read('visitor', 'username', 1)])).toBe(true);
      expect(changeVisible(username1, [read('visitor', 'username', 4)])).toBe(true);
    });

    it('given the read holds an older version or not the variable, then it is not visible yet', () => {
      expect(changeVisible(change('VISITOR_CHANGED', [changed('visitor', 'username', 2)]), [read('visitor', 'username', 1)])).toBe(false);
      expect(changeVisible(username1, [read('session', 'plan', 1)])).toBe(false);
    });

    it('given a session variable of the same name (session scope wins, the visitor one is hidden), then it is visible without the visitor variable', () => {
      expect(changeVisible(username1, [read('session', 'username', 1)])).toBe(true);
    });

    it('given a metadata variable of the same name (it does not hide visitor data), then it is not visible yet', () => {
      expect(changeVisible(username1, [read('metadata', 'username', 1)])).toBe(false);
    });

    it('given visitor data limited to rooms (not in a read naming no room), then it is not waited for', () => {
      expect(changeVisible(change('VISITOR_CHANGED', [changed('visitor', 'vipCode', 1, ['room_sales'])]), [])).toBe(true);
    });

    it('given an empty room list (not room-limited), then the change is waited for like any other', () => {
      expect(changeVisible(change('VISITOR_CHANGED', [changed('visitor', 'vipCode', 1, [])]), [])).toBe(false);
      expect(changeVisible(change('VISITOR_CHANGED', [changed('visitor', 'vipCode', 1, [])]), [read('visitor', 'vipCode', 1)])).toBe(true);
    });

    it('given a room-limited change beside an unlimited one, then only the unlimited one is waited for', () => {
      const both = change('VISITOR_CHANGED', [changed('visitor', 'vipCode', 1, ['room_sales']), changed('visitor', 'username', 1)]);
      expect(changeVisible(both, [])).toBe(false);
      expect(changeVisible(both, [read('visitor', 'username', 1)])).toBe(true);
    });

    describe('names a replacing submit removed', () => {
      const replaced = change('VISITOR_CHANGED', [changed('visitor', 'username', 2)], ['email', 'tier']);

      it('given the removed names are gone from the visitor scope, then it is visible', () => {
        expect(changeVisible(replaced, [read('visitor', 'username', 2)])).toBe(true);
      });

      it('given a removed name still in the visitor scope, then it is not visible yet', () => {
        expect(changeVisible(replaced, [read('visitor', 'username', 2), read('visitor', 'tier', 1)])).toBe(false);
      });

      it('given a session variable with a removed name (not the visitor\'s), then it does not hold the change back', () => {
        expect(changeVisible(replaced, [read('visitor', 'username', 2), read('session', 'email', 1)])).toBe(true);
      });

      it('given a replace that removed everything and set nothing, then it is visible once the visitor scope lost those names', () => {
        const cleared = change('VISITOR_CHANGED', [], ['username']);
        expect(changeVisible(cleared, [read('visitor', 'username', 1)])).toBe(false);
        expect(changeVisible(cleared, [read('session', 'plan', 1)])).toBe(true);
      });
    });
  });

  describe('DISCARDED (the session ended)', () => {
    const discarded = change('DISCARDED');

    it('given no session variable and only unset metadata (version 0) left, then it is visible', () => {
      expect(changeVisible(discarded, [read('metadata', 'authenticatedStatus', 0, false), read('visitor', 'username', 1)])).toBe(true);
      expect(changeVisible(discarded, [])).toBe(true);
    });

    it('given a session variable still in the read, then it is not visible yet', () => {
      expect(changeVisible(discarded, [read('session', 'plan', 2), read('visitor', 'username', 1)])).toBe(false);
    });

    it('given metadata still set (version above 0), then it is not visible yet', () => {
      expect(changeVisible(discarded, [read('metadata', 'authenticatedStatus', 1, true)])).toBe(false);
    });
  });

  describe('ERASED (the visitor was erased)', () => {
    const erased = change('ERASED');

    it('given no visitor variable in the read, then it is visible', () => {
      expect(changeVisible(erased, [read('session', 'plan', 1), read('metadata', 'authenticatedStatus', 0, false)])).toBe(true);
      expect(changeVisible(erased, [])).toBe(true);
    });

    it('given a visitor variable still in the read, then it is not visible yet', () => {
      expect(changeVisible(erased, [read('session', 'plan', 1), read('visitor', 'username', 1)])).toBe(false);
    });
  });
});
