import { randomBytes } from "node:crypto";
import pg from "pg";

/** Server URL the PostgreSQL tests create their databases on. */
export const POSTGRES_BASE_URL =
  process.env.TEST_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  /** URL of a fresh, empty database that only this test file uses. */
  url: string;
  drop(): Promise<void>;
}

function withDatabase(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_BASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a database with a random name, so that test files running in
 * parallel (and other checkouts on the same server) never share one.
 */
export async function createTestDatabase(
  prefix = "ghl_coopel_sync_test",
): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  return {
    url: withDatabase(POSTGRES_BASE_URL, name),
    async drop() {
      await admin((client) =>
        client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
      );
    },
  };
}
