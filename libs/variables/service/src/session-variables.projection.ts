import type { VariableSource, VariableValue } from '@svp/contracts';
import { type ProjectedEvent, defineDocumentProjection } from '@svp/projections';
import { type SessionVariablesEvent, sessionKey } from '@svp/variables-domain';

/** The read model behind GET /v1/sessions/{id}/variables: one document per session. */
export interface SessionVariablesDoc {
  orgId: string;
  sessionId: string;
  variables: Record<
    string,
    { value: VariableValue; source: VariableSource; verified: boolean; version: number; updatedAt: string }
  >;
}

type Event = ProjectedEvent<SessionVariablesEvent['type'], SessionVariablesEvent['data']>;

export const sessionVariablesProjection = defineDocumentProjection<SessionVariablesDoc, Event>({
  name: 'session_variables',
  version: 1,
  canHandle: ['SessionVariablesSet', 'SessionVariablesDiscarded'],
  // One document per org and session: orgs never share a session id namespace.
  documentId: (event) => {
    const { orgId, sessionId } = event.data as { orgId: string; sessionId: string };
    return sessionKey(orgId, sessionId);
  },
  evolve: (doc, event) => {
    const domainEvent = { type: event.type, data: event.data } as SessionVariablesEvent;
    switch (domainEvent.type) {
      case 'SessionVariablesSet': {
        const { orgId, sessionId, changes, at } = domainEvent.data;
        const variables = { ...(doc?.variables ?? {}) };
        for (const c of changes)
          variables[c.name] = { value: c.value, source: c.source, verified: c.verified, version: c.version, updatedAt: at };
        return { orgId, sessionId, variables };
      }
      case 'SessionVariablesDiscarded':
        return null;
    }
  },
});
