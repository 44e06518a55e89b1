import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { requestJson } from "../src/connectors/http.js";
import {
  ApiError,
  classifyApiError,
  duplicateContactId,
} from "../src/engine/errors.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";
import { runCli } from "./helpers/cli.js";
import {
  fixture,
  LOCATION_ID,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

let harness: Harness | undefined;
let ghl: GhlSandbox | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await ghl?.close();
  ghl = undefined;
});

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function contact(id: string, extra: Record<string, unknown> = {}) {
  return {
    ...fixture("ContactCreate"),
    id,
    email: `${id}@example.com`,
    phone: null,
    webhookId: `wh-${id}-${JSON.stringify(extra).length}`,
    ...extra,
  };
}

function requestsTo(h: Harness, method: string) {
  return h.coopel.requests.filter(
    (r) => r.method === method && r.path.startsWith("/contacts"),
  );
}

/** Sends `method path` to the GHL sandbox and returns the ApiError it fails with. */
async function ghlFailure(
  method: string,
  requestPath: string,
  token: string,
  body?: unknown,
): Promise<ApiError> {
  try {
    await requestJson({
      system: "GHL",
      baseUrl: ghl!.url,
      method,
      path: requestPath,
      headers: { authorization: `Bearer ${token}`, version: "2021-07-28" },
      body,
      timeoutMs: 5000,
    });
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error(`${method} ${requestPath} did not fail`);
}

describe("error classes", () => {
  it("GHL sandbox answers get the documented classes", async () => {
    ghl = await startGhlSandbox({
      locations: [
        { id: "locA", token: "token-a" },
        { id: "locB", token: "token-b" },
      ],
    });
    const invalidToken = await ghlFailure("GET", "/contacts/x", "wrong");
    expect(invalidToken.status).toBe(401);
    expect(classifyApiError(invalidToken)).toEqual({
      errorClass: "account",
      pauseReason: "token_invalid",
    });

    const wrongLocation = await ghlFailure("POST", "/contacts/", "token-a", {
      locationId: "locB",
      email: "a@example.com",
    });
    expect(wrongLocation.status).toBe(403);
    expect(classifyApiError(wrongLocation).pauseReason).toBe("wrong_location");

    const invalidRecord = await ghlFailure("POST", "/contacts/", "token-a", {
      locationId: "locA",
      email: "a@example.com",
      unknownField: 1,
    });
    expect(invalidRecord.status).toBe(422);
    expect(classifyApiError(invalidRecord).errorClass).toBe("permanent");

    await requestJson({
      system: "GHL",
      baseUrl: ghl.url,
      method: "POST",
      path: "/contacts/",
      headers: { authorization: "Bearer token-a", version: "2021-07-28" },
      body: { locationId: "locA", email: "dup@example.com" },
      timeoutMs: 5000,
    });
    const duplicate = await ghlFailure("POST", "/contacts/", "token-a", {
      locationId: "locA",
      email: "dup@example.com",
    });
    expect(duplicate.status).toBe(400);
    const existing = [...ghl.contacts.get("locA")!.values()][0]!;
    expect(duplicateContactId(duplicate)).toBe(existing.id);
    expect(duplicateContactId(invalidRecord)).toBeNull();
  });

  it.each([
    [
      401,
      "The token is not authorized for this scope.",
      "account",
      "missing_scope",
    ],
    [401, "Invalid JWT", "account", "token_invalid"],
    [
      403,
      "The token does not have access to this location.",
      "account",
      "wrong_location",
    ],
    [403, "This location is inactive", "account", "location_inactive"],
    [400, "Location is deactivated", "account", "location_inactive"],
    [403, "Forbidden resource", "account", "forbidden"],
    [400, "Contact with id abc not found", "permanent", null],
    [404, "Not found", "permanent", null],
    [422, ["email must be an email"], "permanent", null],
    [408, "Request Timeout", "retryable", null],
    [429, "Too many requests", "retryable", null],
    [500, "Internal Server Error", "retryable", null],
    [503, "Service Unavailable", "retryable", null],
    [null, undefined, "retryable", null],
  ])("status %s with %j is %s", (status, message, errorClass, pauseReason) => {
    const error = new ApiError({
      system: "GHL",
      method: "POST",
      path: "/contacts/",
      status,
      body: message === undefined ? null : { statusCode: status, message },
    });
    expect(classifyApiError(error)).toEqual({ errorClass, pauseReason });
  });

  it("a rejected Coopel token pauses the account and keeps its jobs", async () => {
    harness = await startHarness({
      worker: { account_pause_ms: 1000, retry_base_ms: 20, retry_max_ms: 200 },
    });
    const goodUrl = harness.coopel.url;
    await harness.restart({
      coopel: { base_url: goodUrl, token: "revoked-token", timeout_ms: 2000 },
    });
    for (let i = 0; i < 5; i++) await harness.post(contact(`paused-${i}`));
    await waitFor(async () => {
      const paused = await harness!.service.queue.listPausedAccounts();
      return paused.length === 1;
    });
    const [pause] = await harness.service.queue.listPausedAccounts();
    expect(pause!.system).toBe("coopel");
    expect(pause!.reason).toBe("token_invalid");
    expect(pause!.message).toContain("401");
    expect(await harness.service.queue.depth()).toBe(5);
    expect(await harness.service.queue.listDeadLetters({})).toEqual([]);
    // Each job in flight when the token failed may have tried once; none again.
    const attempts = requestsTo(harness, "POST").length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requestsTo(harness, "POST").length).toBe(attempts);
    expect(attempts).toBeLessThanOrEqual(5);
    expect(
      harness.logLines.some(
        (line) =>
          line.level === 40 &&
          String(line.msg).includes("coopel account default paused"),
      ),
    ).toBe(true);

    await harness.restart({
      coopel: {
        base_url: goodUrl,
        token: "test-coopel-token",
        timeout_ms: 2000,
      },
    });
    await harness.waitForIdle();
    expect(harness.coopel.contacts.size).toBe(5);
    expect(await harness.service.queue.listPausedAccounts()).toEqual([]);
  });

  it("a 503 is retried and a 400 goes to the dead-letter list", async () => {
    harness = await startHarness();
    harness.coopel.setFaults({
      seed: 1,
      routes: { "POST /contacts/": { errorRate: { 503: 0.5 } } },
    });
    for (let i = 0; i < 6; i++) await harness.post(contact(`flaky-${i}`));
    await harness.waitForIdle();
    expect(harness.coopel.contacts.size).toBe(6);
    expect(requestsTo(harness, "POST").some((r) => r.status === 503)).toBe(
      true,
    );

    harness.coopel.setFaults({
      routes: { "POST /contacts/": { errorRate: { 400: 1 } } },
    });
    await harness.post(contact("rejected"));
    await harness.waitForIdle();
    const [dead] = await harness.service.queue.listDeadLetters({});
    expect(dead!.errorClass).toBe("permanent");
    expect(dead!.attempts).toBe(1);
    expect(dead!.event.payload.id).toBe("rejected");
    expect(dead!.lastError).toContain("HTTP 400");
    expect(dead!.requests.at(-1)).toMatchObject({
      method: "POST",
      path: "/contacts/",
      status: 400,
    });
  });
});

