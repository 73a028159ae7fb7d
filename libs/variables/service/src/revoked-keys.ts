import type { SqlClient } from '@svp/postgres';
import type { StreamWriter } from '@svp/service-kit';
import type { VariableLimits } from '@svp/variables-domain';
import { runSessionCommand, runVisitorCommand } from './stores.js';

/**
 * The signing keys the variables service knows to be revoked (from SigningKeyChanged on
 * identity.events.v1). A revocation un-verifies what its key vouched for in every stream found then;
 * this list closes the gaps around it: an IdentityVerified consumed after the revocation (they travel
 * on different partitions, so in any order), or a signed submit whose signature was checked just
 * before. Each write that stores values vouched for by a key checks the list afterwards, and
 * un-verifies at once when the key is on it.
 */
const MIGRATION = `
CREATE TABLE IF NOT EXISTS variables_revoked_keys (
  org_id     text        NOT NULL,
  kid        text        NOT NULL,
  revoked_at timestamptz NOT NULL,
  PRIMARY KEY (org_id, kid)
);
`;

export class RevokedKeys {
  private ready?: Promise<void>;

  constructor(private readonly sql: SqlClient) {}

  setup(): Promise<void> {
    this.ready ??= this.sql.exec(MIGRATION);
    return this.ready;
  }

  /** Records a revocation (idempotent). Recorded before the streams are searched, so a write after the search sees it. */
  async record(orgId: string, kid: string, at: string): Promise<void> {
    await this.setup();
    await this.sql.query('INSERT INTO variables_revoked_keys (org_id, kid, revoked_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [orgId, kid, at]);
  }

  async isRevoked(orgId: string, kid: string): Promise<boolean> {
    await this.setup();
    const { rows } = await this.sql.query('SELECT 1 FROM variables_revoked_keys WHERE org_id = $1 AND kid = $2', [orgId, kid]);
    return rows.length > 0;
  }
}

/**
 * After a write of values vouched for by `kid` (to a session's or a visitor's stream): when the key
 * is revoked by now, what it vouched for there is un-verified at once (the decider finds it, or
 * nothing when the revocation's own search already did). Answers the stream's position after it, or
 * undefined when the key is not revoked.
 */
export async function unverifyIfRevoked(
  deps: { writer: StreamWriter; revokedKeys: RevokedKeys },
  target: { orgId: string; kid: string | undefined; limits: VariableLimits; now: string } & ({ sessionId: string } | { visitorId: string }),
): Promise<bigint | undefined> {
  const { orgId, kid, limits, now } = target;
  if (!kid || !(await deps.revokedKeys.isRevoked(orgId, kid))) return undefined;
  const result =
    'sessionId' in target
      ? await runSessionCommand(deps.writer, { type: 'UnverifyKey', data: { orgId, sessionId: target.sessionId, kid, now } }, limits)
      : await runVisitorCommand(deps.writer, { type: 'UnverifyKey', data: { orgId, visitorId: target.visitorId, kid, now } }, limits);
  return result.ok ? result.position : undefined;
}
