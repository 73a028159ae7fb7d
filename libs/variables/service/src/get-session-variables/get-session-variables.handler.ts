import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { VariableScope, VariableView } from '@svp/contracts';
import { METADATA_NAMES, UNAUTHENTICATED_METADATA, sessionKey } from '@svp/variables-domain';
import { VARIABLES_READ_MODEL } from '../tokens.js';
import type { VariablesReadModel } from '../read-model.js';
import type { SessionVariablesDoc, VariableRecord } from '../session-variables.projection.js';

export class GetSessionVariables {
  constructor(
    readonly orgId: string,
    readonly sessionId: string,
  ) {}
}

const view = (name: string, scope: VariableScope, v: VariableRecord): VariableView => ({
  name,
  value: v.value,
  scope,
  source: v.source,
  verified: v.verified,
  updatedAt: v.updatedAt,
  version: v.version,
});

/**
 * A session's variables, all scopes together: session scope first (by name), then the four metadata
 * variables, always present (a session nobody authenticated shows `authenticatedStatus: false` and
 * null for the others, version 0). Session scope wins a name clash (today the decider keeps metadata
 * names out of the session scope, so none can occur).
 */
export function toVariableViews(doc: SessionVariablesDoc | undefined): VariableView[] {
  const session = Object.entries(doc?.variables ?? {})
    .map(([name, v]) => view(name, 'session', v))
    .sort((a, b) => a.name.localeCompare(b.name));
  const taken = new Set(session.map((v) => v.name));
  const metadata = METADATA_NAMES.filter((name) => !taken.has(name)).map((name) => {
    const record = doc?.metadata && Object.hasOwn(doc.metadata, name) ? doc.metadata[name] : undefined;
    return record
      ? view(name, 'metadata', record)
      : { name, value: UNAUTHENTICATED_METADATA[name], scope: 'metadata' as const, source: 'claim' as const, verified: false, updatedAt: null, version: 0 };
  });
  return [...session, ...metadata];
}

/** Variables of one org's session, with provenance (each org has its own session ids). */
@QueryHandler(GetSessionVariables)
export class GetSessionVariablesHandler implements IQueryHandler<GetSessionVariables, VariableView[]> {
  constructor(@Inject(VARIABLES_READ_MODEL) private readonly readModel: VariablesReadModel) {}

  async execute({ orgId, sessionId }: GetSessionVariables): Promise<VariableView[]> {
    return toVariableViews(await this.readModel.get(sessionKey(orgId, sessionId)));
  }
}
