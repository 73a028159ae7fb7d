import { type ProjectedEvent, defineDocumentProjection } from '@svp/projections';
import {
  SESSION_VARIABLES_EVENT_TYPES,
  type SessionLink,
  type SessionVariablesEvent,
  type SessionVariablesState,
  type VariableState,
  evolve,
  sessionKey,
} from '@svp/variables-domain';

/** One variable in the read model, with its provenance (as the aggregate holds it). */
export type VariableRecord = VariableState;

/** The read model behind GET /v1/sessions/{id}/variables: one document per live session. */
export interface SessionVariablesDoc {
  orgId: string;
  sessionId: string;
  /** The session's visitor, once its start arrived from the sessions service (their variables show in the session's reads). */
  visitorId?: string;
  channelId?: string;
  brandId?: string;
  /** Session scope. */
  variables: Record<string, VariableRecord>;
  /** Metadata scope: only the names a verified identity set (the reader shows the rest as unauthenticated). */
  metadata: Record<string, VariableRecord>;
}

type Event = ProjectedEvent<SessionVariablesEvent['type'], SessionVariablesEvent['data']>;

/** The document of a session's state: only a live session has one (an ended or erased one reads as empty). */
export function sessionDocOf(state: SessionVariablesState): SessionVariablesDoc | null {
  if (state.status !== 'active') return null;
  const { orgId, sessionId, link, variables, metadata } = state;
  // Literals, not spreads of temporary objects: a rebuild runs this per event.
  if (!link) return { orgId, sessionId, variables, metadata };
  const { visitorId, channelId, brandId } = link;
  return brandId
    ? { orgId, sessionId, visitorId, channelId, brandId, variables, metadata }
    : { orgId, sessionId, visitorId, channelId, variables, metadata };
}

/** The state a document stands for (what the pure evolve continues from). */
function stateOf(doc: SessionVariablesDoc | null): SessionVariablesState {
  if (!doc) return { status: 'empty' };
  const { orgId, sessionId, variables, metadata } = doc;
  if (!(doc.visitorId && doc.channelId)) return { status: 'active', orgId, sessionId, variables, metadata };
  const link: SessionLink = doc.brandId
    ? { visitorId: doc.visitorId, channelId: doc.channelId, brandId: doc.brandId }
    : { visitorId: doc.visitorId, channelId: doc.channelId };
  return { status: 'active', orgId, sessionId, link, variables, metadata };
}

export const sessionVariablesProjection = defineDocumentProjection<SessionVariablesDoc, Event>({
  name: 'session_variables',
  // v3: the document knows the session's visitor (and channel, brand), variables keep the key that
  // vouches for them; built from position 0 in its own table (rm_session_variables_v3) beside v2.
  version: 3,
  canHandle: SESSION_VARIABLES_EVENT_TYPES,
  // One document per org and session: orgs never share a session id namespace.
  documentId: (event) => {
    const { orgId, sessionId } = event.data as { orgId: string; sessionId: string };
    return sessionKey(orgId, sessionId);
  },
  // The aggregate's own evolve: the read model cannot drift from what the decider sees.
  evolve: (doc, event) => sessionDocOf(evolve(stateOf(doc), { type: event.type, data: event.data } as SessionVariablesEvent)),
});
