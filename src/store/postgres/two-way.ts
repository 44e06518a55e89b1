import type { Pool } from "pg";
import type {
  Conflict,
  ConflictRecord,
  Link,
  Side,
  TwoWayStore,
  WriteIntent,
} from "../../engine/ports.js";
import { rowToConflict, type ConflictRow } from "../sqlite/two-way.js";
import { readLinkByCoopelId } from "./links.js";

/** The TwoWayStore port on PostgreSQL. */
export class PostgresTwoWayStore implements TwoWayStore {
  constructor(private readonly pool: Pool) {}

  getLinkByCoopelId(
    entity: Link["entity"],
    coopelAccountId: string,
    coopelId: string,
  ): Promise<Link | null> {
    return readLinkByCoopelId(this.pool, entity, coopelAccountId, coopelId);
  }

  async recordWriteIntent(intent: WriteIntent): Promise<void> {
    await this.pool.query(
      `INSERT INTO write_intents (side, account_id, record_key, hashes, created_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (side, account_id, record_key) DO UPDATE SET
         hashes = excluded.hashes, created_at = excluded.created_at`,
      [
        intent.side,
        intent.accountId,
        intent.recordKey,
        JSON.stringify(intent.hashes),
        intent.createdAt,
      ],
    );
  }

  async getWriteIntents(
    side: Side,
    accountId: string,
    recordKeys: string[],
  ): Promise<WriteIntent[]> {
    if (recordKeys.length === 0) return [];
    const { rows } = await this.pool.query<{
      side: Side;
      account_id: string;
      record_key: string;
      hashes: Record<string, string>;
      created_at: string;
    }>(
      "SELECT * FROM write_intents WHERE side = $1 AND account_id = $2 AND record_key = ANY($3::text[])",
      [side, accountId, recordKeys],
    );
    return rows.map((row) => ({
      side: row.side,
      accountId: row.account_id,
      recordKey: row.record_key,
      hashes: row.hashes,
      createdAt: Number(row.created_at),
    }));
  }

  async clearWriteIntents(
    side: Side,
    accountId: string,
    recordKeys: string[],
  ): Promise<void> {
    if (recordKeys.length === 0) return;
    await this.pool.query(
      "DELETE FROM write_intents WHERE side = $1 AND account_id = $2 AND record_key = ANY($3::text[])",
      [side, accountId, recordKeys],
    );
  }

  async addConflict(conflict: Conflict): Promise<boolean> {
    const result = await this.pool.query(
      `INSERT INTO conflicts (entity, ghl_location_id, ghl_id, coopel_account_id, coopel_id, field,
         ghl_value, coopel_value, ghl_updated_at, coopel_updated_at, winner, rule, detected_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT DO NOTHING`,
      [
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
      ],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async listConflicts(filter: {
    limit: number;
    since?: number;
    field?: string;
  }): Promise<ConflictRecord[]> {
    const { rows } = await this.pool.query<ConflictRow>(
      "SELECT * FROM conflicts WHERE detected_at >= $1 AND ($2::text IS NULL OR field = $2) ORDER BY id DESC LIMIT $3",
      [filter.since ?? 0, filter.field ?? null, filter.limit],
    );
    return rows.map(rowToConflict);
  }

  async getCursor(name: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ value: string }>(
      "SELECT value FROM cursors WHERE name = $1",
      [name],
    );
    return rows[0]?.value ?? null;
  }

  async saveCursor(name: string, value: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO cursors (name, value, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [name, value, Date.now()],
    );
  }
}
