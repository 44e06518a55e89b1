import { afterEach, describe, expect, it } from "vitest";
import type { Finding } from "../src/engine/reconcile.js";
import { openStorage } from "../src/runtime/service.js";
import { startFirstSync, type FirstSyncSetup } from "./helpers/first-sync.js";
import { LOCATION_ID } from "./helpers/harness.js";

let setup: FirstSyncSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

interface ReconcileOutput {
  findings: (Finding & { repair: string | null })[];
  summary: { differences: number; repaired: number; failed: number };
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

/** GHL contacts backfilled into an empty Coopel, with contacts syncing in `direction`. */
async function linkedSetup(
  direction: "two_way" | "coopel_to_ghl",
  count: number,
): Promise<{ s: FirstSyncSetup; ids: string[] }> {
  const s = await startFirstSync({
    sync: {
      contacts: {
        direction,
        conflicts: { policy: "last_writer", fields: { email: "ghl" } },
      },
    },
  });
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push(
      s.ghl.userCreateContact(LOCATION_ID, {
        firstName: `First${i}`,
        lastName: `Last${i}`,
        email: `person${i}@example.com`,
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

function ghlContact(s: FirstSyncSetup, id: string): Record<string, unknown> {
  const contact = s.ghl.contacts.get(LOCATION_ID)!.get(id);
  if (!contact) throw new Error(`no GHL contact ${id}`);
  return contact as unknown as Record<string, unknown>;
}

function directions(findings: ReconcileOutput["findings"]): string[] {
  return findings
    .flatMap((f) =>
      f.kind === "field_drift"
        ? f.fields.map((d) => `${f.ghlId}:${d.field}->${d.toward}`)
        : [],
    )
    .sort();
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("reconcile two-way", () => {
  it("repairs drift in the direction the policy gives", async () => {
    const { s, ids } = await linkedSetup("two_way", 6);
    setup = s;
    // 1. Changed on Coopel only: goes to GHL.
    s.coopel.userUpdateContact(coopelIdOf(s, ids[0]!), {
      first_name: "FromCoopel",
    });
    // 2. Changed on GHL only: goes to Coopel.
    s.ghl.userUpdateContact(LOCATION_ID, ids[1]!, { lastName: "FromGhl" });
    // 3. Email changed on both sides: GHL owns the email.
    s.ghl.userUpdateContact(LOCATION_ID, ids[2]!, {
      email: "ghl-side@example.com",
    });
    s.coopel.userUpdateContact(coopelIdOf(s, ids[2]!), {
      email: "coopel-side@example.com",
    });
    // 4. First name changed on both sides, on Coopel later: the last writer wins.
    s.ghl.userUpdateContact(LOCATION_ID, ids[3]!, { firstName: "GhlEarlier" });
    await pause(50);
    s.coopel.userUpdateContact(coopelIdOf(s, ids[3]!), {
      first_name: "CoopelLater",
    });
    // 5. On Coopel only, with no GHL contact of its email: created in GHL.
    const newCoopel = s.coopel.userCreateContact({
      first_name: "Only",
      last_name: "Coopel",
      email: "only-coopel@example.com",
    }).id;
    // 6. On Coopel only, with an unlinked GHL contact of the same email: linked.
    const lateGhl = s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Late",
      email: "late@example.com",
    }).id;
    const lateCoopel = s.coopel.userCreateContact({
      first_name: "Late",
      email: "late@example.com",
    }).id;

    const report = await reconcile(s);
    expect(report.code).toBe(1);
    expect(directions(report.output.findings)).toEqual(
      [
        `${ids[0]}:first_name->ghl`,
        `${ids[1]}:last_name->coopel`,
        `${ids[2]}:email->coopel`,
        `${ids[3]}:first_name->ghl`,
      ].sort(),
    );
    const coopelOnly = report.output.findings
      .filter((f) => f.kind === "coopel_only")
      .map((f) => f.coopelId)
      .sort();
    expect(coopelOnly).toEqual([newCoopel, lateCoopel].sort());

    const writesBefore = s.writes();
    const plan = await reconcile(s, "--repair", "--dry-run");
    expect(plan.code).toBe(1);
    expect(plan.output.findings.every((f) => f.repair === "planned")).toBe(
      true,
    );
    expect(s.writes()).toEqual(writesBefore);

    const ghlCreatesBefore = s.ghl.countRequests("POST", "/contacts/");
    const repair = await reconcile(s, "--repair");
    expect(repair.stderr).toBe("");
    expect(repair.code).toBe(0);
    expect(repair.output.summary.failed).toBe(0);

    expect(ghlContact(s, ids[0]!).firstName).toBe("FromCoopel");
    expect(s.coopel.contacts.get(coopelIdOf(s, ids[1]!))!.last_name).toBe(
      "FromGhl",
    );
    expect(s.coopel.contacts.get(coopelIdOf(s, ids[2]!))!.email).toBe(
      "ghl-side@example.com",
    );
    expect(ghlContact(s, ids[2]!).email).toBe("ghl-side@example.com");
    expect(ghlContact(s, ids[3]!).firstName).toBe("CoopelLater");
    expect(s.coopel.contacts.get(coopelIdOf(s, ids[3]!))!.first_name).toBe(
      "CoopelLater",
    );
    // One GHL create for the Coopel-only contact; the other was found by email.
    expect(s.ghl.countRequests("POST", "/contacts/")).toBe(
      ghlCreatesBefore + 1,
    );
    const links = await s.links();
    expect(links.find((l) => l.coopelId === lateCoopel)?.ghlId).toBe(lateGhl);
    const created = links.find((l) => l.coopelId === newCoopel);
    expect(created).toBeDefined();
    expect(ghlContact(s, created!.ghlId).email).toBe("only-coopel@example.com");
    const repairs = Object.fromEntries(
      repair.output.findings
        .filter((f) => f.kind === "coopel_only")
        .map((f) => [f.coopelId, f.repair]),
    );
    expect(repairs).toEqual({ [newCoopel]: "created", [lateCoopel]: "linked" });

    // Each write left a write intent, so its echo is dropped by the service.
    const storage = await openStorage(s.loaded().config, s.dir);
    try {
      const ghlIntents = await storage.twoWay.getWriteIntents(
        "ghl",
        LOCATION_ID,
        [ids[0]!],
      );
      expect(ghlIntents).toHaveLength(1);
      const coopelIntents = await storage.twoWay.getWriteIntents(
        "coopel",
        "default",
        [coopelIdOf(s, ids[1]!)],
      );
      expect(coopelIntents).toHaveLength(1);
    } finally {
      await storage.queue.close();
      await storage.store.close();
    }

    const writesAfterRepair = s.writes();
    const second = await reconcile(s);
    expect(second.code).toBe(0);
    expect(second.output.findings).toEqual([]);
    expect(second.output.summary.differences).toBe(0);
    expect(s.writes()).toEqual(writesAfterRepair);
  }, 120_000);

  it("coopel_to_ghl repairs toward GHL", async () => {
    const { s, ids } = await linkedSetup("coopel_to_ghl", 2);
    setup = s;
    s.ghl.userUpdateContact(LOCATION_ID, ids[0]!, { lastName: "GhlEdit" });
    const coopelWrites = s.writes().coopel;

    const repair = await reconcile(s, "--repair");
    expect(repair.stderr).toBe("");
    expect(repair.code).toBe(0);
    expect(directions(repair.output.findings)).toEqual([
      `${ids[0]}:last_name->ghl`,
    ]);
    expect(ghlContact(s, ids[0]!).lastName).toBe("Last0");
    expect(s.writes().coopel).toBe(coopelWrites);

    const second = await reconcile(s);
    expect(second.code).toBe(0);
    expect(second.output.findings).toEqual([]);
  }, 90_000);
});
