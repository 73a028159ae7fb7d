import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { VariableView, VisitorResponse } from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import { DISPLAY_NAME_VARIABLE, displayNameOf, visibleInRooms, visitorKey, visitorStateAsOf, visitorVariablesStream } from '@svp/variables-domain';
import type { VisitorReadModel } from '../read-model.js';
import { EVENT_STORE, VISITOR_READ_MODEL } from '../tokens.js';
import type { VisitorVariablesDoc } from '../visitor-variables.projection.js';

export class GetVisitor {
  constructor(
    readonly orgId: string,
    readonly visitorId: string,
    /** The rooms (ids or names) the read is for; none: only variables not limited to rooms. */
    readonly rooms: readonly string[] = [],
    /** Read the visitor as at this time (from the event store) instead of now (from the read model). */
    readonly asOf?: string,
  ) {}
}

/**
 * A visitor as a read for `rooms` sees it: the variables not limited to rooms, and those limited to
 * one of `rooms` (by id or name), by name, each with scope `visitor` and its provenance. The display
 * name is the visible `username`'s ("Visitor" when there is none, or it is limited to other rooms).
 * An unknown visitor is a visitor with no variables.
 */
export function toVisitorResponse(visitorId: string, doc: Pick<VisitorVariablesDoc, 'variables'> | undefined, rooms: readonly string[]): VisitorResponse {
  const visible = Object.entries(doc?.variables ?? {}).filter(([, v]) => visibleInRooms(v.rooms, rooms));
  const variables = visible
    .map(([name, v]): VariableView => ({ name, value: v.value, scope: 'visitor', source: v.source, verified: v.verified, updatedAt: v.updatedAt, version: v.version }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const username = variables.find((v) => v.name === DISPLAY_NAME_VARIABLE);
  return { visitorId, displayName: displayNameOf(username?.value), variables };
}

/** One org's visitor (each org has its own visitor ids): now, or as of a past time. */
@QueryHandler(GetVisitor)
export class GetVisitorHandler implements IQueryHandler<GetVisitor, VisitorResponse> {
  constructor(
    @Inject(VISITOR_READ_MODEL) private readonly readModel: VisitorReadModel,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async execute({ orgId, visitorId, rooms, asOf }: GetVisitor): Promise<VisitorResponse> {
    if (!asOf) return toVisitorResponse(visitorId, await this.readModel.get(visitorKey(orgId, visitorId)), rooms);
    const state = visitorStateAsOf(await this.store.readStream(visitorVariablesStream(orgId, visitorId)), asOf);
    return toVisitorResponse(visitorId, state.status === 'known' ? state : undefined, rooms);
  }
}
