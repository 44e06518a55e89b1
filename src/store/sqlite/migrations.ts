import type { Database } from "better-sqlite3";

/** Versioned schema changes, applied in order and recorded in schema_migrations. */
const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "inbox, jobs and links",
    sql: `
      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        account_id TEXT NOT NULL,
        type TEXT NOT NULL,
        ordering_key TEXT NOT NULL,
        delivery_id TEXT,
        received_at INTEGER NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        run_at INTEGER NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until INTEGER,
        outcome TEXT,
        reason TEXT,
        wrote INTEGER NOT NULL DEFAULT 0,
        finished_at INTEGER,
        last_error TEXT,
        error_class TEXT,
        requests TEXT,
        warnings TEXT
      );
      CREATE INDEX jobs_active_by_key ON jobs (ordering_key, id) WHERE state IN ('pending', 'running');
      CREATE INDEX jobs_pending ON jobs (run_at, id) WHERE state = 'pending';
      CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
      CREATE INDEX jobs_received ON jobs (received_at);

      CREATE TABLE deliveries (
        source TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (source, delivery_id)
      ) WITHOUT ROWID;
      CREATE INDEX deliveries_received ON deliveries (received_at);

      CREATE TABLE links (
        entity TEXT NOT NULL,
        ghl_location_id TEXT NOT NULL,
        ghl_id TEXT NOT NULL,
        coopel_account_id TEXT NOT NULL,
        coopel_id TEXT,
        field_hashes TEXT NOT NULL DEFAULT '{}',
        deleted_at INTEGER,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (entity, ghl_location_id, ghl_id)
      );
      CREATE UNIQUE INDEX links_coopel_id ON links (entity, coopel_account_id, coopel_id)
        WHERE coopel_id IS NOT NULL;
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
        expires_at INTEGER,
        status TEXT NOT NULL,
        status_message TEXT,
        next_probe_at INTEGER,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
      );

      CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE pending_installs (
        location_id TEXT NOT NULL,
        company_id TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (location_id, company_id)
      ) WITHOUT ROWID;
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
        paused_at INTEGER NOT NULL,
        retry_at INTEGER NOT NULL,
        PRIMARY KEY (system, account_id)
      );
      ALTER TABLE jobs ADD COLUMN source_updated_at INTEGER;
      ALTER TABLE links ADD COLUMN source_updated_at INTEGER;
      CREATE INDEX jobs_dead ON jobs (finished_at) WHERE state = 'dead';
    `,
  },
  {
    version: 4,
    name: "tag state and parent ids on links",
    sql: `
      ALTER TABLE links ADD COLUMN tags TEXT;
      ALTER TABLE links ADD COLUMN rule_tags TEXT;
      ALTER TABLE links ADD COLUMN parent_ghl_id TEXT;
    `,
  },
  {
    version: 5,
    name: "two-way sync: GHL hashes, write intents, conflicts, cursors",
    sql: `
      ALTER TABLE links ADD COLUMN ghl_field_hashes TEXT;
      ALTER TABLE links ADD COLUMN coopel_tags TEXT;
      CREATE TABLE write_intents (
        side TEXT NOT NULL,
        account_id TEXT NOT NULL,
        record_key TEXT NOT NULL,
        hashes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (side, account_id, record_key)
      ) WITHOUT ROWID;
      CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        entity TEXT NOT NULL,
        ghl_location_id TEXT NOT NULL,
        ghl_id TEXT NOT NULL,
        coopel_account_id TEXT NOT NULL,
        coopel_id TEXT NOT NULL,
        field TEXT NOT NULL,
        ghl_value TEXT NOT NULL,
        coopel_value TEXT NOT NULL,
        ghl_updated_at INTEGER,
        coopel_updated_at INTEGER,
        winner TEXT NOT NULL,
        rule TEXT NOT NULL,
        detected_at INTEGER NOT NULL,
        UNIQUE (entity, ghl_location_id, ghl_id, field, ghl_value, coopel_value)
      );
      CREATE INDEX conflicts_detected ON conflicts (detected_at);
      CREATE TABLE cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

/** Applies the migrations that the database has not seen yet; returns the versions applied. */
export function migrate(db: Database): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const applied = new Set(
    db
      .prepare("SELECT version FROM schema_migrations")
      .all()
      .map((row) => (row as { version: number }).version),
  );
  const done: number[] = [];
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
      ).run(migration.version, migration.name, Date.now());
    }).immediate();
    done.push(migration.version);
  }
  return done;
}
