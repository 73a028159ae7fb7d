import { type ProjectedEvent, defineDocumentProjection } from '@svp/projections';
import {
  DEFAULT_DISPLAY_NAME,
  type RoomRef,
  VISITOR_VARIABLES_EVENT_TYPES,
  type VisitorVariablesEvent,
  claimSetBy,
  visitorKey,
} from '@svp/variables-domain';
import type { VariableRecord } from './session-variables.projection.js';

/** One visitor variable in the read model: its provenance and the rooms it is limited to (none: every room). */
export interface VisitorVariableRecord extends VariableRecord {
  rooms?: RoomRef[];
  /** The signing key that signed it, or verified the identity its claim came from. */
  kid?: string;
}

/** The read model behind GET /v1/visitors/{id}: one document per org and visitor. */
export interface VisitorVariablesDoc {
  orgId: string;
  visitorId: string;
  /** From `username`, whatever rooms it is limited to ("Visitor" without one); reads show it only where that variable is visible. */
  displayName: string;
  variables: Record<string, VisitorVariableRecord>;
}

type Event = ProjectedEvent<VisitorVariablesEvent['type'], VisitorVariablesEvent['data']>;

export const visitorVariablesProjection = defineDocumentProjection<VisitorVariablesDoc, Event>({
  name: 'visitor_variables',
  version: 1,
  canHandle: VISITOR_VARIABLES_EVENT_TYPES,
  // One document per org and visitor: orgs never share a visitor id namespace.
  documentId: (event) => {
    const { orgId, visitorId } = event.data as { orgId: string; visitorId: string };
    return visitorKey(orgId, visitorId);
  },
  evolve: (doc, event) => {
    const domainEvent = { type: event.type, data: event.data } as VisitorVariablesEvent;
    switch (domainEvent.type) {
      case 'VisitorVariablesSubmitted':
      case 'VisitorClaimVariablesApplied': {
        const { orgId, visitorId, changes, displayName, kid, at } = domainEvent.data;
        const removed = domainEvent.type === 'VisitorVariablesSubmitted' ? domainEvent.data.removed : [];
        const setBy = domainEvent.type === 'VisitorVariablesSubmitted' ? domainEvent.data.setBy : claimSetBy(kid);
        const variables = new Map(Object.entries(doc?.variables ?? {}));
        for (const name of removed) variables.delete(name);
        for (const c of changes)
          variables.set(c.name, {
            value: c.value,
            source: c.source,
            verified: c.verified,
            version: c.version,
            updatedAt: at,
            ...(setBy ? { setBy } : {}),
            ...(c.verified && kid ? { kid } : {}),
            ...(c.rooms ? { rooms: c.rooms } : {}),
          });
        return {
          orgId,
          visitorId,
          displayName: displayName ?? doc?.displayName ?? DEFAULT_DISPLAY_NAME,
          // Object.fromEntries defines own properties: no name can reach an object's prototype.
          variables: Object.fromEntries(variables),
        };
      }
    }
  },
});
