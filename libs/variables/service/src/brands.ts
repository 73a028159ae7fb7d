import type { SqlClient } from '@svp/postgres';

/**
 * The orgs' brands as the variables service knows them, from BrandCreated on identity.events.v1
 * (never from identity's database): a brand's name is its SalesIQ portal, unique in its org
 * whatever the case.
 */
const MIGRATION = `
CREATE TABLE IF NOT EXISTS variables_brands (
  org_id   text NOT NULL,
  brand_id text NOT NULL,
  name     text NOT NULL,
  name_key text NOT NULL,
  PRIMARY KEY (org_id, brand_id)
);
CREATE INDEX IF NOT EXISTS variables_brands_by_name ON variables_brands (org_id, name_key);
`;

export interface Brand {
  brandId: string;
  name: string;
}

export class BrandDirectory {
  private ready?: Promise<void>;

  constructor(private readonly sql: SqlClient) {}

  setup(): Promise<void> {
    this.ready ??= this.sql.exec(MIGRATION);
    return this.ready;
  }

  /** Records a brand (idempotent: a redelivered BrandCreated changes nothing). */
  async record(orgId: string, brandId: string, name: string): Promise<void> {
    await this.setup();
    await this.sql.query(
      'INSERT INTO variables_brands (org_id, brand_id, name, name_key) VALUES ($1, $2, $3, $4) ON CONFLICT (org_id, brand_id) DO NOTHING',
      [orgId, brandId, name, name.toLowerCase()],
    );
  }

  /** The org's brand with this name (case-insensitive), if it has one. */
  async byName(orgId: string, name: string): Promise<Brand | undefined> {
    await this.setup();
    const { rows } = await this.sql.query<{ brand_id: string; name: string }>(
      'SELECT brand_id, name FROM variables_brands WHERE org_id = $1 AND name_key = $2 ORDER BY brand_id LIMIT 1',
      [orgId, name.toLowerCase()],
    );
    return rows[0] ? { brandId: rows[0].brand_id, name: rows[0].name } : undefined;
  }
}
