import { describe, expect, it } from "vitest";
import type { GhlApi } from "../src/engine/ports.js";
import {
  AccountRateLimiter,
  RateLimitDeferral,
} from "../src/ratelimit/account-limiter.js";
import { BudgetedGhlApi } from "../src/ratelimit/budgeted-ghl-api.js";

/** A GhlApi that records when each contact read arrives; only getContact is used. */
function recordingApi(times: number[]): GhlApi {
  return {
    getContact: (_location: string, id: string) => {
      times.push(Date.now());
      return Promise.resolve({ id });
    },
  } as unknown as GhlApi;
}

describe("BudgetedGhlApi", () => {
  it("waits for the budget instead of failing", async () => {
    const times: number[] = [];
    const limiter = new AccountRateLimiter({
      budgetOf: () => ({
        requests: 3,
        perMs: 400,
        daily: null,
        backgroundReserve: 0,
      }),
      maxWaitMs: 1,
    });
    const api = new BudgetedGhlApi(recordingApi(times), limiter);
    const started = Date.now();
    for (let i = 0; i < 6; i++)
      expect(await api.getContact("loc", `c${i}`, { requests: [] })).toEqual({
        id: `c${i}`,
      });
    expect(times).toHaveLength(6);
    // sliceBudget keeps one of 3 requests back and allows one per 400 ms, so six wait five times.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_600);
  });

  it("throws when the daily budget is spent", async () => {
    const times: number[] = [];
    const limiter = new AccountRateLimiter({
      budgetOf: () => ({
        requests: 100,
        perMs: 1000,
        daily: 2,
        backgroundReserve: 0,
      }),
    });
    const api = new BudgetedGhlApi(recordingApi(times), limiter);
    await api.getContact("loc", "a", { requests: [] });
    await api.getContact("loc", "b", { requests: [] });
    await expect(
      api.getContact("loc", "c", { requests: [] }),
    ).rejects.toBeInstanceOf(RateLimitDeferral);
    expect(times).toHaveLength(2);
  });
});
