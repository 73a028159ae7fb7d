import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { VariableScope, VariableView } from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import {
  METADATA_NAMES,
  UNAUTHENTICATED_METADATA,
  type VariableState,
  type VisitorVariableState,
  own,
  sessionKey,
  sessionStateAsOf,
  sessionVariablesStream,
  visibleInRooms,
  visitorKey,
  visitorStateAsOf,
  visitorVariablesStream,
} from '@svp/variables-domain';
import type { VariablesReadModel, VisitorReadModel } from '../read-model.js';
import type { SessionVariablesDoc } from '../session-variables.projection.js';
import { EVENT_STORE, VARIABLES_READ_MODEL, VISITOR_READ_MODEL } from '../tokens.js';
import type { VisitorVariablesDoc } from '../visitor-variables.projection.js';

export class GetSessionVariables {
  constructor(
    readonly orgId: string,
    readonly sessionId: string,
    /** The rooms (ids or names) the read is for: visitor variables limited to other rooms are left out. */
    readonly rooms: readonly string[] = [],
    /** Read the state at this time (from the event store) instead of now (from the read model). */
    readonly asOf?: string,
  ) {}
}

const view = (name: string, scope: VariableScope, v: VariableState): VariableView => ({
  name,
  value: v.value,
  scope,
  source: v.source,
  verified: v.verified,
  updatedAt: v.updatedAt,
  version: v.version,
});

const byName = (a: VariableView, b: VariableView) => a.name.localeCompare(b.name);

/**
 * A session's variables, all scopes together: session scope (by name), then the visitor's variables
 * the session does not hold itself (by name; only those visible in `rooms`), then the four metadata
 * variables, always present (a session nobody authenticated shows `authenticatedStatus: false` and
 * null for the others, version 0). Session scope wins a name clash with the visitor scope; metadata
 * names cannot be written in either, so they never clash.
 */
export function toVariableViews(
  doc: Pick<SessionVariablesDoc, 'variables' | 'metadata'> | undefined,
  visitor?: Pick<VisitorVariablesDoc, 'variables'>,
  rooms: readonly string[] = [],
): VariableView[] {
  const session = Object.entries(doc?.variables ?? {})
    .map(([name, v]) => view(name, 'session', v))
    .sort(byName);
  const taken = new Set(session.map((v) => v.name));
  const visitorViews = Object.entries<VisitorVariableState>(visitor?.variables ?? {})
    .filter(([name, v]) => !taken.has(name) && visibleInRooms(v.rooms, rooms))
    .map(([name, v]) => view(name, 'visitor', v))
    .sort(byName);
  for (const v of visitorViews) taken.add(v.name);
  const metadata = METADATA_NAMES.filter((name) => !taken.has(name)).map((name) => {
    const record = doc?.metadata ? own(doc.metadata, name) : undefined;
    return record
      ? view(name, 'metadata', record)
      : { name, value: UNAUTHENTICATED_METADATA[name], scope: 'metadata' as const, source: 'claim' as const, verified: false, updatedAt: null, version: 0 };
  });
  return [...session, ...visitorViews, ...metadata];
}

/**
 * Variables of one org's session, with provenance (each org has its own session ids): now, from the
 * read models; or as of a past time, folded from the session's and its visitor's streams.
 */
@QueryHandler(GetSessionVariables)
export class GetSessionVariablesHandler implements IQueryHandler<GetSessionVariables, VariableView[]> {
  constructor(
    @Inject(VARIABLES_READ_MODEL) private readonly readModel: VariablesReadModel,
    @Inject(VISITOR_READ_MODEL) private readonly visitorReadModel: VisitorReadModel,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute({ orgId, sessionId, rooms, asOf }: GetSessionVariables): Promise<VariableView[]> {
    if (asOf) return this.asOf(orgId, sessionId, rooms, asOf);
    const doc = await this.readModel.get(sessionKey(orgId, sessionId));
    const visitor = doc?.visitorId ? await this.visitorReadModel.get(visitorKey(orgId, doc.visitorId)) : undefined;
    return toVariableViews(doc, visitor, rooms);
  }

  private async asOf(orgId: string, sessionId: string, rooms: readonly string[], asOf: string): Promise<VariableView[]> {
    const state = sessionStateAsOf(await this.store.readStream(sessionVariablesStream(orgId, sessionId)), asOf);
    const session = state.status === 'active' ? state : undefined;
    const visitorId = state.status === 'active' || state.status === 'discarded' ? state.link?.visitorId : undefined;
    // A session that had ended by then showed no variables of its own, and no longer its visitor's.
    const visitorState = session && visitorId ? visitorStateAsOf(await this.store.readStream(visitorVariablesStream(orgId, visitorId)), asOf) : undefined;
    return toVariableViews(session, visitorState?.status === 'known' ? visitorState : undefined, rooms);
  }
}
