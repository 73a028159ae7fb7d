import { type SqlExecutor, quoteIdent } from '@svp/postgres';
import { type ProjectedEvent, defineDocumentProjection, defineProjection } from '@svp/projections';
import {
  ERASURE_EVENT_TYPES,
  type ErasureEvent,
  type ErasureState,
  type SessionVariablesEvent,
  VARIABLE_SETTINGS_EVENT_TYPES,
  type VariableSettingsEvent,
  type VariableSettingsState,
  type VisitorVariablesEvent,
  evolveErasure,
  evolveSettings,
  kidOfSetBy,
} from '@svp/variables-domain';

/**
 * The variables service's smaller read models: which streams hold values each signing key vouches
 * for (for revocation), the orgs' settings, and the erasure records.
 */

type Projected = ProjectedEvent<string, unknown>;
const sessionEvent = (event: Projected) => ({ type: event.type, data: event.data }) as SessionVariablesEvent;
const visitorEvent = (event: Projected) => ({ type: event.type, data: event.data }) as VisitorVariablesEvent;

/** The signing key (if any) an event's verified values are vouched for by. */
function vouchingKid(event: Projected): string | undefined {
  switch (event.type) {
    case 'SessionVariablesSet': {
      const e = sessionEvent(event);
      if (e.type !== 'SessionVariablesSet' || !e.data.changes.some((c) => c.verified)) return undefined;
      return e.data.kid ?? kidOfSetBy(e.data.setBy);
    }
    case 'MetadataVariablesSet': {
      const e = sessionEvent(event);
      return e.type === 'MetadataVariablesSet' ? e.data.kid : undefined;
    }
    case 'VisitorVariablesSubmitted':
    case 'VisitorClaimVariablesApplied': {
      const e = visitorEvent(event);
      if (e.type !== 'VisitorVariablesSubmitted' && e.type !== 'VisitorClaimVariablesApplied') return undefined;
      return e.data.changes.some((c) => c.verified) ? e.data.kid : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Which streams hold values a signing key vouches for (org, kid, stream): what a revocation has to
 * un-verify. A row may outlive its values (a later write replaced them): un-verifying then finds
 * nothing and decides nothing.
 */
export const signedVariablesProjection = defineProjection<Projected>({
  name: 'signed_variables',
  version: 1,
  canHandle: ['SessionVariablesSet', 'MetadataVariablesSet', 'VisitorVariablesSubmitted', 'VisitorClaimVariablesApplied', 'SessionVariablesErased', 'VisitorVariablesErased'],
  async setup(tx, table) {
    await tx.exec(`
      CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (
        org_id text NOT NULL,
        kid text NOT NULL,
        stream_name text NOT NULL,
        PRIMARY KEY (org_id, kid, stream_name)
      );
      CREATE INDEX IF NOT EXISTS ${quoteIdent(`${table}_by_stream`)} ON ${quoteIdent(table)} (stream_name)`);
  },
  async apply(tx, table, events) {
    const t = quoteIdent(table);
    for (const event of events) {
      if (event.type === 'SessionVariablesErased' || event.type === 'VisitorVariablesErased') {
        await tx.query(`DELETE FROM ${t} WHERE stream_name = $1`, [event.streamName]);
        continue;
      }
      const kid = vouchingKid(event);
      const orgId = (event.data as { orgId: string }).orgId;
      if (kid) await tx.query(`INSERT INTO ${t} (org_id, kid, stream_name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [orgId, kid, event.streamName]);
    }
  },
});

/** The streams of one org holding values `kid` vouches for. */
export async function streamsSignedBy(sql: SqlExecutor, table: string, orgId: string, kid: string): Promise<string[]> {
  const { rows } = await sql.query<{ stream_name: string }>(`SELECT stream_name FROM ${quoteIdent(table)} WHERE org_id = $1 AND kid = $2 ORDER BY stream_name`, [orgId, kid]);
  return rows.map((r) => r.stream_name);
}

/** An org's variable settings as configured (no document: the platform's defaults apply). */
export type VariableSettingsDoc = Extract<VariableSettingsState, { status: 'configured' }>;

export const variableSettingsProjection = defineDocumentProjection<VariableSettingsDoc, ProjectedEvent<VariableSettingsEvent['type'], VariableSettingsEvent['data']>>({
  name: 'variable_settings',
  version: 1,
  canHandle: VARIABLE_SETTINGS_EVENT_TYPES,
  documentId: (event) => event.data.orgId,
  evolve: (doc, event) => {
    const next = evolveSettings(doc ?? { status: 'default' }, { type: event.type, data: event.data } as VariableSettingsEvent);
    return next.status === 'configured' ? next : null;
  },
});

/** An erasure record as GET /v1/erasures/{id} shows it. */
export type ErasureDoc = Exclude<ErasureState, { status: 'none' }>;

export const erasuresProjection = defineDocumentProjection<ErasureDoc, ProjectedEvent<ErasureEvent['type'], ErasureEvent['data']>>({
  name: 'variable_erasures',
  version: 1,
  canHandle: ERASURE_EVENT_TYPES,
  documentId: (event) => `${event.data.orgId}.${event.data.erasureId}`,
  evolve: (doc, event) => {
    const next = evolveErasure(doc ?? { status: 'none' }, { type: event.type, data: event.data } as ErasureEvent);
    return next.status === 'none' ? null : next;
  },
});
