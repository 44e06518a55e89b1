import { afterEach, describe, expect, it } from "vitest";
import type { Finding } from "../src/engine/reconcile.js";
import { startFirstSync, type FirstSyncSetup } from "./helpers/first-sync.js";
import { LOCATION_ID } from "./helpers/harness.js";

let setup: FirstSyncSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

interface ReconcileOutput {
  findings: (Finding & { repair: string | null })[];
  summary: Record<string, unknown> & {
    differences: number;
    repaired: number;
    findings: Record<string, number>;
  };
}

async function reconcile(
  s: FirstSyncSetup,
  ...flags: string[]
): Promise<{ code: number | null; output: ReconcileOutput; stderr: string }> {
  const result = await s.cli(["reconcile", "--json", ...flags]);
  return {
    code: result.code,
    output: JSON.parse(result.stdout) as ReconcileOutput,
    stderr: result.stderr,
  };
}

/** 20 GHL contacts, backfilled into an empty Coopel. */
async function linkedSetup(): Promise<{ s: FirstSyncSetup; ids: string[] }> {
  const s = await startFirstSync();
  const ids: string[] = [];
  for (let i = 0; i < 20; i++)
    ids.push(
      s.ghl.userCreateContact(LOCATION_ID, {
        firstName: `First${i}`,
        lastName: `Last${i}`,
        email: `person${i}@example.com`,
        phone: `+1415${String(4_000_000 + i)}`,
        dateOfBirth: "1990-09-25",
        tags: ["customer"],
      }).id,
    );
  const backfill = await s.cli(["backfill"]);
  expect(backfill.code).toBe(0);
  return { s, ids };
}

function coopelIdOf(s: FirstSyncSetup, ghlId: string): string {
  const found = [...s.coopel.contacts.values()].find(
    (c) => c.external_id === ghlId,
  );
  if (!found) throw new Error(`no Coopel contact for ${ghlId}`);
  return found.id;
}

describe("reconcile", () => {
  it("reports nothing right after a backfill", async () => {
    const { s } = await linkedSetup();
    setup = s;
    const readsBefore = s.coopel.countRequests("GET", "/contacts/:contactId");
    const listsBefore = s.coopel.countRequests("GET", "/contacts/");
    const { code, output } = await reconcile(s);
    expect(code).toBe(0);
    expect(output.findings).toEqual([]);
    expect(output.summary.compared).toBe(20);
    expect(output.summary.inSync).toBe(20);
    // Coopel is read through its list, not once per linked pair.
    expect(s.coopel.countRequests("GET", "/contacts/:contactId")).toBe(
      readsBefore,
    );
    expect(s.coopel.countRequests("GET", "/contacts/")).toBe(listsBefore + 1);
  }, 60_000);

  it("finds five kinds of drift, repairs them, then reports none", async () => {
    const { s, ids } = await linkedSetup();
    setup = s;
    // 1. A field changed on Coopel only; a phone written in another format is not drift.
    s.coopel.userUpdateContact(coopelIdOf(s, ids[0]!), {
      first_name: "Changed",
      phone: "+1 415-400-0000",
    });
    // 2. A tag added on Coopel only, and one removed.
    s.coopel.userUpdateContact(coopelIdOf(s, ids[1]!), { tags: ["stranger"] });
    // 3. The linked Coopel contact deleted.
    const deletedCoopel = coopelIdOf(s, ids[2]!);
    s.coopel.userDeleteContact(deletedCoopel);
    // 4. The GHL contact deleted, with no survivor.
    const goneCoopel = coopelIdOf(s, ids[3]!);
    s.ghl.userDeleteContact(LOCATION_ID, ids[3]!);
    // 5. A GHL contact whose webhook never arrived.
    const unlinked = s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Late",
      email: "late@example.com",
    }).id;
    // A date written as a date-time on Coopel is the same date, not drift.
    s.coopel.userUpdateContact(coopelIdOf(s, ids[4]!), {
      date_of_birth: "1990-09-25T00:00:00.000Z",
    });

    const first = await reconcile(s);
    expect(first.code).toBe(1);
    const kinds = first.output.findings.map(
      (f) => `${f.kind}:${"ghlId" in f ? f.ghlId : f.coopelId}`,
    );
    expect(kinds.sort()).toEqual(
      [
        `field_drift:${ids[0]}`,
        `tag_drift:${ids[1]}`,
        `missing_on_coopel:${ids[2]}`,
        `missing_on_coopel:${unlinked}`,
        `stale_link:${ids[3]}`,
      ].sort(),
    );
    const drift = first.output.findings.find((f) => f.kind === "field_drift");
    expect(drift).toMatchObject({
      fields: [{ field: "first_name", ghl: "First0", coopel: "Changed" }],
    });
    const tags = first.output.findings.find((f) => f.kind === "tag_drift");
    expect(tags).toMatchObject({
      missingOnCoopel: ["customer"],
      extraOnCoopel: ["stranger"],
    });
    expect(s.writes().coopel).toBe(20); // only the backfill's creates

    const repair = await reconcile(s, "--repair");
    expect(repair.stderr).toBe("");
    expect(repair.code).toBe(0);
    expect(repair.output.summary.differences).toBe(5);
    expect(repair.output.summary.repaired).toBe(5);
    expect(s.coopel.contacts.get(coopelIdOf(s, ids[0]!))!.first_name).toBe(
      "First0",
    );
    expect(s.coopel.contacts.get(coopelIdOf(s, ids[1]!))!.tags).toEqual([
      "customer",
    ]);
    expect(coopelIdOf(s, ids[2]!)).not.toBe(deletedCoopel);
    expect(s.coopel.contacts.has(goneCoopel)).toBe(false); // delete policy "delete"
    expect(s.coopel.contacts.get(coopelIdOf(s, unlinked))!.email).toBe(
      "late@example.com",
    );

    const second = await reconcile(s);
    expect(second.code).toBe(0);
    expect(second.output.findings).toEqual([]);
    expect(second.output.summary.differences).toBe(0);
  }, 90_000);

  it("moves the link of a merged GHL contact to the survivor", async () => {
    const { s, ids } = await linkedSetup();
    setup = s;
    const coopelId = coopelIdOf(s, ids[5]!);
    // The same person was added again in GHL, and the two were merged into the new one.
    const survivor = s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "First5",
      lastName: "Last5",
      email: "person5@example.com",
      phone: "+14155550100",
    }).id;
    s.ghl.mergeContact(LOCATION_ID, ids[5]!, survivor);
    const gone = await fetch(`${s.ghl.url}/contacts/${ids[5]}`, {
      headers: {
        authorization: "Bearer test-location-token",
        version: "2021-07-28",
      },
    });
    expect(gone.status).toBe(400);
    const coopelBefore = s.coopel.contacts.size;

    const repair = await reconcile(s, "--repair");
    expect(repair.stderr).toBe("");
    expect(repair.code).toBe(0);
    const stale = repair.output.findings.find((f) => f.kind === "stale_link");
    expect(stale).toMatchObject({
      ghlId: ids[5],
      coopelId,
      survivor,
      repair: "link_moved",
    });
    const links = await s.links();
    expect(links.find((l) => l.ghlId === ids[5])).toBeUndefined();
    expect(links.find((l) => l.ghlId === survivor)?.coopelId).toBe(coopelId);
    expect(s.coopel.contacts.size).toBe(coopelBefore);
    expect(s.coopel.contacts.get(coopelId)!.phone).toBe("+14155550100");
    expect(s.coopel.countRequests("POST", "/contacts/")).toBe(20);

    const again = await reconcile(s);
    expect(again.output.findings).toEqual([]);
  }, 90_000);
});

