import { afterAll, beforeAll } from "vitest";
import { PostgresConnectionStore } from "../../src/store/postgres/connections.js";
import { openPostgres } from "../../src/store/postgres/database.js";
import { migratePostgres } from "../../src/store/postgres/migrations.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { connectionStoreContract } from "./connection-store.contract.js";

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

connectionStoreContract("PostgreSQL", async (now) => {
  const pool = openPostgres({ url: database.url });
  await pool.query("TRUNCATE connections, locks, pending_installs");
  return {
    store: new PostgresConnectionStore(pool, now),
    close: () => pool.end(),
  };
});
