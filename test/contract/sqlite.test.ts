import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SqliteQueue } from "../../src/queue/sqlite-queue.js";
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