describe("no duplicates", () => {
  it("a create that times out after the sandbox stored it makes one record", async () => {
    harness = await startHarness();
    await harness.restart({
      coopel: {
        base_url: harness.coopel.url,
        token: "test-coopel-token",
        timeout_ms: 500,
      },
    });
    harness.coopel.setFaults({
      routes: {
        "POST /contacts/": { afterHandlerTimeoutRate: 1, holdMs: 2000 },
      },
    });
    await harness.post(contact("slow-create"));
    await waitFor(() => harness!.coopel.contacts.size === 1);
    harness.coopel.setFaults(undefined);
    await harness.waitForIdle();
    expect(harness.coopel.contacts.size).toBe(1);
    expect(requestsTo(harness, "POST")).toHaveLength(1);
    expect(requestsTo(harness, "GET").length).toBeGreaterThan(0);
    const stored = [...harness.coopel.contacts.values()][0]!;
    const link = await harness.service.store.getLink(
      "contact",
      LOCATION_ID,
      "slow-create",
    );
    expect(link?.coopelId).toBe(stored.id);
  });

  it("a failing lookup sends no create, and a replay links the record", async () => {
    harness = await startHarness({
      worker: { max_attempts: 3, retry_base_ms: 20, retry_max_ms: 50 },
    });
    await harness.restart({
      coopel: {
        base_url: harness.coopel.url,
        token: "test-coopel-token",
        timeout_ms: 500,
      },
    });
    harness.coopel.setFaults({
      routes: {
        "POST /contacts/": { afterHandlerTimeoutRate: 1, holdMs: 2000 },
        "GET /contacts/": { errorRate: { 503: 1 } },
      },
    });
    await harness.post(contact("lookup-fails"));
    await harness.waitForIdle();
    expect(requestsTo(harness, "POST")).toHaveLength(1);
    expect(requestsTo(harness, "GET")).toHaveLength(2);
    const [dead] = await harness.service.queue.listDeadLetters({});
    expect(dead!.errorClass).toBe("retryable");
    expect(dead!.attempts).toBe(3);

    harness.coopel.setFaults(undefined);
    const configFile = path.join(harness.dir, "cli.config.yaml");
    writeFileSync(configFile, stringify(harness.config));
    const listed = await runCli(
      ["dead-letters", "--config", configFile],
      {},
      60_000,
    );
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`#${dead!.id} ContactCreate lookup-fails`);
    expect(listed.stdout).toContain("class retryable, 3 attempts");
    expect(listed.stdout).toContain("1 dead letter");

    const replay = ["replay", "--config", configFile, "--id", dead!.id];
    const dryRun = await runCli([...replay, "--dry-run", "--json"], {}, 60_000);
    expect(JSON.parse(dryRun.stdout)).toEqual({
      dryRun: true,
      ids: [dead!.id],
    });
    const writesBefore = harness.coopel.requests.filter(
      (r) => r.method !== "GET",
    ).length;
    const planned = await runCli([...replay, "--dry-run"], {}, 60_000);
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain(
      `1 dead letter would be replayed: #${dead!.id}`,
    );
    // The running worker would pick up a replayed job within a few polls.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      harness.coopel.requests.filter((r) => r.method !== "GET").length,
    ).toBe(writesBefore);
    expect(await harness.service.queue.listDeadLetters({})).toHaveLength(1);

    const first = await runCli(replay, {}, 60_000);
    expect(first.stdout).toContain("replayed 1 dead letter");
    const second = await runCli(replay, {}, 60_000);
    expect(second.stdout).toContain("replayed 0 dead letters");
    const third = await runCli([...replay, "--json"], {}, 60_000);
    expect(JSON.parse(third.stdout)).toEqual({
      dryRun: false,
      ids: [],
      replayed: 0,
    });
    await waitFor(async () => (await harness!.service.queue.depth()) === 0);
    await harness.waitForIdle();
    expect(harness.coopel.contacts.size).toBe(1);
    expect(requestsTo(harness, "POST")).toHaveLength(1);
    const link = await harness.service.store.getLink(
      "contact",
      LOCATION_ID,
      "lookup-fails",
    );
    expect(link?.coopelId).toBe([...harness.coopel.contacts.keys()][0]);
  }, 180_000);

  it("replay without a selection is rejected", async () => {
    harness = await startHarness();
    const configFile = path.join(harness.dir, "cli.config.yaml");
    writeFileSync(configFile, stringify(harness.config));
    const result = await runCli(["replay", "--config", configFile], {}, 60_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--all");
    const badId = await runCli(
      ["replay", "--config", configFile, "--id", "x"],
      {},
      60_000,
    );
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain("--id x");
  }, 120_000);
});

