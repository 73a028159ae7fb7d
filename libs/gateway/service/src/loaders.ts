import type { SessionView, SessionsBatchResponse, SessionsVariablesBatchResponse, VariableView, VariablesResponse, VisitorResponse, VisitorsBatchResponse } from '@svp/contracts';
import DataLoader from 'dataloader';
import type { ServiceClient } from './service-client.js';

/** The most ids one batch call carries (the services' batch endpoints take up to 200). */
const MAX_BATCH = 200;

/**
 * The per-request loaders: every session, session's variables and visitor a GraphQL request
 * reaches is fetched once, and all those of one kind in one call to the service's batch endpoint
 * (no N+1). A visitor token reaches only its own session and visitor, so it is never more than one
 * id: it uses the public single-id routes, which are the ones open to visitor tokens.
 */
export class Loaders {
  readonly sessions: DataLoader<string, SessionView | null>;
  private readonly sessionVariablesByRoom = new Map<string, DataLoader<string, VariableView[]>>();
  private readonly visitorsByRoom = new Map<string, DataLoader<string, VisitorResponse>>();

  constructor(
    readonly client: ServiceClient,
    /** The caller holds a visitor token (single-id routes). */
    private readonly visitor: boolean,
  ) {
    this.sessions = new DataLoader(
      async (ids) => {
        if (this.visitor)
          return Promise.all(ids.map((id) => client.call<SessionView>('sessions', { method: 'GET', route: '/v1/sessions/{sessionId}', path: `/v1/sessions/${encodeURIComponent(id)}`, notFoundAsNull: true })));
        const answer = await client.call<SessionsBatchResponse>('sessions', { method: 'POST', route: '/internal/v1/sessions/batch', path: '/internal/v1/sessions/batch', body: { sessionIds: ids } });
        return answer.sessions;
      },
      { maxBatchSize: MAX_BATCH },
    );
  }

  /** A session's variables, all scopes together (`room` adds the visitor's data limited to it). */
  sessionVariables(room?: string): DataLoader<string, VariableView[]> {
    const key = room ?? '';
    let loader = this.sessionVariablesByRoom.get(key);
    if (!loader) {
      loader = new DataLoader(
        async (ids) => {
          if (this.visitor)
            return Promise.all(
              ids.map(async (id) => {
                const answer = await this.client.call<VariablesResponse>('variables', {
                  method: 'GET',
                  route: '/v1/sessions/{sessionId}/variables',
                  path: `/v1/sessions/${encodeURIComponent(id)}/variables`,
                  query: { room },
                });
                return answer.variables;
              }),
            );
          const answer = await this.client.call<SessionsVariablesBatchResponse>('variables', {
            method: 'POST',
            route: '/internal/v1/variables/sessions/batch',
            path: '/internal/v1/variables/sessions/batch',
            body: { sessionIds: ids, ...(room ? { room } : {}) },
          });
          const byId = new Map(answer.sessions.map((s) => [s.sessionId, s.variables]));
          return ids.map((id) => byId.get(id) ?? []);
        },
        { maxBatchSize: MAX_BATCH },
      );
      this.sessionVariablesByRoom.set(key, loader);
    }
    return loader;
  }

  visitors(room?: string): DataLoader<string, VisitorResponse> {
    const key = room ?? '';
    let loader = this.visitorsByRoom.get(key);
    if (!loader) {
      loader = new DataLoader(
        async (ids) => {
          if (this.visitor)
            return Promise.all(
              ids.map((id) =>
                this.client.call<VisitorResponse>('variables', { method: 'GET', route: '/v1/visitors/{visitorId}', path: `/v1/visitors/${encodeURIComponent(id)}`, query: { room } }),
              ),
            );
          const answer = await this.client.call<VisitorsBatchResponse>('variables', {
            method: 'POST',
            route: '/internal/v1/variables/visitors/batch',
            path: '/internal/v1/variables/visitors/batch',
            body: { visitorIds: ids, ...(room ? { room } : {}) },
          });
          const byId = new Map(answer.visitors.map((v) => [v.visitorId, v]));
          return ids.map((id) => byId.get(id) ?? { visitorId: id, displayName: 'Visitor', variables: [] });
        },
        { maxBatchSize: MAX_BATCH },
      );
      this.visitorsByRoom.set(key, loader);
    }
    return loader;
  }

  /** Forgets what was loaded about a session (a mutation changed it). */
  forgetSession(sessionId: string): void {
    this.sessions.clear(sessionId);
    for (const loader of this.sessionVariablesByRoom.values()) loader.clear(sessionId);
  }

  forgetVisitor(visitorId: string): void {
    for (const loader of this.visitorsByRoom.values()) loader.clear(visitorId);
    // The sessions' combined reads include the visitor's variables.
    for (const loader of this.sessionVariablesByRoom.values()) loader.clearAll();
  }
}
