import type { VariableSource, VariableValue } from '@svp/contracts';
import { type ProjectedEvent, defineDocumentProjection } from '@svp/projections';
import {
  SESSION_VARIABLES_EVENT_TYPES,
  type SessionVariablesEvent,
  type VariableChange,
  claimSetBy,
  sessionKey,
} from '@svp/variables-domain';

/** One variable in the read model, with its provenance. */
export interface VariableRecord {
  value: VariableValue;
  source: VariableSource;
  verified: boolean;
  version: number;
  updatedAt: string;
  /** Who set it: an API key id, or `claim:<kid>` for what a verified identity set. */
  setBy?: string;
}

/** The read model behind GET /v1/sessions/{id}/variables: one document per session. */
export interface SessionVariablesDoc {
  orgId: string;
  sessionId: string;
  /** Session scope. */
  variables: Record<string, VariableRecord>;
  /** Metadata scope: only the names a verified identity set (the reader shows the rest as unauthenticated). */
  metadata: Record<string, VariableRecord>;
}

type Event = ProjectedEvent<SessionVariablesEvent['type'], SessionVariablesEvent['data']>;

const withChanges = (records: Record<string, VariableRecord>, changes: VariableChange[], at: string, setBy: string | undefined) => {
  const next = { ...records };
  for (const c of changes)
    next[c.name] = { value: c.value, source: c.source, verified: c.verified, version: c.version, updatedAt: at, ...(setBy ? { setBy } : {}) };
  return next;
};

export const sessionVariablesProjection = defineDocumentProjection<SessionVariablesDoc, Event>({
  name: 'session_variables',
  // v2: the document holds the metadata scope (and who set each variable); built from position 0 in
  // its own table (rm_session_variables_v2) beside v1.
  version: 2,
  canHandle: SESSION_VARIABLES_EVENT_TYPES,
  // One document per org and session: orgs never share a session id namespace.
  documentId: (event) => {
    const { orgId, sessionId } = event.data as { orgId: string; sessionId: string };
    return sessionKey(orgId, sessionId);
  },
  evolve: (doc, event) => {
    const domainEvent = { type: event.type, data: event.data } as SessionVariablesEvent;
    switch (domainEvent.type) {
      case 'SessionVariablesSet': {
        const { orgId, sessionId, changes, setBy, at } = domainEvent.data;
        return { orgId, sessionId, variables: withChanges(doc?.variables ?? {}, changes, at, setBy), metadata: doc?.metadata ?? {} };
      }
      case 'MetadataVariablesSet': {
        const { orgId, sessionId, changes, kid, at } = domainEvent.data;
        return { orgId, sessionId, variables: doc?.variables ?? {}, metadata: withChanges(doc?.metadata ?? {}, changes, at, claimSetBy(kid)) };
      }
      case 'SessionVariablesDiscarded':
        // The session ended: its session variables and its metadata go.
        return null;
    }
  },
});
