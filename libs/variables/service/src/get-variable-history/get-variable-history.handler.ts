import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { VariableHistoryEntry, VariableHistoryResponse } from '@svp/contracts';
import type { EventStore } from '@svp/event-store';
import {
  type HistoryEntry,
  sessionVariableHistory,
  sessionVariablesStream,
  visitorVariableHistory,
  visitorVariablesStream,
} from '@svp/variables-domain';
import { EVENT_STORE } from '../tokens.js';
import { loadFolded, sessionFold } from '../stores.js';

/** The history of one name as a session's reads show it: session, visitor and metadata scope. */
export class GetSessionVariableHistory {
  constructor(
    readonly orgId: string,
    readonly sessionId: string,
    readonly name: string,
  ) {}
}

/** The history of one visitor variable. */
export class GetVisitorVariableHistory {
  constructor(
    readonly orgId: string,
    readonly visitorId: string,
    readonly name: string,
  ) {}
}

const toEntry = (e: HistoryEntry): VariableHistoryEntry => e;

/** Oldest first; at the same time, the order the streams hold them in (session before visitor). */
function merged(...lists: HistoryEntry[][]): VariableHistoryEntry[] {
  return lists
    .flat()
    .map((entry, i) => ({ entry, i, at: Date.parse(entry.updatedAt) }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map(({ entry }) => toEntry(entry));
}

/**
 * Every value a name had, with its provenance, folded from the streams themselves: the event store is
 * the audit log. An ended session's history stays readable while its stream is kept (the org's
 * retention); an erased one's is gone.
 */
@QueryHandler(GetSessionVariableHistory)
export class GetSessionVariableHistoryHandler implements IQueryHandler<GetSessionVariableHistory, VariableHistoryResponse> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ orgId, sessionId, name }: GetSessionVariableHistory): Promise<VariableHistoryResponse> {
    const { state, events } = await loadFolded(this.store, sessionVariablesStream(orgId, sessionId), sessionFold);
    const session = sessionVariableHistory(events, name);
    const visitorId = state.status === 'active' || state.status === 'discarded' ? state.link?.visitorId : undefined;
    const visitor = visitorId ? visitorVariableHistory(await this.store.readStream(visitorVariablesStream(orgId, visitorId)), name) : [];
    return { name, history: merged(session, visitor) };
  }
}

@QueryHandler(GetVisitorVariableHistory)
export class GetVisitorVariableHistoryHandler implements IQueryHandler<GetVisitorVariableHistory, VariableHistoryResponse> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ orgId, visitorId, name }: GetVisitorVariableHistory): Promise<VariableHistoryResponse> {
    return { name, history: merged(visitorVariableHistory(await this.store.readStream(visitorVariablesStream(orgId, visitorId)), name)) };
  }
}
