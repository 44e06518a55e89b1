import type { Database } from "better-sqlite3";
import type {
  ContactSummary,
  Link,
  NewReviewItem,
  ReviewItem,
  SyncState,
  SeenContact,
} from "../../engine/ports.js";
import { rowToLink, writeLinks, type LinkRow } from "./links.js";

interface ReviewRow {
  id: number;
  ghl_location_id: string;
  ghl: string;
  reason: string;
  candidates: string;
  status: string;
  resolved_coopel_id: string | null;
  created_at: number;
  resolved_at: number | null;
}

function rowToReview(row: ReviewRow): ReviewItem {
  return {
    id: String(row.id),
    ghlLocationId: row.ghl_location_id,
    ghl: JSON.parse(row.ghl) as ContactSummary,
    reason: row.reason as ReviewItem["reason"],
    candidates: JSON.parse(row.candidates) as ContactSummary[],
    status: row.status as ReviewItem["status"],
    resolvedCoopelId: row.resolved_coopel_id,
    createdAt: row.created_at,
    resolvedAt: row.resolved_at,
  };
}

/** Placeholders for an `IN (...)` list of `count` values. */
function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/**
 * Runs synchronous better-sqlite3 work and returns its result as a promise,
 * so that a failed statement rejects like the PostgreSQL adapter does
 * instead of throwing before the caller awaits.
 */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(
      error instanceof Error ? error : new Error(String(error)),
    );
  }
}

/** SQLite limits bound parameters per statement, so long id lists go in chunks. */
const CHUNK = 500;

function chunks<T>(items: T[]): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK)
    result.push(items.slice(i, i + CHUNK));
  return result;
}

/** The SyncState port on the SQLite database of the store. */
export class SqliteSyncState implements SyncState {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  getCursor(name: string): Promise<string | null> {
    return settle(() => {
      const row = this.db
        .prepare("SELECT value FROM sync_cursors WHERE name = ?")
        .get(name) as { value: string } | undefined;
      return row?.value ?? null;
    });
  }

  saveCursor(name: string, value: string | null): Promise<void> {
    return settle(() => {
      this.writeCursor(name, value);
      return;
    });
  }

