import { mkdirSync } from "node:fs";
import path from "node:path";
import BetterSqlite3, { type Database } from "better-sqlite3";
import { migrate } from "./migrations.js";

export interface SqliteOptions {
  /** File path, or `:memory:`. */
  file: string;
  /** `normal` survives a killed process; `full` also survives power loss, at a slower commit. */
  synchronous: "normal" | "full";
}

/** Opens the database file in WAL mode and brings its schema up to date. */
export function openSqlite(options: SqliteOptions): Database {
  if (options.file !== ":memory:")
    mkdirSync(path.dirname(options.file), { recursive: true });
  const db = new BetterSqlite3(options.file);
  db.pragma("journal_mode = WAL");
  db.pragma(
    `synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`,
  );
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  migrate(db);
  return db;
}

/** Resolves a `sqlite:` store URL to a file path, relative paths from `baseDir`. */
export function sqliteFileFromUrl(url: string, baseDir: string): string {
  const rest = url.replace(/^sqlite:(\/\/)?/, "");
  if (rest === ":memory:") return rest;
  return path.resolve(baseDir, rest);
}
