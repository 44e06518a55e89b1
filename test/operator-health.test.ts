import { writeFileSync } from "node:fs";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { fixture, startHarness, type Harness } from "./helpers/harness.js";
import { runCli } from "./helpers/cli.js";

let harness: Harness | null = null;
afterEach(async () => {
  await harness?.close();
  harness = null;
});

/** Reads one sample of a metric from Prometheus text; 0 when absent. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  const lines = text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of lines) {
    if (!wanted.every((w) => line.includes(w))) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

const ADMIN_TOKEN = "operator-test-admin-token-0123456789abcdef";

async function scrape(h: Harness): Promise<string> {
  const response = await fetch(`${h.service.url}/metrics`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return response.text();
}

function contact(
  id: string,
  email: string,
  webhookId: string,
): Record<string, unknown> {
  return { ...fixture("ContactCreate"), id, email, webhookId };
}

describe("metrics", () => {
  it("move as known traffic is processed", async () => {
    harness = await startHarness({ admin: { token: ADMIN_TOKEN } });
    const before = await scrape(harness);
    expect(sample(before, "ghl_coopel_sync_inbox_depth")).toBe(0);

    for (let i = 0; i < 3; i += 1) {
      const response = await harness.post(
        contact(
          `metricsContact${i}`,
          `metrics${i}@example.com`,
          `metrics-${i}`,
        ),
      );
      expect(response.status).toBe(200);
    }
    const repeat = await harness.post(
      contact("metricsContact0", "metrics0@example.com", "metrics-0"),
    );
    expect(repeat.status).toBe(200);
    await harness.waitForIdle();

    const after = await scrape(harness);
    const accepted = sample(after, "ghl_coopel_sync_webhooks_total", {
      type: "ContactCreate",
      result: "accepted",
    });
    expect(accepted).toBe(3);
    expect(
      sample(after, "ghl_coopel_sync_jobs_total", {
        type: "ContactCreate",
        outcome: "synced",
      }),
    ).toBe(3);
    expect(
      sample(after, "ghl_coopel_sync_api_requests_total", {
        api: "Coopel",
        method: "POST",
        route: "/contacts/",
      }),
    ).toBe(3);
    expect(
      sample(after, "ghl_coopel_sync_webhook_to_write_seconds_count"),
    ).toBe(3);
    expect(sample(after, "ghl_coopel_sync_inbox_depth")).toBe(0);
    expect(sample(after, "ghl_coopel_sync_processing_lag_seconds")).toBe(0);
    expect(sample(after, "ghl_coopel_sync_dead_letters_total")).toBe(0);

    harness.coopel.setFaults({
      routes: { "POST /contacts/": { errorRate: { 400: 1 } } },
    });
    await harness.post(
      contact("metricsDead", "dead@example.com", "metrics-dead"),
    );
    await harness.waitForIdle();
    const failed = await scrape(harness);
    expect(
      sample(failed, "ghl_coopel_sync_dead_letters_total", {
        type: "ContactCreate",
      }),
    ).toBe(1);
    expect(
      sample(failed, "ghl_coopel_sync_api_requests_total", {
        api: "Coopel",
        method: "POST",
        status: "400",
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe("health and readiness", () => {
  it("/readyz reports not ready while the store cannot be written, and ready again after", async () => {
    harness = await startHarness();
    const url = harness.service.url;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const other = new BetterSqlite3(path.join(harness.dir, "sync.db"));
    try {
      other.prepare("BEGIN EXCLUSIVE").run();
      const blocked = await fetch(`${url}/readyz`);
      expect(blocked.status).toBe(503);
      const body = (await blocked.json()) as { reason: string };
      expect(body.reason).toMatch(/store not writable/);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      other.prepare("ROLLBACK").run();
    } finally {
      other.close();
    }
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it("/readyz reports not ready when every GHL location is paused", async () => {
    harness = await startHarness();
    await harness.restart({
      ghl: {
        ...harness.config.ghl,
        locations: [{ id: "ve9EPM428h8vShlRW1KT", token: "t", paused: true }],
      },
    });
    const response = await fetch(`${harness.service.url}/readyz`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { reason: string }).reason).toMatch(
      /no active GHL location/,
    );
  });
});

describe("status and events commands", () => {
  it("print JSON whose figures match the store", async () => {
    harness = await startHarness();
    await harness.post(contact("statusOk", "ok@example.com", "status-ok"));
    await harness.waitForIdle();
    harness.coopel.setFaults({
      routes: { "POST /contacts/": { errorRate: { 400: 1 } } },
    });
    await harness.post(
      contact("statusDead", "dead@example.com", "status-dead"),
    );
    await harness.waitForIdle();
    const file = path.join(harness.dir, "sync.config.yaml");
    writeFileSync(file, stringify(harness.config));

    const status = await runCli(["status", "--config", file, "--json"]);
    expect(status.code, status.stderr).toBe(1);
    const overview = JSON.parse(status.stdout);
    expect(overview.last24h).toMatchObject({
      received: 2,
      synced: 1,
      failed: 1,
    });
    expect(overview.deadLetters).toBe(1);
    expect(overview.inboxDepth).toBe(0);
    expect(overview.connections[0]).toMatchObject({
      system: "ghl",
      state: "active",
    });

    const dead = await runCli([
      "events",
      "--config",
      file,
      "--state",
      "dead",
      "--json",
    ]);
    expect(dead.code, dead.stderr).toBe(0);
    const events = JSON.parse(dead.stdout);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "ContactCreate",
      state: "dead",
      outcome: "failed",
    });
    expect(events[0].orderingKey).toContain("statusDead");
    expect(events[0].lastError).toMatch(/400/);

    const one = await runCli([
      "events",
      "--config",
      file,
      "--id",
      events[0].id,
    ]);
    expect(one.code).toBe(0);
    const detail = JSON.parse(one.stdout);
    expect(detail.payload.id).toBe("statusDead");
    expect(detail.requests[0]).toMatchObject({
      api: "Coopel",
      method: "POST",
      status: 400,
    });

    const byContact = await runCli([
      "events",
      "--config",
      file,
      "--contact",
      "statusOk",
      "--json",
    ]);
    expect(
      JSON.parse(byContact.stdout).map((e: { outcome: string }) => e.outcome),
    ).toEqual(["synced"]);

    const missing = await runCli(["events", "--config", file, "--id", "99999"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("99999");

    const badSince = await runCli([
      "events",
      "--config",
      file,
      "--since",
      "yesterday",
    ]);
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toContain("--since yesterday");
  }, 120_000);
});
