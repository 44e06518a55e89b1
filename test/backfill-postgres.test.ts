import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFirstSync, type FirstSyncSetup } from "./helpers/first-sync.js";
import { LOCATION_ID } from "./helpers/harness.js";
import { createTestDatabase, type TestDatabase } from "./helpers/postgres.js";

let database: TestDatabase;
let setup: FirstSyncSetup | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await setup?.close();
  await database?.drop();
});

describe("backfill on PostgreSQL", () => {
  it("links, reviews, resumes nothing twice and reconciles clean", async () => {
    setup = await startFirstSync({
      store: { url: database.url },
      backfill: { page_size: 50 },
    });
    const s = setup;
    for (let i = 0; i < 300; i++)
      s.ghl.userCreateContact(LOCATION_ID, {
        firstName: `First${i}`,
        email: `person${i}@example.com`,
      });
    for (let i = 0; i < 100; i++)
      s.coopel.userCreateContact({
        first_name: `First${i}`,
        email: `PERSON${i}@example.com`,
      });
    s.ghl.userCreateContact(LOCATION_ID, { email: "person1@example.com" });

    const result = await s.cli(["backfill", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, number>;
    expect(summary.linkedByEmail).toBe(99);
    expect(summary.created).toBe(200);
    expect(summary.review).toBe(2);
    expect(await s.links()).toHaveLength(299);
    expect((await s.reviewItems()).map((i) => i.reason)).toEqual([
      "email_shared_in_ghl",
      "email_shared_in_ghl",
    ]);
    const reviewIds = (await s.reviewItems()).map((i) => i.id);

    const again = await s.cli(["backfill", "--json"]);
    const second = JSON.parse(again.stdout) as Record<string, number>;
    expect(second.alreadyLinked).toBe(299);
    expect(second.created).toBe(0);
    expect(s.coopel.contacts.size).toBe(300);
    // The open items keep their ids, so a printed id stays valid.
    expect((await s.reviewItems()).map((i) => i.id)).toEqual(reviewIds);

    const reconcile = await s.cli(["reconcile", "--json"]);
    const output = JSON.parse(reconcile.stdout) as {
      summary: { compared: number; findings: Record<string, number> };
    };
    expect(output.summary.compared).toBe(299);
    expect(output.summary.findings.missing_on_coopel).toBe(2);
    expect(output.summary.findings.coopel_only).toBe(1);
  }, 120_000);
});
