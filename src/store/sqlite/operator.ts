import type { Database } from "better-sqlite3";
import type {
  ApiUsage,
  ContactCount,
  LocationPause,
} from "../../engine/ports.js";

/** Location pauses, contact counts and API usage on SQLite. */
export class SqliteOperatorState {
  constructor(private readonly db: Database) {}

  pauseLocation(pause: LocationPause): void {
    this.db
      .prepare(
        `INSERT INTO location_pauses (location_id, reason, paused_by, paused_at)
         VALUES (?, ?, ?, ?)
         ON CONFLICT (location_id) DO UPDATE SET
           reason = excluded.reason, paused_by = excluded.paused_by, paused_at = excluded.paused_at`,
      )
      .run(pause.locationId, pause.reason, pause.pausedBy, pause.pausedAt);
  }

  resumeLocation(locationId: string): boolean {
    return (
      this.db
        .prepare("DELETE FROM location_pauses WHERE location_id = ?")
        .run(locationId).changes > 0
    );
  }

  listLocationPauses(): LocationPause[] {
    return this.db
      .prepare(
        `SELECT location_id AS locationId, reason, paused_by AS pausedBy, paused_at AS pausedAt
         FROM location_pauses ORDER BY location_id`,
      )
      .all() as LocationPause[];
  }

  recordContactCounts(recordedAt: number): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO contact_counts (recorded_at, location_id, ghl_contacts, coopel_contacts)
         SELECT ?, ghl_location_id,
           SUM(deleted_at IS NULL),
           SUM(deleted_at IS NULL AND coopel_id IS NOT NULL)
         FROM links WHERE entity = 'contact' GROUP BY ghl_location_id`,
      )
      .run(recordedAt);
  }

  contactCounts(sinceMs: number): ContactCount[] {
    return this.db
      .prepare(
        `SELECT recorded_at AS recordedAt, location_id AS locationId,
           ghl_contacts AS ghlContacts, coopel_contacts AS coopelContacts
         FROM contact_counts WHERE recorded_at >= ? ORDER BY recorded_at, location_id`,
      )
      .all(sinceMs) as ContactCount[];
  }

  apiUsage(sinceMs: number): ApiUsage[] {
    return this.db
      .prepare(
        `SELECT jobs.account_id AS accountId,
           COALESCE(json_extract(request.value, '$.api'), 'unknown') AS api,
           COUNT(*) AS requests
         FROM jobs, json_each(jobs.requests) AS request
         WHERE jobs.received_at >= ? AND jobs.requests IS NOT NULL
         GROUP BY 1, 2 ORDER BY 1, 2`,
      )
      .all(sinceMs) as ApiUsage[];
  }
}
