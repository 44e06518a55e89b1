import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openSqlite } from "../../src/store/sqlite/database.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { SqliteSyncState } from "../../src/store/sqlite/sync-state.js";
import { syncStateContract } from "./sync-state.contract.js";

syncStateContract("SQLite", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "contract-sync-state-"));
  const db = openSqlite({
    file: path.join(dir, "sync.db"),
    synchronous: "normal",
  });
  const store = new SqliteStore(db);
  return Promise.resolve({
    state: new SqliteSyncState(db),
    store,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
});