  private writeCursor(name: string, value: string | null): void {
    if (value === null) {
      this.db.prepare("DELETE FROM sync_cursors WHERE name = ?").run(name);
      return;
    }
    this.db
      .prepare(
        `INSERT INTO sync_cursors (name, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(name, value, this.now());
  }

  saveLinks(
    links: Link[],
    cursor?: { name: string; value: string | null },
  ): Promise<void> {
    return settle(() => {
      this.db
        .transaction(() => {
          writeLinks(this.db, links);
          if (cursor) this.writeCursor(cursor.name, cursor.value);
        })
        .immediate();
      return;
    });
  }

  moveLink(fromGhlId: string, link: Link): Promise<void> {
    return settle(() => {
      this.db
        .transaction(() => {
          this.db
            .prepare(
              "DELETE FROM links WHERE entity = ? AND ghl_location_id = ? AND ghl_id = ?",
            )
            .run(link.entity, link.ghlLocationId, fromGhlId);
          writeLinks(this.db, [link]);
        })
        .immediate();
      return;
    });
  }

  getLinks(
    entity: Link["entity"],
    ghlLocationId: string,
    ghlIds: string[],
  ): Promise<Link[]> {
    return settle(() => {
      const links = chunks(ghlIds).flatMap((chunk) =>
        (
          this.db
            .prepare(
              `SELECT * FROM links WHERE entity = ? AND ghl_location_id = ? AND ghl_id IN (${placeholders(chunk.length)})`,
            )
            .all(entity, ghlLocationId, ...chunk) as LinkRow[]
        ).map(rowToLink),
      );
      return links;
    });
  }

  getLinksByCoopelIds(
    entity: Link["entity"],
    coopelAccountId: string,
    coopelIds: string[],
  ): Promise<Link[]> {
    return settle(() => {
      const links = chunks(coopelIds).flatMap((chunk) =>
        (
          this.db
            .prepare(
              `SELECT * FROM links WHERE entity = ? AND coopel_account_id = ? AND coopel_id IN (${placeholders(chunk.length)})`,
            )
            .all(entity, coopelAccountId, ...chunk) as LinkRow[]
        ).map(rowToLink),
      );
      return links;
    });
  }

  listLinksAfter(
    entity: Link["entity"],
    ghlLocationId: string,
    afterGhlId: string | null,
    limit: number,
  ): Promise<Link[]> {
    return settle(() => {
      const rows = this.db
        .prepare(
          `SELECT * FROM links WHERE entity = ? AND ghl_location_id = ? AND ghl_id > ?
           ORDER BY ghl_id LIMIT ?`,
        )
        .all(entity, ghlLocationId, afterGhlId ?? "", limit) as LinkRow[];
      return rows.map(rowToLink);
    });
  }

  addReviewItems(items: NewReviewItem[]): Promise<string[]> {
    return settle(() => {
      // An open item of the same contact is updated in place, so its id
      // stays valid for `review accept` across repeated backfills.
      const upsert = this.db.prepare(
        `INSERT INTO review_items (ghl_location_id, ghl_id, ghl, reason, candidates, created_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (ghl_location_id, ghl_id) WHERE status = 'open' DO UPDATE SET
           ghl = excluded.ghl, reason = excluded.reason, candidates = excluded.candidates
         RETURNING id`,
      );
      return this.db
        .transaction(() =>
          items.map((item) => {
            const row = upsert.get(
              item.ghlLocationId,
              item.ghl.id,
              JSON.stringify(item.ghl),
              item.reason,
              JSON.stringify(item.candidates),
              this.now(),
            ) as { id: number };
            return String(row.id);
          }),
        )
        .immediate();
    });
  }

  listReviewItems(status?: ReviewItem["status"]): Promise<ReviewItem[]> {
    return settle(() => {
      const rows = (
        status === undefined
          ? this.db.prepare("SELECT * FROM review_items ORDER BY id").all()
          : this.db
              .prepare(
                "SELECT * FROM review_items WHERE status = ? ORDER BY id",
              )
              .all(status)
      ) as ReviewRow[];
      return rows.map(rowToReview);
    });
  }

  getReviewItem(id: string): Promise<ReviewItem | null> {
    return settle(() => {
      const row = this.db
        .prepare("SELECT * FROM review_items WHERE id = ?")
        .get(Number(id)) as ReviewRow | undefined;
      return row ? rowToReview(row) : null;
    });
  }

  hasOpenReview(ghlLocationId: string, ghlId: string): Promise<boolean> {
    return settle(
      () =>
        this.db
          .prepare(
            "SELECT 1 FROM review_items WHERE ghl_location_id = ? AND ghl_id = ? AND status = 'open'",
          )
          .get(ghlLocationId, ghlId) !== undefined,
    );
  }

  resolveReviewItem(
    id: string,
    status: "accepted" | "rejected",
    coopelId: string | null,
  ): Promise<boolean> {
    return settle(() => {
      const result = this.db
        .prepare(
          `UPDATE review_items SET status = ?, resolved_coopel_id = ?, resolved_at = ?
           WHERE id = ? AND status = 'open'`,
        )
        .run(status, coopelId, this.now(), Number(id));
      return result.changes > 0;
    });
  }

  markSeen(runId: string, ghlIds: string[]): Promise<void> {
    return settle(() => {
      const insert = this.db.prepare(
        "INSERT OR IGNORE INTO reconcile_seen (run_id, ghl_id) VALUES (?, ?)",
      );
      this.db
        .transaction(() => {
          for (const id of ghlIds) insert.run(runId, id);
        })
        .immediate();
      return;
    });
  }

  keepSeen(runId: string, contacts: SeenContact[]): Promise<void> {
    return settle(() => {
      const insert = this.db.prepare(
        `INSERT OR IGNORE INTO reconcile_seen (run_id, ghl_id, coopel_id, record)
         VALUES (?, ?, ?, ?)`,
      );
      this.db
        .transaction(() => {
          for (const contact of contacts)
            insert.run(runId, contact.ghlId, contact.coopelId, contact.record);
        })
        .immediate();
      return;
    });
  }

  takeSeenByCoopelIds(
    runId: string,
    coopelIds: string[],
  ): Promise<SeenContact[]> {
    return settle(() => {
      if (coopelIds.length === 0) return [];
      const rows = this.db
        .prepare(
          // Without INDEXED BY, SQLite picks the primary key and reads
          // every row of the run for each page.
          `UPDATE reconcile_seen INDEXED BY reconcile_seen_by_coopel SET matched = 1
           WHERE run_id = ? AND matched = 0
             AND coopel_id IN (SELECT value FROM json_each(?))
           RETURNING ghl_id, coopel_id, record`,
        )
        .all(runId, JSON.stringify(coopelIds)) as SeenRow[];
      return rows.map(rowToSeen);
    });
  }

  listUnmatchedSeen(
    runId: string,
    linked: boolean,
    afterGhlId: string | null,
    limit: number,
  ): Promise<SeenContact[]> {
    return settle(() => {
      const rows = this.db
        .prepare(
          `SELECT ghl_id, coopel_id, record FROM reconcile_seen
           WHERE run_id = ? AND matched = 0 AND record IS NOT NULL
             AND (coopel_id IS NOT NULL) = ? AND ghl_id > ?
           ORDER BY ghl_id LIMIT ?`,
        )
        .all(runId, linked ? 1 : 0, afterGhlId ?? "", limit) as SeenRow[];
      return rows.map(rowToSeen);
    });
  }

  listUnseenLinks(
    runId: string,
    ghlLocationId: string,
    afterGhlId: string | null,
    limit: number,
  ): Promise<Link[]> {
    return settle(() => {
      const rows = this.db
        .prepare(
          `SELECT l.* FROM links l
           WHERE l.entity = 'contact' AND l.ghl_location_id = ? AND l.ghl_id > ?
             AND l.deleted_at IS NULL AND l.coopel_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM reconcile_seen s WHERE s.run_id = ? AND s.ghl_id = l.ghl_id)
           ORDER BY l.ghl_id LIMIT ?`,
        )
        .all(ghlLocationId, afterGhlId ?? "", runId, limit) as LinkRow[];
      return rows.map(rowToLink);
    });
  }

  clearSeen(runId: string): Promise<void> {
    return settle(() => {
      this.db.prepare("DELETE FROM reconcile_seen WHERE run_id = ?").run(runId);
      return;
    });
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
