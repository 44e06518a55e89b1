import { afterEach, describe, expect, it } from "vitest";
import { spawnCli } from "./helpers/cli.js";
import { startFirstSync, type FirstSyncSetup } from "./helpers/first-sync.js";
import { GHL_TOKEN, LOCATION_ID } from "./helpers/harness.js";

let setup: FirstSyncSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

/** GHL contacts 0..n-1; Coopel has the first `matched` of them by email. */
function seed(s: FirstSyncSetup, count: number, matched: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(
      s.ghl.userCreateContact(LOCATION_ID, {
        firstName: `First${i}`,
        email: `person${i}@example.com`,
        phone: `+1415${String(3_000_000 + i)}`,
      }).id,
    );
  }
  for (let i = 0; i < matched; i++)
    s.coopel.userCreateContact({
      first_name: `First${i}`,
      email: `person${i}@example.com`,
    });
  return ids;
}

async function waitFor(
  condition: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("backfill resume", () => {
  it("survives three kill -9 without duplicates or gaps", async () => {
    setup = await startFirstSync({ backfill: { page_size: 100 } });
    const s = setup;
    const ghlIds = seed(s, 3000, 1000);

    for (const writesAtKill of [300, 1100, 1900]) {
      const child = spawnCli(["backfill", "--config", s.configFile]);
      const exited = new Promise<number | null>((resolve) =>
        child.on("exit", (code) => resolve(code)),
      );
      await waitFor(
        () => s.writes().coopel >= writesAtKill,
        60_000,
        `${writesAtKill} Coopel writes`,
      );
      child.kill("SIGKILL");
      expect(await exited).toBe(null);
    }
    const before = (await s.links()).length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(3000);

    const result = await s.cli(["backfill", "--json"], 120_000);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary.resumed).toBe(true);

    const links = await s.links();
    expect(links.map((l) => l.ghlId).sort()).toEqual([...ghlIds].sort());
    const coopel = [...s.coopel.contacts.values()];
    expect(coopel).toHaveLength(3000);
    const byExternalId = new Map<unknown, number>();
    for (const contact of coopel)
      byExternalId.set(
        contact.external_id,
        (byExternalId.get(contact.external_id) ?? 0) + 1,
      );
    expect(byExternalId.size).toBe(3000);
    expect([...byExternalId.values()].every((n) => n === 1)).toBe(true);
    for (const link of links)
      expect(s.coopel.contacts.get(link.coopelId!)?.external_id).toBe(
        link.ghlId,
      );
    // The cursor is deleted once the scan is complete.
    const again = await s.cli(["backfill", "--json"], 120_000);
    expect((JSON.parse(again.stdout) as Record<string, unknown>).resumed).toBe(
      false,
    );
  }, 240_000);
});

describe("backfill pagination faults", () => {
  it("reads every contact despite a wrong total and an empty page", async () => {
    setup = await startFirstSync({ backfill: { page_size: 100 } });
    const s = setup;
    seed(s, 1200, 0);
    s.ghl.setSearchFaults({ wrongTotal: 3, emptyPageAt: 5 });

    const result = await s.cli(["backfill", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, number>;
    expect(summary.read).toBe(1200);
    expect(summary.created).toBe(1200);
    // 12 pages and a confirmed empty end per pass, plus the faulty empty page asked again.
    expect(summary.ghlRequests).toBe(2 * (12 + 2) + 1);
    expect(await s.links()).toHaveLength(1200);
  }, 60_000);

  it("stops on a repeated cursor and names it", async () => {
    setup = await startFirstSync({ backfill: { page_size: 100 } });
    const s = setup;
    seed(s, 500, 0);
    s.ghl.setSearchFaults({ repeatCursorFrom: 3 });

    const result = await s.cli(["backfill"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /returned the cursor \[\d+,"[A-Za-z0-9]+"\] again on page 3/,
    );
    expect(s.writes().coopel).toBe(0);
  }, 60_000);

  it("keeps the 10,000 cap on page numbers, which backfill never uses", async () => {
    setup = await startFirstSync();
    const s = setup;
    seed(s, 10, 0);
    const response = await fetch(`${s.ghl.url}/contacts/search`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${GHL_TOKEN}`,
        version: "2021-07-28",
        "content-type": "application/json",
      },
      body: JSON.stringify({
        locationId: LOCATION_ID,
        pageLimit: 500,
        page: 21,
      }),
    });
    expect(response.status).toBe(422);

    const result = await s.cli(["backfill"]);
    expect(result.code).toBe(0);
    const searches = s.ghl.requests.filter(
      (r) => r.path === "/contacts/search" && r.status === 200,
    );
    expect(searches.length).toBeGreaterThan(0);
    for (const request of searches)
      expect((request.body as Record<string, unknown>).page).toBeUndefined();
  }, 60_000);

  it("sets search faults over the admin route", async () => {
    setup = await startFirstSync();
    const s = setup;
    const put = await fetch(`${s.ghl.url}/_sandbox/search-faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ wrongTotal: 7 }),
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ searchFaults: { wrongTotal: 7 } });
    const bad = await fetch(`${s.ghl.url}/_sandbox/search-faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ emptyPage: 2 }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('unknown search fault \\"emptyPage\\"');
  });
});