describe("order and staleness", () => {
  it("ten rapid updates of one contact make one write with the last values", async () => {
    harness = await startHarness({ sync: { coalesce_ms: 3000 } });
    await harness.post(contact("burst"));
    await harness.waitForIdle();
    const base = Date.parse("2026-03-01T00:00:00Z");
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        harness!.post({
          ...fixture("ContactUpdate"),
          id: "burst",
          email: "burst@example.com",
          phone: null,
          firstName: `Edit ${i}`,
          dateUpdated: new Date(base + i * 1000).toISOString(),
          webhookId: `wh-burst-${i}`,
        }),
      ),
    );
    await harness.waitForIdle();
    const puts = requestsTo(harness, "PUT");
    expect(puts).toHaveLength(1);
    expect((puts[0]!.body as Record<string, unknown>).first_name).toBe(
      "Edit 9",
    );
    expect([...harness.coopel.contacts.values()][0]!.first_name).toBe("Edit 9");
  });

  it("an update older than the applied one is skipped", async () => {
    harness = await startHarness({ sync: { coalesce_ms: 0 } });
    await harness.post(contact("ordered"));
    await harness.waitForIdle();
    const update = (name: string, at: string, webhookId: string) =>
      harness!.post({
        ...fixture("ContactUpdate"),
        id: "ordered",
        email: "ordered@example.com",
        phone: null,
        firstName: name,
        dateUpdated: at,
        webhookId,
      });
    await update("Newer", "2026-03-01T00:00:02Z", "wh-newer");
    await harness.waitForIdle();
    await update("Older", "2026-03-01T00:00:01Z", "wh-older");
    await harness.waitForIdle();
    expect([...harness.coopel.contacts.values()][0]!.first_name).toBe("Newer");
    expect(requestsTo(harness, "PUT")).toHaveLength(1);
    const stats = await harness.service.store.eventStats(0);
    expect(stats.skipped).toBe(1);
  });
});

describe("rate limits", () => {
  it("a budget of 10 requests per second never meets a 429", async () => {
    harness = await startHarness(
      {},
      { rateLimits: { burst: 10, intervalMs: 1000, daily: 100_000 } },
    );
    await harness.restart({
      coopel: {
        base_url: harness.coopel.url,
        token: "test-coopel-token",
        timeout_ms: 2000,
        rate_limit: { requests: 10, per_ms: 1000 },
      },
    });
    for (let i = 0; i < 25; i++) await harness.post(contact(`budget-${i}`));
    await harness.waitForIdle(30_000);
    expect(harness.coopel.contacts.size).toBe(25);
    expect(harness.coopel.requests.filter((r) => r.status === 429)).toEqual([]);
  }, 60_000);
});
