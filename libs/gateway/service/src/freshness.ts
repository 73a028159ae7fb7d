import type { VariableView } from '@svp/contracts';
import type { VariablesChange } from './live-hub.js';

/**
 * Whether a read of a session's variables (no room named) already shows a change. The integration
 * event and the variables service's read model follow the event store separately, so the read that
 * a subscription event carries may come a moment before the read model holds the change: the
 * gateway reads again until this is true. Pure.
 *
 * - set variables (session, metadata or visitor scope): present with at least the event's version,
 *   or, for the visitor scope, hidden behind a session variable of the same name (session scope wins);
 *   visitor data limited to rooms is not in a read naming no room, so it is not waited for;
 * - names a replacing visitor submit removed: no longer in the visitor scope;
 * - DISCARDED: no session variable and no metadata set any more;
 * - ERASED: no visitor variable any more;
 * - CURRENT (a subscription's first event, not a change): whatever the read shows.
 */
export function changeVisible(change: VariablesChange, variables: readonly VariableView[]): boolean {
  const byScope = (scope: VariableView['scope'], name: string) => variables.find((v) => v.scope === scope && v.name === name);
  switch (change.kind) {
    case 'CURRENT':
      return true;
    case 'SESSION_CHANGED':
      return change.changes.every((c) => (byScope(c.scope, c.name)?.version ?? 0) >= c.version);
    case 'VISITOR_CHANGED':
      return (
        change.changes.every((c) => (c.rooms && c.rooms.length > 0) || byScope('session', c.name) !== undefined || (byScope('visitor', c.name)?.version ?? 0) >= c.version) &&
        change.removed.every((name) => byScope('visitor', name) === undefined)
      );
    case 'DISCARDED':
      return variables.every((v) => v.scope !== 'session' && !(v.scope === 'metadata' && v.version > 0));
    case 'ERASED':
      return variables.every((v) => v.scope !== 'visitor');
    default: {
      const unexpected: never = change.kind;
      throw new Error(`unknown change kind ${String(unexpected)}`);
    }
  }
}
