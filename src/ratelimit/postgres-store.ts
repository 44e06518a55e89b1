import type pg from "pg";
import { RateLimiterPostgres } from "rate-limiter-flexible";
import type { LimiterFactory } from "./account-limiter.js";

/** Table of the shared request counters, created by PostgreSQL migration 8. */
export const RATE_LIMIT_TABLE = "rate_limits";

/**
 * Returns a factory of request counters kept in PostgreSQL, so that every
 * process on the database counts against the same budget of an account.
 */
export function postgresLimiterFactory(pool: pg.Pool): LimiterFactory {
  return (options) =>
    new RateLimiterPostgres({
      storeClient: pool,
      storeType: "pool",
      tableName: RATE_LIMIT_TABLE,
      tableCreated: true,
      // Rows are reused per window key, so there is nothing to clear.
      clearExpiredByTimeout: false,
      keyPrefix: options.keyPrefix,
      points: options.points,
      // The table keeps expiry times as whole milliseconds; rounding up
      // makes a window slightly longer, never shorter.
      duration: Math.ceil(options.durationSeconds * 1000) / 1000,
    });
}
