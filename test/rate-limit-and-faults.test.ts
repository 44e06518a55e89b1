import { describe, expect, it } from "vitest";
import {
  AccountRateLimiter,
  RateLimitDeferral,
  sliceBudget,
} from "../src/ratelimit/account-limiter.js";
import { startCoopelSandbox } from "../src/sandbox/coopel-sandbox.js";
import { startGhlSandbox } from "../src/sandbox/ghl-sandbox.js";

const account = { system: "ghl" as const, accountId: "loc1" };

describe("sliceBudget", () => {
  it.each([
    [100, 10_000],
    [10, 1000],
    [3, 1000],
    [1, 1000],
    [2, 500],
  ])("%i per %i ms stays within the budget", (requests, perMs) => {
    const { slices, perSlice, sliceMs } = sliceBudget(requests, perMs);
    expect(perSlice).toBeGreaterThanOrEqual(1);
    expect(sliceMs * slices).toBeCloseTo(perMs);
    // Any window of perMs overlaps at most slices + 1 sub-windows.
    expect((slices + 1) * perSlice).toBeLessThanOrEqual(Math.max(requests, 2));
  });

  it("keeps most of GHL's documented budget", () => {
    const { slices, perSlice } = sliceBudget(100, 10_000);
    expect(slices * perSlice).toBeGreaterThanOrEqual(80);
  });
});

describe("AccountRateLimiter", () => {
  const budget = {
    requests: 100,
    perMs: 10_000,
    daily: 200_000,
    backgroundReserve: 0.1,
  };

  it("defers background work near the daily budget, not webhook work", async () => {
    const limiter = new AccountRateLimiter({ budgetOf: () => budget });
    limiter.observe(
      account,
      new Headers({
        "x-ratelimit-limit-daily": "200000",
        "x-ratelimit-daily-remaining": "15000",
      }),
    );
    await expect(limiter.acquire(account, "background")).rejects.toThrow(
      RateLimitDeferral,
    );
    await expect(limiter.acquire(account, "webhook")).resolves.toBeUndefined();
  });

  it("defers every request once the daily budget is spent", async () => {
    const limiter = new AccountRateLimiter({ budgetOf: () => budget });
    limiter.observe(
      account,
      new Headers({ "x-ratelimit-daily-remaining": "0" }),
    );
    const error = await limiter.acquire(account, "webhook").catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitDeferral);
    expect(error.reason).toBe("rate_limited_daily");
    expect(error.retryAt).toBeGreaterThan(Date.now());
  });

  it("waits out a spent window reported by the headers", async () => {
    const limiter = new AccountRateLimiter({
      budgetOf: () => budget,
      maxWaitMs: 50,
    });
    limiter.observe(
      account,
      new Headers({
        "x-ratelimit-max": "100",
        "x-ratelimit-interval-milliseconds": "10000",
        "x-ratelimit-remaining": "0",
      }),
    );
    const error = await limiter.acquire(account).catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitDeferral);
    expect(error.reason).toBe("rate_limited_burst");
  });

  it("frees waiting slots after a budget change", async () => {
    const limiter = new AccountRateLimiter({
      budgetOf: () => ({ ...budget, requests: 2, perMs: 200, daily: null }),
      maxWaitMs: 5_000,
      maxWaiting: 4,
    });
    // Fill the first window, then let four requests wait for the next one.
    await limiter.acquire(account);
    const waiting = Array.from({ length: 4 }, () => limiter.acquire(account));
    // A daily limit in the headers replaces the budget while they wait.
    limiter.observe(
      account,
      new Headers({ "x-ratelimit-limit-daily": "200000" }),
    );
    await Promise.allSettled(waiting);
    // Had the waiting count leaked, every later request would be deferred.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(limiter.acquire(account)).resolves.toBeUndefined();
  });

  it("tightens to a smaller reported budget and keeps other accounts apart", async () => {
    const limiter = new AccountRateLimiter({
      budgetOf: () => budget,
      maxWaitMs: 0,
    });
    limiter.observe(
      account,
      new Headers({
        "x-ratelimit-max": "3",
        "x-ratelimit-interval-milliseconds": "60000",
        "x-ratelimit-remaining": "3",
      }),
    );
    // A budget of 3 per minute allows one request per sub-window.
    await limiter.acquire(account);
    await expect(limiter.acquire(account)).rejects.toThrow(RateLimitDeferral);
    const other = { system: "ghl" as const, accountId: "loc2" };
    // The other account's window is its own, so its first request goes out.
    await expect(limiter.acquire(other)).resolves.toBeUndefined();
  });
});

describe("sandbox fault switches over HTTP", () => {
  it("PUT /_sandbox/faults switches faults on and off", async () => {
    const coopel = await startCoopelSandbox({ token: "t", logger: false });
    try {
      const set = await fetch(`${coopel.url}/_sandbox/faults`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          routes: { "GET /contacts/": { errorRate: { 503: 1 } } },
        }),
      });
      expect(set.status).toBe(200);
      const failing = await fetch(`${coopel.url}/contacts/`, {
        headers: { authorization: "Bearer t" },
      });
      expect(failing.status).toBe(503);

      const invalid = await fetch(`${coopel.url}/_sandbox/faults`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ routes: { "*": { resetRate: 2 } } }),
      });
      expect(invalid.status).toBe(400);
      expect(((await invalid.json()) as { message: string }).message).toContain(
        "resetRate",
      );

      const cleared = await fetch(`${coopel.url}/_sandbox/faults`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: "null",
      });
      expect(cleared.status).toBe(200);
      const working = await fetch(`${coopel.url}/contacts/`, {
        headers: { authorization: "Bearer t" },
      });
      expect(working.status).toBe(200);
    } finally {
      await coopel.close();
    }
  });

  it("the GHL sandbox takes the same admin call without a token", async () => {
    const ghl = await startGhlSandbox({
      locations: [{ id: "loc", token: "tok" }],
    });
    try {
      const set = await fetch(`${ghl.url}/_sandbox/faults`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ routes: { "*": { errorRate: { 500: 1 } } } }),
      });
      expect(set.status).toBe(200);
      const read = await fetch(`${ghl.url}/_sandbox/faults`);
      expect(await read.json()).toEqual({
        faults: { routes: { "*": { errorRate: { 500: 1 } } } },
      });
    } finally {
      await ghl.close();
    }
  });
});
