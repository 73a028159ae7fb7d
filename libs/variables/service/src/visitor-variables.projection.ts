import { type ProjectedEvent, defineDocumentProjection } from '@svp/projections';
import {
  VISITOR_VARIABLES_EVENT_TYPES,
  type VisitorVariableState,
  type VisitorVariablesEvent,
  type VisitorVariablesState,
  evolveVisitorVariables,
  visitorKey,
} from '@svp/variables-domain';

/** One visitor variable in the read model: its provenance and the rooms it is limited to (none: every room). */
export type VisitorVariableRecord = VisitorVariableState;

/** The read model behind GET /v1/visitors/{id}: one document per org and visitor. */
export interface VisitorVariablesDoc {
  orgId: string;
  visitorId: string;
  /** From `username`, whatever rooms it is limited to ("Visitor" without one); reads show it only where that variable is visible. */
  displayName: string;
  variables: Record<string, VisitorVariableRecord>;
  /** The last version of each name a replacing submit removed (versions never repeat). */
  retired: Record<string, number>;
}

type Event = ProjectedEvent<VisitorVariablesEvent['type'], VisitorVariablesEvent['data']>;

/** The document of a visitor's state (their sessions stay in the stream: only an erasure needs them). */
export function visitorDocOf(state: VisitorVariablesState): VisitorVariablesDoc | null {
  if (state.status !== 'known') return null;
  const { orgId, visitorId, displayName, variables, retired } = state;
  return { orgId, visitorId, displayName, variables, retired };
}

const stateOf = (doc: VisitorVariablesDoc | null): VisitorVariablesState =>
  doc
    ? { status: 'known', orgId: doc.orgId, visitorId: doc.visitorId, displayName: doc.displayName, variables: doc.variables, retired: doc.retired ?? {}, sessions: [] }
    : { status: 'unknown' };

export const visitorVariablesProjection = defineDocumentProjection<VisitorVariablesDoc, Event>({
  name: 'visitor_variables',
  // v2: unverified and erased visitors, the retired versions; built beside v1 from position 0.
  version: 2,
  canHandle: VISITOR_VARIABLES_EVENT_TYPES,
  // One document per org and visitor: orgs never share a visitor id namespace.
  documentId: (event) => {
    const { orgId, visitorId } = event.data as { orgId: string; visitorId: string };
    return visitorKey(orgId, visitorId);
  },
  // The aggregate's own evolve: the read model cannot drift from what the decider sees.
  evolve: (doc, event) => visitorDocOf(evolveVisitorVariables(stateOf(doc), { type: event.type, data: event.data } as VisitorVariablesEvent)),
});
