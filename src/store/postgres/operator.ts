import type { Pool } from "pg";
import type {
  ApiUsage,
  ContactCount,
  LocationPause,
} from "../../engine/ports.js";

/** Location pauses, contact counts and API usage on PostgreSQL. */
export class PostgresOperatorState {
  constructor(private readonly pool: Pool) {}

  async pauseLocation(pause: LocationPause): Promise<void> {
    await this.pool.query(
      `INSERT INTO location_pauses (location_id, reason, paused_by, paused_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (location_id) DO UPDATE SET
         reason = excluded.reason, paused_by = excluded.paused_by, paused_at = excluded.paused_at`,
      [pause.locationId, pause.reason, pause.pausedBy, pause.pausedAt],
    );
  }

  async resumeLocation(locationId: string): Promise<boolean> {
    const result = await this.pool.query(
      "DELETE FROM location_pauses WHERE location_id = $1",
      [locationId],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async listLocationPauses(): Promise<LocationPause[]> {
    const { rows } = await this.pool.query<LocationPause>(
      `SELECT location_id AS "locationId", reason, paused_by AS "pausedBy", paused_at AS "pausedAt"
       FROM location_pauses ORDER BY location_id`,
    );
    return rows;
  }

  async recordContactCounts(recordedAt: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO contact_counts (recorded_at, location_id, ghl_contacts, coopel_contacts)
       SELECT $1, ghl_location_id,
         COUNT(*) FILTER (WHERE deleted_at IS NULL),
         COUNT(*) FILTER (WHERE deleted_at IS NULL AND coopel_id IS NOT NULL)
       FROM links WHERE entity = 'contact' GROUP BY ghl_location_id
       ON CONFLICT (recorded_at, location_id) DO UPDATE SET
         ghl_contacts = excluded.ghl_contacts, coopel_contacts = excluded.coopel_contacts`,
      [recordedAt],
    );
  }

  async contactCounts(sinceMs: number): Promise<ContactCount[]> {
    const { rows } = await this.pool.query<ContactCount>(
      `SELECT recorded_at AS "recordedAt", location_id AS "locationId",
         ghl_contacts AS "ghlContacts", coopel_contacts AS "coopelContacts"
       FROM contact_counts WHERE recorded_at >= $1 ORDER BY recorded_at, location_id`,
      [sinceMs],
    );
    return rows;
  }

  async apiUsage(sinceMs: number): Promise<ApiUsage[]> {
    const { rows } = await this.pool.query<ApiUsage>(
      `SELECT jobs.account_id AS "accountId",
         COALESCE(request->>'api', 'unknown') AS api,
         COUNT(*)::int AS requests
       FROM jobs CROSS JOIN LATERAL jsonb_array_elements(
         CASE WHEN jsonb_typeof(jobs.requests) = 'array' THEN jobs.requests ELSE '[]'::jsonb END
       ) AS request
       WHERE jobs.received_at >= $1
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [sinceMs],
    );
    return rows;
  }
}
