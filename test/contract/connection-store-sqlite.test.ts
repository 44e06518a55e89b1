import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SqliteConnectionStore } from "../../src/store/sqlite/connections.js";
import { openSqlite } from "../../src/store/sqlite/database.js";
import { connectionStoreContract } from "./connection-store.contract.js";

connectionStoreContract("SQLite", (now) => {
  const dir = mkdtempSync(path.join(tmpdir(), "contract-connections-"));
  const db = openSqlite({
    file: path.join(dir, "sync.db"),
    synchronous: "normal",
  });
  return Promise.resolve({
    store: new SqliteConnectionStore(db, now),
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
