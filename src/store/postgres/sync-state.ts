import type { Pool } from "pg";
import type {
  ContactSummary,
  Link,
  NewReviewItem,
  ReviewItem,
  SyncState,
  SeenContact,
} from "../../engine/ports.js";
import { inTransaction } from "./database.js";
import { rowToLink, writeLinks, type LinkRow } from "./links.js";

interface ReviewRow {
  id: string;
  ghl_location_id: string;
  ghl: ContactSummary;
  reason: string;
  candidates: ContactSummary[];
  status: string;
  resolved_coopel_id: string | null;
  created_at: string;
  resolved_at: string | null;
}

function rowToReview(row: ReviewRow): ReviewItem {
  return {
    id: String(row.id),
    ghlLocationId: row.ghl_location_id,
    ghl: row.ghl,
    reason: row.reason as ReviewItem["reason"],
    candidates: row.candidates,
    status: row.status as ReviewItem["status"],
    resolvedCoopelId: row.resolved_coopel_id,
    createdAt: Number(row.created_at),
    resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
  };
}

/** The SyncState port on the PostgreSQL database of the store. */
export class PostgresSyncState implements SyncState {
  constructor(
    private readonly pool: Pool,
    private readonly now: () => number = Date.now,
  ) {}

  async getCursor(name: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ value: string }>(
      "SELECT value FROM sync_cursors WHERE name = $1",
      [name],
    );
    return rows[0]?.value ?? null;
  }

  async saveCursor(name: string, value: string | null): Promise<void> {
    await this.writeCursor(this.pool, name, value);
  }

  private async writeCursor(
    client: Pick<Pool, "query">,
    name: string,
    value: string | null,
  ): Promise<void> {
    if (value === null) {
      await client.query("DELETE FROM sync_cursors WHERE name = $1", [name]);
      return;
    }
    await client.query(
      `INSERT INTO sync_cursors (name, value, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [name, value, this.now()],
    );
  }

  async saveLinks(
    links: Link[],
    cursor?: { name: string; value: string | null },
  ): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await writeLinks(client, links);
      if (cursor) await this.writeCursor(client, cursor.name, cursor.value);
    });
  }

  async moveLink(fromGhlId: string, link: Link): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query(
        "DELETE FROM links WHERE entity = $1 AND ghl_location_id = $2 AND ghl_id = $3",
        [link.entity, link.ghlLocationId, fromGhlId],
      );
      await writeLinks(client, [link]);
    });
  }

  async getLinks(
    entity: Link["entity"],
    ghlLocationId: string,
    ghlIds: string[],
  ): Promise<Link[]> {
    const { rows } = await this.pool.query<LinkRow>(
      "SELECT * FROM links WHERE entity = $1 AND ghl_location_id = $2 AND ghl_id = ANY($3::text[])",
      [entity, ghlLocationId, ghlIds],
    );
    return rows.map(rowToLink);
  }

  async getLinksByCoopelIds(
    entity: Link["entity"],
    coopelAccountId: string,
    coopelIds: string[],
  ): Promise<Link[]> {
    const { rows } = await this.pool.query<LinkRow>(
      "SELECT * FROM links WHERE entity = $1 AND coopel_account_id = $2 AND coopel_id = ANY($3::text[])",
      [entity, coopelAccountId, coopelIds],
    );
    return rows.map(rowToLink);
  }

  async listLinksAfter(
    entity: Link["entity"],
    ghlLocationId: string,
    afterGhlId: string | null,
    limit: number,
  ): Promise<Link[]> {
    const { rows } = await this.pool.query<LinkRow>(
      `SELECT * FROM links WHERE entity = $1 AND ghl_location_id = $2 AND ghl_id COLLATE "C" > $3
       ORDER BY ghl_id COLLATE "C" LIMIT $4`,
      [entity, ghlLocationId, afterGhlId ?? "", limit],
    );
    return rows.map(rowToLink);
  }

  async addReviewItems(items: NewReviewItem[]): Promise<string[]> {
    return inTransaction(this.pool, async (client) => {
      const ids: string[] = [];
      for (const item of items) {
        // An open item of the same contact is updated in place, so its id
        // stays valid for `review accept` across repeated backfills.
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO review_items (ghl_location_id, ghl_id, ghl, reason, candidates, created_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (ghl_location_id, ghl_id) WHERE status = 'open' DO UPDATE SET
             ghl = excluded.ghl, reason = excluded.reason, candidates = excluded.candidates
           RETURNING id`,
          [
            item.ghlLocationId,
            item.ghl.id,
            JSON.stringify(item.ghl),
            item.reason,
            JSON.stringify(item.candidates),
            this.now(),
          ],
        );
        ids.push(String(rows[0]!.id));
      }
      return ids;
    });
  }

  async listReviewItems(status?: ReviewItem["status"]): Promise<ReviewItem[]> {
    const { rows } =
      status === undefined
        ? await this.pool.query<ReviewRow>(
            "SELECT * FROM review_items ORDER BY id",
          )
        : await this.pool.query<ReviewRow>(
            "SELECT * FROM review_items WHERE status = $1 ORDER BY id",
            [status],
          );
    return rows.map(rowToReview);
  }

  async getReviewItem(id: string): Promise<ReviewItem | null> {
    if (!/^\d+$/.test(id)) return null;
    const { rows } = await this.pool.query<ReviewRow>(
      "SELECT * FROM review_items WHERE id = $1",
      [id],
    );
    return rows[0] ? rowToReview(rows[0]) : null;
  }

  async hasOpenReview(ghlLocationId: string, ghlId: string): Promise<boolean> {
    const { rows } = await this.pool.query(
      "SELECT 1 FROM review_items WHERE ghl_location_id = $1 AND ghl_id = $2 AND status = 'open'",
      [ghlLocationId, ghlId],
    );
    return rows.length > 0;
  }

  async resolveReviewItem(
    id: string,
    status: "accepted" | "rejected",
    coopelId: string | null,
  ): Promise<boolean> {
    if (!/^\d+$/.test(id)) return false;
    const result = await this.pool.query(
      `UPDATE review_items SET status = $1, resolved_coopel_id = $2, resolved_at = $3
       WHERE id = $4 AND status = 'open'`,
      [status, coopelId, this.now(), id],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async markSeen(runId: string, ghlIds: string[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO reconcile_seen (run_id, ghl_id)
       SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
      [runId, ghlIds],
    );
  }

  async keepSeen(runId: string, contacts: SeenContact[]): Promise<void> {
    if (contacts.length === 0) return;
    await this.pool.query(
      `INSERT INTO reconcile_seen (run_id, ghl_id, coopel_id, record)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])
       ON CONFLICT DO NOTHING`,
      [
        runId,
        contacts.map((c) => c.ghlId),
        contacts.map((c) => c.coopelId),
        contacts.map((c) => c.record),
      ],
    );
  }

  async takeSeenByCoopelIds(
    runId: string,
    coopelIds: string[],
  ): Promise<SeenContact[]> {
    if (coopelIds.length === 0) return [];
    const { rows } = await this.pool.query<SeenRow>(
      `UPDATE reconcile_seen SET matched = true
       WHERE run_id = $1 AND NOT matched AND coopel_id = ANY ($2::text[])
       RETURNING ghl_id, coopel_id, record`,
      [runId, coopelIds],
    );
    return rows.map(rowToSeen);
  }

  async listUnmatchedSeen(
    runId: string,
    linked: boolean,
    afterGhlId: string | null,
    limit: number,
  ): Promise<SeenContact[]> {
    const { rows } = await this.pool.query<SeenRow>(
      `SELECT ghl_id, coopel_id, record FROM reconcile_seen
       WHERE run_id = $1 AND NOT matched AND record IS NOT NULL
         AND (coopel_id IS NOT NULL) = $2 AND ghl_id COLLATE "C" > $3
       ORDER BY ghl_id COLLATE "C" LIMIT $4`,
      [runId, linked, afterGhlId ?? "", limit],
    );
    return rows.map(rowToSeen);
  }

  async listUnseenLinks(
    runId: string,
    ghlLocationId: string,
    afterGhlId: string | null,
    limit: number,
  ): Promise<Link[]> {
    const { rows } = await this.pool.query<LinkRow>(
      `SELECT l.* FROM links l
       WHERE l.entity = 'contact' AND l.ghl_location_id = $1 AND l.ghl_id COLLATE "C" > $2
         AND l.deleted_at IS NULL AND l.coopel_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM reconcile_seen s WHERE s.run_id = $3 AND s.ghl_id = l.ghl_id)
       ORDER BY l.ghl_id COLLATE "C" LIMIT $4`,
      [ghlLocationId, afterGhlId ?? "", runId, limit],
    );
    return rows.map(rowToLink);
  }

  async clearSeen(runId: string): Promise<void> {
    await this.pool.query("DELETE FROM reconcile_seen WHERE run_id = $1", [
      runId,
    ]);
  }
}

interface SeenRow {
  ghl_id: string;
  coopel_id: string | null;
  record: string;
}

function rowToSeen(row: SeenRow): SeenContact {
  return { ghlId: row.ghl_id, coopelId: row.coopel_id, record: row.record };
}
