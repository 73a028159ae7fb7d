import { Inject } from '@nestjs/common';
import { type IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { VariableView } from '@svp/contracts';
import { VARIABLES_READ_MODEL } from '../tokens.js';
import type { VariablesReadModel } from '../read-model.js';

export class GetSessionVariables {
  constructor(
    readonly orgId: string,
    readonly sessionId: string,
  ) {}
}

/** Session-scope variables of a session, with provenance; another org's session reads as empty. */
@QueryHandler(GetSessionVariables)
export class GetSessionVariablesHandler implements IQueryHandler<GetSessionVariables, VariableView[]> {
  constructor(@Inject(VARIABLES_READ_MODEL) private readonly readModel: VariablesReadModel) {}

  async execute({ orgId, sessionId }: GetSessionVariables): Promise<VariableView[]> {
    const doc = await this.readModel.get(sessionId);
    if (!doc || doc.orgId !== orgId) return [];
    return Object.entries(doc.variables)
      .map(([name, v]) => ({ name, value: v.value, scope: 'session' as const, source: v.source, verified: v.verified, updatedAt: v.updatedAt, version: v.version }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
