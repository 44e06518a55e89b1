import { existsSync } from "node:fs";
import BetterSqlite3 from "better-sqlite3";
import type { LoadedConfig } from "../config/load.js";
import { openStorage, StartupError } from "../runtime/service.js";
import { sqliteFileFromUrl } from "../store/sqlite/database.js";

/** Schema versions recorded in a SQLite file, or none when it does not exist yet. */
function sqliteVersions(file: string): number[] {
  if (file === ":memory:" || !existsSync(file)) return [];
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const table = db
      .prepare(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
      )
      .get();
    if (!table) return [];
    return db
      .prepare("SELECT version FROM schema_migrations ORDER BY version")
      .all()
      .map((row) => (row as { version: number }).version);
  } finally {
    db.close();
  }
}

/**
 * Brings the configured database's schema up to date and prints what it
 * applied. Starting the service does the same; this command lets an operator
 * migrate ahead of rolling out new processes.
 */
export async function runMigrate(
  loaded: LoadedConfig,
  options: { json?: boolean } = {},
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const { config, baseDir } = loaded;
  const sqliteFile = config.store.url.startsWith("sqlite:")
    ? sqliteFileFromUrl(config.store.url, baseDir)
    : null;
  const before = sqliteFile ? sqliteVersions(sqliteFile) : [];
  let storage;
  try {
    storage = await openStorage(config, baseDir);
  } catch (error) {
    if (error instanceof StartupError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  try {
    const applied = sqliteFile
      ? sqliteVersions(sqliteFile).filter((v) => !before.includes(v))
      : storage.migrated;
    if (options.json)
      out.write(
        `${JSON.stringify({ applied, dataLocation: storage.dataLocation }, null, 2)}\n`,
      );
    else
      out.write(
        applied.length === 0
          ? `schema of ${storage.dataLocation} is up to date\n`
          : `applied migrations ${applied.join(", ")} to ${storage.dataLocation}\n`,
      );
    return 0;
  } finally {
    await storage.queue.close();
    await storage.store.close();
  }
}
