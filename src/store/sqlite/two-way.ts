import type { Database } from "better-sqlite3";
import type {
  Conflict,
  ConflictRecord,
  Link,
  Side,
  TwoWayStore,
  WriteIntent,
} from "../../engine/ports.js";
import { readLinkByCoopelId } from "./links.js";

interface ConflictRow {
  id: number;
  entity: string;
  ghl_location_id: string;
  ghl_id: string;
  coopel_account_id: string;
  coopel_id: string;
  field: string;
  ghl_value: string;
  coopel_value: string;
  ghl_updated_at: number | null;
  coopel_updated_at: number | null;
  winner: string;
  rule: string;
  detected_at: number;
}

/** The TwoWayStore port on the embedded SQLite database. */
export class SqliteTwoWayStore implements TwoWayStore {
  constructor(private readonly db: Database) {}

  getLinkByCoopelId(
    entity: Link["entity"],
    coopelAccountId: string,
    coopelId: string,
  ): Promise<Link | null> {
    return Promise.resolve(
      readLinkByCoopelId(this.db, entity, coopelAccountId, coopelId),
    );
  }

  recordWriteIntent(intent: WriteIntent): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO write_intents (side, account_id, record_key, hashes, created_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (side, account_id, record_key) DO UPDATE SET
           hashes = excluded.hashes, created_at = excluded.created_at`,
      )
      .run(
        intent.side,
        intent.accountId,
        intent.recordKey,
        JSON.stringify(intent.hashes),
        intent.createdAt,
      );
    return Promise.resolve();
  }

  getWriteIntents(
    side: Side,
    accountId: string,
    recordKeys: string[],
  ): Promise<WriteIntent[]> {
    const statement = this.db.prepare(
      "SELECT * FROM write_intents WHERE side = ? AND account_id = ? AND record_key = ?",
    );
    const intents: WriteIntent[] = [];
    for (const key of recordKeys) {
      const row = statement.get(side, accountId, key) as
        | {
            side: Side;
            account_id: string;
            record_key: string;
            hashes: string;
            created_at: number;
          }
        | undefined;
      if (row)
        intents.push({
          side: row.side,
          accountId: row.account_id,
          recordKey: row.record_key,
          hashes: JSON.parse(row.hashes) as Record<string, string>,
          createdAt: row.created_at,
        });
    }
    return Promise.resolve(intents);
  }

  clearWriteIntents(
    side: Side,
    accountId: string,
    recordKeys: string[],
  ): Promise<void> {
    const statement = this.db.prepare(
      "DELETE FROM write_intents WHERE side = ? AND account_id = ? AND record_key = ?",
    );
    this.db.transaction(() => {
      for (const key of recordKeys) statement.run(side, accountId, key);
    })();
    return Promise.resolve();
  }

  addConflict(conflict: Conflict): Promise<boolean> {
    const result = this.db
      .prepare(
        `INSERT INTO conflicts (entity, ghl_location_id, ghl_id, coopel_account_id, coopel_id, field,
           ghl_value, coopel_value, ghl_updated_at, coopel_updated_at, winner, rule, detected_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      )
      .run(
        conflict.entity,
        conflict.ghlLocationId,
        conflict.ghlId,
        conflict.coopelAccountId,
        conflict.coopelId,
        conflict.field,
        JSON.stringify(conflict.ghlValue ?? null),
        JSON.stringify(conflict.coopelValue ?? null),
        conflict.ghlUpdatedAt,
        conflict.coopelUpdatedAt,
        conflict.winner,
        conflict.rule,
        conflict.detectedAt,
      );
    return Promise.resolve(result.changes > 0);
  }

  listConflicts(filter: {
    limit: number;
    since?: number;
    field?: string;
  }): Promise<ConflictRecord[]> {
    const rows = this.db
      .prepare(
        "SELECT * FROM conflicts WHERE detected_at >= ? AND (? IS NULL OR field = ?) ORDER BY id DESC LIMIT ?",
      )
      .all(
        filter.since ?? 0,
        filter.field ?? null,
        filter.field ?? null,
        filter.limit,
      ) as ConflictRow[];
    return Promise.resolve(rows.map(rowToConflict));
  }

  getCursor(name: string): Promise<string | null> {
    const row = this.db
      .prepare("SELECT value FROM cursors WHERE name = ?")
      .get(name) as { value: string } | undefined;
    return Promise.resolve(row?.value ?? null);
  }

  saveCursor(name: string, value: string): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(name, value, Date.now());
    return Promise.resolve();
  }
}

/** Turns a conflicts row of either adapter into a ConflictRecord. */
export function rowToConflict(row: ConflictRow): ConflictRecord {
  return {
    id: String(row.id),
    entity: row.entity as Link["entity"],
    ghlLocationId: row.ghl_location_id,
    ghlId: row.ghl_id,
    coopelAccountId: row.coopel_account_id,
    coopelId: row.coopel_id,
    field: row.field,
    ghlValue: JSON.parse(row.ghl_value) as unknown,
    coopelValue: JSON.parse(row.coopel_value) as unknown,
    ghlUpdatedAt:
      row.ghl_updated_at === null ? null : Number(row.ghl_updated_at),
    coopelUpdatedAt:
      row.coopel_updated_at === null ? null : Number(row.coopel_updated_at),
    winner: row.winner as Side,
    rule: row.rule,
    detectedAt: Number(row.detected_at),
  };
}

export type { ConflictRow };
