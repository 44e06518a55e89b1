import { afterAll, beforeAll } from "vitest";
import { PostgresQueue } from "../../src/queue/postgres-queue.js";
import { openPostgres } from "../../src/store/postgres/database.js";
import { migratePostgres } from "../../src/store/postgres/migrations.js";
import { PostgresStore } from "../../src/store/postgres/store.js";
import { PostgresTwoWayStore } from "../../src/store/postgres/two-way.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { queueStoreContract } from "./queue-store.contract.js";

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

queueStoreContract("PostgreSQL", async (now) => {
  const pool = openPostgres({ url: database.url });
  await pool.query(
    "TRUNCATE jobs, deliveries, links, account_pauses, write_intents, conflicts, cursors RESTART IDENTITY",
  );
  const queue = new PostgresQueue(pool, { url: database.url, now });
  const store = new PostgresStore(pool);
  return {
    queue,
    store,
    twoWay: new PostgresTwoWayStore(pool),
    async close() {
      await queue.close();
      await store.close();
    },
  };
});
