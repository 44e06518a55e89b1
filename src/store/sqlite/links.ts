import type { Database } from "better-sqlite3";
import type { Link } from "../../engine/ports.js";
import { prepareCached } from "./statements.js";

export interface LinkRow {
  entity: string;
  ghl_location_id: string;
  ghl_id: string;
  coopel_account_id: string;
  coopel_id: string | null;
  field_hashes: string;
  deleted_at: number | null;
  source_updated_at: number | null;
  updated_at: number;
  tags: string | null;
  rule_tags: string | null;
  parent_ghl_id: string | null;
  ghl_field_hashes: string | null;
  coopel_tags: string | null;
}

export function rowToLink(row: LinkRow): Link {
  const link: Link = {
    entity: row.entity as Link["entity"],
    ghlLocationId: row.ghl_location_id,
    ghlId: row.ghl_id,
    coopelAccountId: row.coopel_account_id,
    coopelId: row.coopel_id,
    fieldHashes: JSON.parse(row.field_hashes) as Record<string, string>,
    deletedAt: row.deleted_at,
    updatedAt: row.updated_at,
  };
  // The optional fields are left out when unset, as the Link type allows.
  if (row.source_updated_at !== null)
    link.sourceUpdatedAt = row.source_updated_at;
  if (row.tags !== null) link.tags = JSON.parse(row.tags) as string[];
  if (row.rule_tags !== null)
    link.ruleTags = JSON.parse(row.rule_tags) as string[];
  if (row.parent_ghl_id !== null) link.parentGhlId = row.parent_ghl_id;
  if (row.ghl_field_hashes !== null)
    link.ghlFieldHashes = JSON.parse(row.ghl_field_hashes) as Record<
      string,
      string
    >;
  if (row.coopel_tags !== null)
    link.coopelTags = JSON.parse(row.coopel_tags) as string[];
  return link;
}

/** Inserts or replaces links; call inside the caller's transaction. */
export function writeLinks(db: Database, links: Link[]): void {
  if (links.length === 0) return;
  const statement = prepareCached(
    db,
    `
    INSERT INTO links (entity, ghl_location_id, ghl_id, coopel_account_id, coopel_id, field_hashes, deleted_at, source_updated_at, updated_at, tags, rule_tags, parent_ghl_id, ghl_field_hashes, coopel_tags)
    VALUES (@entity, @ghlLocationId, @ghlId, @coopelAccountId, @coopelId, @fieldHashes, @deletedAt, @sourceUpdatedAt, @updatedAt, @tags, @ruleTags, @parentGhlId, @ghlFieldHashes, @coopelTags)
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
  );
  for (const link of links) {
    statement.run({
      entity: link.entity,
      ghlLocationId: link.ghlLocationId,
      ghlId: link.ghlId,
      coopelAccountId: link.coopelAccountId,
      coopelId: link.coopelId,
      fieldHashes: JSON.stringify(link.fieldHashes),
      deletedAt: link.deletedAt,
      sourceUpdatedAt: link.sourceUpdatedAt ?? null,
      updatedAt: link.updatedAt,
      tags: link.tags == null ? null : JSON.stringify(link.tags),
      ruleTags:
        link.ruleTags && link.ruleTags.length > 0
          ? JSON.stringify(link.ruleTags)
          : null,
      parentGhlId: link.parentGhlId ?? null,
      ghlFieldHashes: link.ghlFieldHashes
        ? JSON.stringify(link.ghlFieldHashes)
        : null,
      coopelTags:
        link.coopelTags == null ? null : JSON.stringify(link.coopelTags),
    });
  }
}

/** Replaces the rule tags of one contact link; returns false when there is no such link. */
export function writeRuleTags(
  db: Database,
  ghlLocationId: string,
  ghlId: string,
  ruleTags: string[],
  updatedAt: number,
): boolean {
  const result = db
    .prepare(
      "UPDATE links SET rule_tags = ?, updated_at = ? WHERE entity = 'contact' AND ghl_location_id = ? AND ghl_id = ?",
    )
    .run(
      ruleTags.length > 0 ? JSON.stringify(ruleTags) : null,
      updatedAt,
      ghlLocationId,
      ghlId,
    );
  return result.changes > 0;
}

export function readLink(
  db: Database,
  entity: string,
  ghlLocationId: string,
  ghlId: string,
): Link | null {
  const row = prepareCached(
    db,
    "SELECT * FROM links WHERE entity = ? AND ghl_location_id = ? AND ghl_id = ?",
  ).get(entity, ghlLocationId, ghlId) as LinkRow | undefined;
  return row ? rowToLink(row) : null;
}

export function readLinks(
  db: Database,
  entity: string,
  ghlLocationId: string,
): Link[] {
  const rows = db
    .prepare(
      "SELECT * FROM links WHERE entity = ? AND ghl_location_id = ? ORDER BY ghl_id",
    )
    .all(entity, ghlLocationId) as LinkRow[];
  return rows.map(rowToLink);
}

export function readLinkByCoopelId(
  db: Database,
  entity: string,
  coopelAccountId: string,
  coopelId: string,
): Link | null {
  const row = db
    .prepare(
      "SELECT * FROM links WHERE entity = ? AND coopel_account_id = ? AND coopel_id = ? LIMIT 1",
    )
    .get(entity, coopelAccountId, coopelId) as LinkRow | undefined;
  return row ? rowToLink(row) : null;
}
