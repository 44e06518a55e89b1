import type { Pool, PoolClient } from "pg";
import type { Link } from "../../engine/ports.js";

export interface LinkRow {
  entity: string;
  ghl_location_id: string;
  ghl_id: string;
  coopel_account_id: string;
  coopel_id: string | null;
  field_hashes: Record<string, string>;
  deleted_at: number | null;
  source_updated_at: number | null;
  updated_at: number;
  tags: string[] | null;
  rule_tags: string[] | null;
  parent_ghl_id: string | null;
  ghl_field_hashes: Record<string, string> | null;
  coopel_tags: string[] | null;
}

export function rowToLink(row: LinkRow): Link {
  const link: Link = {
    entity: row.entity as Link["entity"],
    ghlLocationId: row.ghl_location_id,
    ghlId: row.ghl_id,
    coopelAccountId: row.coopel_account_id,
    coopelId: row.coopel_id,
    fieldHashes: row.field_hashes,
    deletedAt: row.deleted_at,
    updatedAt: row.updated_at,
  };
  // The optional fields are left out when unset, as the Link type allows.
  if (row.source_updated_at !== null)
    link.sourceUpdatedAt = row.source_updated_at;
  if (row.tags !== null) link.tags = row.tags;
  if (row.rule_tags !== null) link.ruleTags = row.rule_tags;
  if (row.parent_ghl_id !== null) link.parentGhlId = row.parent_ghl_id;
  if (row.ghl_field_hashes !== null) link.ghlFieldHashes = row.ghl_field_hashes;
  if (row.coopel_tags !== null) link.coopelTags = row.coopel_tags;
  return link;
}

/** Inserts or replaces links in one statement. Call it inside the caller's transaction. */
export async function writeLinks(
  client: PoolClient,
  links: Link[],
): Promise<void> {
  if (links.length === 0) return;
  // One row per key: the last link given for a key wins, as it would with one statement per link.
  const byKey = new Map<string, Link>();
  for (const link of links)
    byKey.set(
      `${link.entity}\u0000${link.ghlLocationId}\u0000${link.ghlId}`,
      link,
    );
  const rows = [...byKey.values()];
  await client.query(
    `INSERT INTO links (entity, ghl_location_id, ghl_id, coopel_account_id, coopel_id, field_hashes, deleted_at, source_updated_at, updated_at, tags, rule_tags, parent_ghl_id, ghl_field_hashes, coopel_tags)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::bigint[], $8::bigint[], $9::bigint[], $10::jsonb[], $11::jsonb[], $12::text[], $13::jsonb[], $14::jsonb[])
     ON CONFLICT (entity, ghl_location_id, ghl_id) DO UPDATE SET
       coopel_account_id = excluded.coopel_account_id,
       coopel_id = excluded.coopel_id,
       field_hashes = excluded.field_hashes,
       deleted_at = excluded.deleted_at,
       source_updated_at = excluded.source_updated_at,
       updated_at = excluded.updated_at,
       tags = excluded.tags,
       rule_tags = excluded.rule_tags,
       parent_ghl_id = excluded.parent_ghl_id,
       ghl_field_hashes = excluded.ghl_field_hashes,
       coopel_tags = excluded.coopel_tags`,
    [
      rows.map((l) => l.entity),
      rows.map((l) => l.ghlLocationId),
      rows.map((l) => l.ghlId),
      rows.map((l) => l.coopelAccountId),
      rows.map((l) => l.coopelId),
      rows.map((l) => JSON.stringify(l.fieldHashes)),
      rows.map((l) => l.deletedAt),
      rows.map((l) => l.sourceUpdatedAt ?? null),
      rows.map((l) => l.updatedAt),
      rows.map((l) => (l.tags == null ? null : JSON.stringify(l.tags))),
      rows.map((l) =>
        l.ruleTags && l.ruleTags.length > 0 ? JSON.stringify(l.ruleTags) : null,
      ),
      rows.map((l) => l.parentGhlId ?? null),
      rows.map((l) =>
        l.ghlFieldHashes ? JSON.stringify(l.ghlFieldHashes) : null,
      ),
      rows.map((l) =>
        l.coopelTags == null ? null : JSON.stringify(l.coopelTags),
      ),
    ],
  );
}

/** Replaces the rule tags of one contact link; returns false when there is no such link. */
export async function writeRuleTags(
  pool: Pool,
  ghlLocationId: string,
  ghlId: string,
  ruleTags: string[],
  updatedAt: number,
): Promise<boolean> {
  const result = await pool.query(
    "UPDATE links SET rule_tags = $1::jsonb, updated_at = $2 WHERE entity = 'contact' AND ghl_location_id = $3 AND ghl_id = $4",
    [
      ruleTags.length > 0 ? JSON.stringify(ruleTags) : null,
      updatedAt,
      ghlLocationId,
      ghlId,
    ],
  );
  return (result.rowCount ?? 0) > 0;
}

export async function readLink(
  pool: Pool,
  entity: string,
  ghlLocationId: string,
  ghlId: string,
): Promise<Link | null> {
  const { rows } = await pool.query<LinkRow>(
    "SELECT * FROM links WHERE entity = $1 AND ghl_location_id = $2 AND ghl_id = $3",
    [entity, ghlLocationId, ghlId],
  );
  return rows[0] ? rowToLink(rows[0]) : null;
}

export async function readLinks(
  pool: Pool,
  entity: string,
  ghlLocationId: string,
): Promise<Link[]> {
  const { rows } = await pool.query<LinkRow>(
    'SELECT * FROM links WHERE entity = $1 AND ghl_location_id = $2 ORDER BY ghl_id COLLATE "C"',
    [entity, ghlLocationId],
  );
  return rows.map(rowToLink);
}

export async function readLinkByCoopelId(
  pool: Pool,
  entity: string,
  coopelAccountId: string,
  coopelId: string,
): Promise<Link | null> {
  const { rows } = await pool.query<LinkRow>(
    "SELECT * FROM links WHERE entity = $1 AND coopel_account_id = $2 AND coopel_id = $3 LIMIT 1",
    [entity, coopelAccountId, coopelId],
  );
  return rows[0] ? rowToLink(rows[0]) : null;
}
