import pg from "pg";

export interface PostgresOptions {
  /** A `postgres://` or `postgresql://` connection URL. */
  url: string;
  /** Most connections this process opens. */
  maxConnections?: number;
}

// Epoch milliseconds are stored as BIGINT; they fit a JavaScript number.
const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: "text" | "binary"): unknown {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? "text") as unknown;
  },
};

/** Opens a connection pool; the caller runs migratePostgres before use. */
export function openPostgres(options: PostgresOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    types,
    application_name: "ghl-coopel-sync",
  });
  // An idle client that loses its connection emits here; the pool replaces it.
  pool.on("error", () => {});
  return pool;
}

/** The URL with any password replaced, for log lines and error messages. */
export function redactPostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "postgres://(unparseable URL)";
  }
}

/** Runs `work` inside one transaction on one client of the pool. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
