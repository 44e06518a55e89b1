import type { Pool } from "pg";

/**
 * Versioned schema changes for PostgreSQL, applied in order and recorded in
 * schema_migrations. Versions match the SQLite migrations of the same name,
 * so both databases describe the same schema at the same version.
 */
export const POSTGRES_MIGRATIONS: {
  version: number;
  name: string;
  sql: string;
}[] = [
  {
    version: 1,
    name: "inbox, jobs and links",
    sql: `
      -- Payloads are kept as JSON text, byte for byte as received, for replay.
      CREATE TABLE jobs (
        id BIGSERIAL PRIMARY KEY,
        source TEXT NOT NULL,
        account_id TEXT NOT NULL,
        type TEXT NOT NULL,
        ordering_key TEXT NOT NULL,
        delivery_id TEXT,
        received_at BIGINT NOT NULL,
        payload JSON NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        -- True while an earlier job of the same ordering key is unfinished.
        blocked BOOLEAN NOT NULL DEFAULT FALSE,
        run_at BIGINT NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until BIGINT,
        outcome TEXT,
        reason TEXT,
        wrote BOOLEAN NOT NULL DEFAULT FALSE,
        finished_at BIGINT,
        last_error TEXT,
        error_class TEXT,
        requests JSONB,
        warnings JSONB
      );
      CREATE INDEX jobs_active_by_key ON jobs (ordering_key, id) WHERE state IN ('pending', 'running');
      CREATE INDEX jobs_runnable ON jobs (id) WHERE state = 'pending' AND NOT blocked;
      CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
      CREATE INDEX jobs_received ON jobs (received_at);

      CREATE TABLE deliveries (
        source TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (source, delivery_id)
      );
      CREATE INDEX deliveries_received ON deliveries (received_at);

      CREATE TABLE links (
        entity TEXT NOT NULL,
        ghl_location_id TEXT NOT NULL,
        ghl_id TEXT NOT NULL,
        coopel_account_id TEXT NOT NULL,
        coopel_id TEXT,
        field_hashes JSONB NOT NULL DEFAULT '{}',
        deleted_at BIGINT,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (entity, ghl_location_id, ghl_id)
      );
      CREATE UNIQUE INDEX links_coopel_id ON links (entity, coopel_account_id, coopel_id)
        WHERE coopel_id IS NOT NULL;

      -- Claims up to max_jobs runnable jobs in one round trip, after
      -- returning expired leases to the queue. Only the first unfinished job
      -- of an ordering key is unblocked, so claims need no lock beyond the
      -- rows they take, and SKIP LOCKED lets workers claim side by side.
      CREATE FUNCTION claim_jobs(worker TEXT, lease_ms BIGINT, now_ms BIGINT, max_jobs INTEGER)
      RETURNS SETOF jobs LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE jobs SET state = 'pending', lease_owner = NULL
          WHERE state = 'running' AND lease_until < now_ms;
        RETURN QUERY
          UPDATE jobs SET state = 'running', attempt = attempt + 1,
            lease_owner = worker, lease_until = now_ms + lease_ms
          WHERE id IN (
            SELECT j.id FROM jobs AS j
            WHERE j.state = 'pending' AND NOT j.blocked AND j.run_at <= now_ms
            ORDER BY j.id LIMIT max_jobs
            FOR UPDATE SKIP LOCKED)
          RETURNING *;
      END;
      $$;
    `,
  },
  {
    version: 2,
    name: "GHL connections, locks and pending installs",
    sql: `
      CREATE TABLE connections (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        company_id TEXT,
        sealed_tokens TEXT,
        expires_at BIGINT,
        status TEXT NOT NULL,
        status_message TEXT,
        next_probe_at BIGINT,
        version INTEGER NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (kind, id)
      );

      CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at BIGINT NOT NULL
      );

      -- A missing location or company id is stored as '' so that the key stays unique.
      CREATE TABLE pending_installs (
        location_id TEXT NOT NULL,
        company_id TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (location_id, company_id)
      );
    `,
  },
  {
    version: 3,
    name: "account pauses, source update times",
    sql: `
      CREATE TABLE account_pauses (
        system TEXT NOT NULL,
        account_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        message TEXT NOT NULL,
        paused_at BIGINT NOT NULL,
        retry_at BIGINT NOT NULL,
        PRIMARY KEY (system, account_id)
      );
      ALTER TABLE jobs ADD COLUMN source_updated_at BIGINT;
      ALTER TABLE links ADD COLUMN source_updated_at BIGINT;
      CREATE INDEX jobs_dead ON jobs (finished_at) WHERE state = 'dead';

      -- As before, and a job is not claimed while a pause holds it: its own
      -- account is paused, or it comes from GHL and a Coopel account is
      -- paused. The columns added above are part of the rows it returns.
      CREATE OR REPLACE FUNCTION claim_jobs(worker TEXT, lease_ms BIGINT, now_ms BIGINT, max_jobs INTEGER)
      RETURNS SETOF jobs LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE jobs SET state = 'pending', lease_owner = NULL
          WHERE state = 'running' AND lease_until < now_ms;
        RETURN QUERY
          UPDATE jobs SET state = 'running', attempt = attempt + 1,
            lease_owner = worker, lease_until = now_ms + lease_ms
          WHERE id IN (
            SELECT j.id FROM jobs AS j
            WHERE j.state = 'pending' AND NOT j.blocked AND j.run_at <= now_ms
              AND NOT EXISTS (
                SELECT 1 FROM account_pauses AS p
                WHERE p.retry_at > now_ms
                  AND ((p.system = j.source AND p.account_id = j.account_id)
                    OR (p.system = 'coopel' AND j.source = 'ghl')))
            ORDER BY j.id LIMIT max_jobs
            FOR UPDATE SKIP LOCKED)
          RETURNING *;
      END;
      $$;
    `,
  },
  {
    version: 4,
    name: "tag state and parent ids on links",
    sql: `
      ALTER TABLE links ADD COLUMN tags JSONB;
      ALTER TABLE links ADD COLUMN rule_tags JSONB;
      ALTER TABLE links ADD COLUMN parent_ghl_id TEXT;
    `,
  },
  {
    version: 5,
    name: "two-way sync: GHL hashes, write intents, conflicts, cursors",
    sql: `
      ALTER TABLE links ADD COLUMN ghl_field_hashes JSONB;
      ALTER TABLE links ADD COLUMN coopel_tags JSONB;
      CREATE TABLE write_intents (
        side TEXT NOT NULL,
        account_id TEXT NOT NULL,
        record_key TEXT NOT NULL,
        hashes JSONB NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (side, account_id, record_key)
      );
      CREATE TABLE conflicts (
        id BIGSERIAL PRIMARY KEY,
        entity TEXT NOT NULL,
        ghl_location_id TEXT NOT NULL,
        ghl_id TEXT NOT NULL,
        coopel_account_id TEXT NOT NULL,
        coopel_id TEXT NOT NULL,
        field TEXT NOT NULL,
        ghl_value TEXT NOT NULL,
        coopel_value TEXT NOT NULL,
        ghl_updated_at BIGINT,
        coopel_updated_at BIGINT,
        winner TEXT NOT NULL,
        rule TEXT NOT NULL,
        detected_at BIGINT NOT NULL,
        UNIQUE (entity, ghl_location_id, ghl_id, field, ghl_value, coopel_value)
      );
      CREATE INDEX conflicts_detected ON conflicts (detected_at);
      CREATE TABLE cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: "sync cursors, review list and reconcile marks",
    sql: `
      CREATE TABLE sync_cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );

      CREATE TABLE review_items (
        id BIGSERIAL PRIMARY KEY,
        ghl_location_id TEXT NOT NULL,
        ghl_id TEXT NOT NULL,
        ghl JSONB NOT NULL,
        reason TEXT NOT NULL,
        candidates JSONB NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        resolved_coopel_id TEXT,
        created_at BIGINT NOT NULL,
        resolved_at BIGINT
      );
      CREATE UNIQUE INDEX review_items_open ON review_items (ghl_location_id, ghl_id)
        WHERE status = 'open';

      CREATE TABLE reconcile_seen (
        run_id TEXT NOT NULL,
        ghl_id TEXT NOT NULL,
        PRIMARY KEY (run_id, ghl_id)
      );
    `,
  },
  {
    version: 7,
    name: "location pauses and contact counts",
    sql: `
      CREATE TABLE location_pauses (
        location_id TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        paused_by TEXT NOT NULL,
        paused_at BIGINT NOT NULL
      );
      CREATE TABLE contact_counts (
        recorded_at BIGINT NOT NULL,
        location_id TEXT NOT NULL,
        ghl_contacts INTEGER NOT NULL,
        coopel_contacts INTEGER NOT NULL,
        PRIMARY KEY (recorded_at, location_id)
      );
    `,
  },
  {
    version: 8,
    name: "claim order and shared rate budgets",
    sql: `
      -- Request counters of the account budgets, shared by all processes
      -- (the schema of rate-limiter-flexible's RateLimiterPostgres).
      CREATE TABLE rate_limits (
        key VARCHAR(255) PRIMARY KEY,
        points INTEGER NOT NULL DEFAULT 0,
        expire BIGINT
      );

      -- The unblocked pending jobs in run time order, so that a claim reads
      -- only jobs whose time has come and never steps over jobs that wait
      -- for a retry.
      CREATE INDEX jobs_runnable_at ON jobs (run_at, id) WHERE state = 'pending' AND NOT blocked;
      DROP INDEX jobs_runnable;

      -- As before, in run time order through jobs_runnable_at, leaving
      -- pending the jobs of the accounts in skip_accounts (source:account_id).
      DROP FUNCTION claim_jobs(TEXT, BIGINT, BIGINT, INTEGER);
      CREATE FUNCTION claim_jobs(worker TEXT, lease_ms BIGINT, now_ms BIGINT, max_jobs INTEGER,
        skip_accounts TEXT[] DEFAULT '{}')
      RETURNS SETOF jobs LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE jobs SET state = 'pending', lease_owner = NULL
          WHERE state = 'running' AND lease_until < now_ms;
        RETURN QUERY
          UPDATE jobs SET state = 'running', attempt = attempt + 1,
            lease_owner = worker, lease_until = now_ms + lease_ms
          WHERE id IN (
            SELECT j.id FROM jobs AS j
            WHERE j.state = 'pending' AND NOT j.blocked AND j.run_at <= now_ms
              AND NOT EXISTS (
                SELECT 1 FROM account_pauses AS p
                WHERE p.retry_at > now_ms
                  AND ((p.system = j.source AND p.account_id = j.account_id)
                    OR (p.system = 'coopel' AND j.source = 'ghl')))
              AND NOT (j.source || ':' || j.account_id = ANY (skip_accounts))
            ORDER BY j.run_at, j.id LIMIT max_jobs
            FOR UPDATE SKIP LOCKED)
          RETURNING *;
      END;
      $$;
    `,
  },
  {
    version: 10,
    name: "reconcile keeps the GHL contacts it read",
    sql: `
      -- Reconcile keeps each GHL contact it read here, with the Coopel id of
      -- its link, until Coopel's list brings the other record of the pair,
      -- so neither side is held in memory. matched is true once it has.
      ALTER TABLE reconcile_seen ADD COLUMN coopel_id TEXT;
      ALTER TABLE reconcile_seen ADD COLUMN record TEXT;
      ALTER TABLE reconcile_seen ADD COLUMN matched BOOLEAN NOT NULL DEFAULT false;
      CREATE INDEX reconcile_seen_by_coopel ON reconcile_seen (run_id, coopel_id);
    `,
  },
];

/** Lock id that serialises migrations when several processes start at once. */
const MIGRATION_LOCK = 7_302_114_001;

/**
 * Applies the migrations that the database has not seen yet and returns the
 * versions applied. Each migration runs in its own transaction; an advisory
 * lock makes concurrent starts wait for one another instead of racing.
 */
export async function migratePostgres(pool: Pool): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at BIGINT NOT NULL
      )`);
      const { rows } = await client.query<{ version: number }>(
        "SELECT version FROM schema_migrations",
      );
      const applied = new Set(rows.map((row) => row.version));
      const done: number[] = [];
      for (const migration of POSTGRES_MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await client.query("BEGIN");
        try {
          await client.query(migration.sql);
          await client.query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            [migration.version, migration.name, Date.now()],
          );
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK");
          throw new Error(
            `PostgreSQL migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
            { cause: error },
          );
        }
        done.push(migration.version);
      }
      return done;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
