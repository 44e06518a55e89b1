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
  {
    version: 6,
    name: "sync cursors, review list and reconcile marks",
    sql: `
      CREATE TABLE sync_cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE review_items (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ghl_location_id TEXT NOT NULL,
        ghl_id TEXT NOT NULL,
        ghl TEXT NOT NULL,
        reason TEXT NOT NULL,
        candidates TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        resolved_coopel_id TEXT,
        created_at INTEGER NOT NULL,
        resolved_at INTEGER
      );
      CREATE UNIQUE INDEX review_items_open ON review_items (ghl_location_id, ghl_id)
        WHERE status = 'open';

      CREATE TABLE reconcile_seen (
        run_id TEXT NOT NULL,
        ghl_id TEXT NOT NULL,
        PRIMARY KEY (run_id, ghl_id)
      ) WITHOUT ROWID;
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
        paused_at INTEGER NOT NULL
      );
      CREATE TABLE contact_counts (
        recorded_at INTEGER NOT NULL,
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
      -- Rate budgets need no table here: one process uses the SQLite file,
      -- so it counts them in memory.

      -- ready is 1 on the one job of an ordering key that may run next: the
      -- first unfinished job of its key, pending, while no job of its key
      -- runs. Claims read the ready jobs in run time order through
      -- jobs_ready, so a claim costs the same at any backlog. The queue
      -- sets it on insert; the triggers below keep it right when a job
      -- changes state, whoever changes it.
      ALTER TABLE jobs ADD COLUMN ready INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX jobs_ready ON jobs (run_at, id) WHERE ready = 1;
      CREATE INDEX jobs_ready_by_key ON jobs (ordering_key) WHERE ready = 1;
      CREATE INDEX jobs_running_by_key ON jobs (ordering_key) WHERE state = 'running';
      UPDATE jobs SET ready = 1
      WHERE state = 'pending'
        AND NOT EXISTS (
          SELECT 1 FROM jobs AS other
          WHERE other.ordering_key = jobs.ordering_key AND other.state IN ('pending', 'running')
            AND other.id != jobs.id AND (other.state = 'running' OR other.id < jobs.id));

      -- A claimed job is no longer waiting.
      CREATE TRIGGER jobs_ready_on_run AFTER UPDATE OF state ON jobs
      WHEN NEW.state = 'running' AND OLD.state IS NOT 'running'
      BEGIN
        UPDATE jobs SET ready = 0
        WHERE ordering_key = NEW.ordering_key AND ready = 1;
      END;

      -- Any other change of state (done, dead, back to pending) can change
      -- which job of the key runs next.
      CREATE TRIGGER jobs_ready_on_change AFTER UPDATE OF state ON jobs
      WHEN NEW.state IS NOT OLD.state AND NEW.state != 'running'
      BEGIN
        UPDATE jobs SET ready = 0
        WHERE ordering_key = NEW.ordering_key AND ready = 1;
        UPDATE jobs SET ready = 1
        WHERE id = (
            SELECT id FROM jobs
            WHERE ordering_key = NEW.ordering_key AND state IN ('pending', 'running')
            ORDER BY id LIMIT 1)
          AND state = 'pending'
          AND NOT EXISTS (
            SELECT 1 FROM jobs
            WHERE ordering_key = NEW.ordering_key AND state = 'running');
      END;
    `,
  },
  {
    version: 10,
    name: "reconcile keeps the GHL contacts it read",
    sql: `
      -- Reconcile keeps each GHL contact it read here, with the Coopel id of
      -- its link, until Coopel's list brings the other record of the pair,
      -- so neither side is held in memory. matched is 1 once it has. The
      -- table becomes a rowid table, because rows this large insert several
      -- times slower WITHOUT ROWID. Its rows live for one run, so none are
      -- copied.
      DROP TABLE reconcile_seen;
      CREATE TABLE reconcile_seen (
        run_id TEXT NOT NULL,
        ghl_id TEXT NOT NULL,
        coopel_id TEXT,
        record TEXT,
        matched INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, ghl_id)
      );
      CREATE INDEX reconcile_seen_by_coopel ON reconcile_seen (run_id, coopel_id);
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
