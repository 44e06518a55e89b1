import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  SELECT_RUNNABLE_SQL,
  SqliteQueue,
} from "../../src/queue/sqlite-queue.js";
import { openSqlite } from "../../src/store/sqlite/database.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { SqliteTwoWayStore } from "../../src/store/sqlite/two-way.js";
import { queueStoreContract } from "./queue-store.contract.js";

queueStoreContract("SQLite", (now) => {
  const dir = mkdtempSync(path.join(tmpdir(), "contract-sqlite-"));
  const db = openSqlite({
    file: path.join(dir, "sync.db"),
    synchronous: "normal",
  });
  const queue = new SqliteQueue(db, now);
  const store = new SqliteStore(db);
  return Promise.resolve({
    queue,
    store,
    twoWay: new SqliteTwoWayStore(db),
    async close() {
      await queue.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
});

describe("SQLite claim query", () => {
  it("claim query reads only the ready index", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "contract-sqlite-"));
    const db = openSqlite({
      file: path.join(dir, "sync.db"),
      synchronous: "normal",
    });
    try {
      const plan = (
        db
          .prepare(`EXPLAIN QUERY PLAN ${SELECT_RUNNABLE_SQL}`)
          .all({ now: 0, limit: 16, skip: null }) as { detail: string }[]
      ).map((row) => row.detail);
      expect(plan[0]).toMatch(/^SEARCH j USING INDEX jobs_ready \(run_at<\?\)/);
      // json_each lists the accounts to skip, a handful of values at most.
      const scans = plan.filter(
        (line) => line.startsWith("SCAN") && !line.includes("json_each"),
      );
      expect(scans).toEqual([]);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
