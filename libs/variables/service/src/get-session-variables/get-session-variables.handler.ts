import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { VariableView } from '@svp/contracts';
import { sessionKey } from '@svp/variables-domain';
import { VARIABLES_READ_MODEL } from '../tokens.js';
import type { VariablesReadModel } from '../read-model.js';

export class GetSessionVariables {
  constructor(
    readonly orgId: string,
    readonly sessionId: string,
  ) {}
}

/** Session-scope variables of one org's session, with provenance (each org has its own session ids). */
@QueryHandler(GetSessionVariables)
export class GetSessionVariablesHandler implements IQueryHandler<GetSessionVariables, VariableView[]> {
  constructor(@Inject(VARIABLES_READ_MODEL) private readonly readModel: VariablesReadModel) {}

  async execute({ orgId, sessionId }: GetSessionVariables): Promise<VariableView[]> {
    const doc = await this.readModel.get(sessionKey(orgId, sessionId));
    if (!doc) return [];
    return Object.entries(doc.variables)
      .map(([name, v]) => ({ name, value: v.value, scope: 'session' as const, source: v.source, verified: v.verified, updatedAt: v.updatedAt, version: v.version }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
