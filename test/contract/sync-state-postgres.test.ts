import { afterAll, beforeAll } from "vitest";
import { openPostgres } from "../../src/store/postgres/database.js";
import { migratePostgres } from "../../src/store/postgres/migrations.js";
import { PostgresStore } from "../../src/store/postgres/store.js";
import { PostgresSyncState } from "../../src/store/postgres/sync-state.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { syncStateContract } from "./sync-state.contract.js";

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  const pool = openPostgres({ url: database.url });
  await migratePostgres(pool);
  await pool.end();
});

afterAll(async () => {
  await database?.drop();
});

syncStateContract("PostgreSQL", async () => {
  const pool = openPostgres({ url: database.url });
  await pool.query(
    "TRUNCATE links, sync_cursors, review_items, reconcile_seen RESTART IDENTITY",
  );
  const store = new PostgresStore(pool);
  return {
    state: new PostgresSyncState(pool),
    store,
    async close() {
      await store.close();
    },
  };
});
