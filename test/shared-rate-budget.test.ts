import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { GhlHttpClient } from "../src/connectors/ghl/client.js";
import { ApiError } from "../src/engine/errors.js";
import {
  AccountRateLimiter,
  RateLimitDeferral,
  type LimiterFactory,
} from "../src/ratelimit/account-limiter.js";
import { postgresLimiterFactory } from "../src/ratelimit/postgres-store.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";
import { openPostgres } from "../src/store/postgres/database.js";
import { migratePostgres } from "../src/store/postgres/migrations.js";
import { createTestDatabase, type TestDatabase } from "./helpers/postgres.js";

const LOCATION = "sharedBudgetLocation01";
const TOKEN = "shared-budget-token";
/** GHL's 100 requests per 10 s, ten times faster so the test stays short. */
const BUDGET = { requests: 100, perMs: 1000 };
const PROCESSES = 10;
const RUN_MS = 3000;

let database: TestDatabase;
let sandbox: GhlSandbox;
const pools: pg.Pool[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const pool = openPostgres({ url: database.url });
  await migratePostgres(pool);
  await pool.end();
});

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await database?.drop();
});

/**
 * Runs `PROCESSES` clients, each with its own limiter as each worker
 * process has, sending GHL reads for one location for `RUN_MS`. Returns
 * the counts of sandbox responses by status.
 */
async function run(
  factory: (index: number) => LimiterFactory | undefined,
): Promise<{ ok: number; throttled: number }> {
  sandbox = await startGhlSandbox({
    locations: [{ id: LOCATION, token: TOKEN }],
    rateLimits: {
      burst: BUDGET.requests,
      intervalMs: BUDGET.perMs,
      daily: 1_000_000,
    },
    logger: false,
  });
  try {
    const until = Date.now() + RUN_MS;
    const lanes = Array.from({ length: PROCESSES }, async (_, index) => {
      const limiterFactory = factory(index);
      const limiter = new AccountRateLimiter({
        budgetOf: () => ({ ...BUDGET, daily: null, backgroundReserve: 0 }),
        ...(limiterFactory ? { limiterFactory } : {}),
      });
      const client = new GhlHttpClient({
        baseUrl: sandbox.url,
        apiVersion: "2021-07-28",
        timeoutMs: 5000,
        tokens: { getToken: () => Promise.resolve(TOKEN) },
        rateLimiter: limiter,
      });
      // Four requests in flight per process, as workers run several jobs.
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (Date.now() < until) {
            try {
              await client.request(
                LOCATION,
                "GET",
                "/contacts/search/duplicate",
                {
                  query: { locationId: LOCATION, email: "a@example.com" },
                  context: { requests: [] },
                },
              );
            } catch (error) {
              // The sandbox counts every 429 it sends; the lane goes on.
              if (error instanceof ApiError && error.status === 429) continue;
              if (!(error instanceof RateLimitDeferral)) throw error;
              const wait = Math.max(1, error.retryAt - Date.now());
              await new Promise((resolve) => setTimeout(resolve, wait));
            }
          }
        }),
      );
    });
    await Promise.all(lanes);
    const answered = sandbox.requests.filter((r) => r.status !== null);
    return {
      ok: answered.filter((r) => r.status === 200).length,
      throttled: answered.filter((r) => r.status === 429).length,
    };
  } finally {
    await sandbox.close();
  }
}

describe("rate budgets shared on PostgreSQL", () => {
  it("ten processes send no 429", async () => {
    const result = await run(() => {
      const pool = openPostgres({ url: database.url });
      pools.push(pool);
      return postgresLimiterFactory(pool);
    });
    expect(result.throttled).toBe(0);
    // The budget allows about 300 requests in 3 s; the shared counters must use at least half of it.
    expect(result.ok).toBeGreaterThan(150);
    expect(result.ok).toBeLessThanOrEqual(
      (BUDGET.requests * (RUN_MS + BUDGET.perMs)) / BUDGET.perMs,
    );
  }, 60_000);

  it("budgets in memory per process meet 429s", async () => {
    const result = await run(() => undefined);
    expect(result.throttled).toBeGreaterThan(0);
  }, 60_000);
});