describe("dry run", () => {
  it("backfill --dry-run and reconcile --repair --dry-run send no write", async () => {
    const s = await startFirstSync();
    setup = s;
    for (let i = 0; i < 30; i++)
      s.ghl.userCreateContact(LOCATION_ID, {
        firstName: `First${i}`,
        email: `person${i}@example.com`,
      });
    s.coopel.userCreateContact({
      first_name: "Other",
      email: "person1@example.com",
    });
    const plan = await s.cli(["backfill", "--dry-run", "--json"]);
    expect(plan.code).toBe(0);
    const summary = JSON.parse(plan.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      dryRun: true,
      created: 29,
      linkedByEmail: 1,
    });
    expect(s.writes()).toEqual({ ghl: 0, coopel: 0 });
    expect(await s.links()).toEqual([]);

    const repair = await reconcile(s, "--repair", "--dry-run");
    expect(repair.code).toBe(1);
    expect(repair.output.findings.length).toBe(30 + 1);
    expect(
      repair.output.findings.every(
        (f) => f.repair === "planned" || f.kind === "coopel_only",
      ),
    ).toBe(true);
    expect(s.writes()).toEqual({ ghl: 0, coopel: 0 });
    expect(await s.links()).toEqual([]);
    expect(await s.reviewItems()).toEqual([]);
  }, 60_000);
});

describe("sync-one", () => {
  it("syncs one contact and prints both sides before and after", async () => {
    const { s, ids } = await linkedSetup();
    setup = s;
    const coopelId = coopelIdOf(s, ids[7]!);
    s.ghl.userUpdateContact(LOCATION_ID, ids[7]!, { lastName: "Renamed" });
    const result = await s.cli(["sync-one", "--ghl-id", ids[7]!, "--json"]);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as {
      before: { coopel: Record<string, unknown>; ghl: Record<string, unknown> };
      after: { coopel: Record<string, unknown>; ghl: Record<string, unknown> };
      actions: { finding: Finding; repair: string }[];
    };
    expect(output.before.coopel.last_name).toBe("Last7");
    expect(output.after.coopel.last_name).toBe("Renamed");
    expect(output.before.ghl.lastName).toBe("Renamed");
    expect(output.after.ghl.lastName).toBe("Renamed");
    expect(output.actions.map((a) => a.repair)).toEqual(["updated"]);
    expect(s.coopel.contacts.get(coopelId)!.last_name).toBe("Renamed");
    expect(s.coopel.countRequests("PUT", "/contacts/:contactId")).toBe(1);

    const text = await s.cli(["sync-one", "--ghl-id", ids[7]!]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("none: both sides already agree");

    const missing = await s.cli([
      "sync-one",
      "--ghl-id",
      "doesNotExist0000000",
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      "GHL contact doesNotExist0000000 not found",
    );
  }, 90_000);
});
