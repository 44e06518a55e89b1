import { afterEach, describe, expect, it } from "vitest";
import type { ReviewItem } from "../src/engine/ports.js";
import { startFirstSync, type FirstSyncSetup } from "./helpers/first-sync.js";
import { LOCATION_ID } from "./helpers/harness.js";

let setup: FirstSyncSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe("review", () => {
  it("lists, accepts and rejects doubtful matches", async () => {
    const s = await startFirstSync();
    setup = s;
    // Email matches but name and phone differ.
    const bob = s.coopel.userCreateContact({
      first_name: "Bob",
      email: "family@example.org",
      phone: "+14155550188",
    }).id;
    const alice = s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Alice",
      email: "family@example.org",
      phone: "+14155550199",
    }).id;
    // Two Coopel contacts share a phone.
    const pats = [
      s.coopel.userCreateContact({ first_name: "Pat", phone: "+14155550123" })
        .id,
      s.coopel.userCreateContact({ first_name: "Pat", phone: "+14155550123" })
        .id,
    ];
    const pat = s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Pat",
      phone: "+14155550123",
    }).id;
    // Two GHL contacts with one email.
    const twins = [
      s.ghl.userCreateContact(LOCATION_ID, { email: "twin@example.org" }).id,
      s.ghl.userCreateContact(LOCATION_ID, { email: "twin@example.org" }).id,
    ];

    expect((await s.cli(["backfill"])).code).toBe(0);
    const listed = await s.cli(["review", "--json"]);
    expect(listed.code).toBe(0);
    const items = JSON.parse(listed.stdout) as ReviewItem[];
    const byGhl = new Map(items.map((i) => [i.ghl.id, i]));
    expect(items).toHaveLength(4);
    expect(byGhl.get(alice)?.candidates.map((c) => c.id)).toEqual([bob]);
    expect(
      byGhl
        .get(pat)
        ?.candidates.map((c) => c.id)
        .sort(),
    ).toEqual([...pats].sort());

    const text = await s.cli(["review"]);
    expect(text.stdout).toContain("email_match_name_and_phone_differ");
    expect(text.stdout).toContain("Alice <family@example.org> +14155550199");

    // Accepting the Alice item links her to Bob's contact and fills it from GHL.
    const aliceItem = byGhl.get(alice)!.id;
    const accepted = await s.cli(["review", "accept", aliceItem]);
    expect(accepted.stderr).toBe("");
    expect(accepted.code).toBe(0);
    expect(s.coopel.contacts.get(bob)).toMatchObject({
      first_name: "Alice",
      phone: "+14155550199",
      external_id: alice,
    });
    expect((await s.links()).find((l) => l.ghlId === alice)?.coopelId).toBe(
      bob,
    );
    const again = await s.cli(["review", "accept", aliceItem]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      `review item ${aliceItem} is already accepted`,
    );

    // With two candidates, accept needs --coopel.
    const patItem = byGhl.get(pat)!.id;
    const ambiguous = await s.cli(["review", "accept", patItem]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain(
      "has 2 candidates; choose one with --coopel",
    );
    const stranger = await s.cli([
      "review",
      "accept",
      patItem,
      "--coopel",
      bob,
    ]);
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toContain(
      `--coopel ${bob} is not a candidate of review item ${patItem}`,
    );
    const chosen = await s.cli([
      "review",
      "accept",
      patItem,
      "--coopel",
      pats[1]!,
    ]);
    expect(chosen.code).toBe(0);
    expect(s.coopel.contacts.get(pats[1]!)!.external_id).toBe(pat);
    expect(s.coopel.contacts.get(pats[0]!)!.external_id).toBeUndefined();

    // Rejecting creates the contact on its own; --leave-unlinked creates nothing.
    const coopelCount = s.coopel.contacts.size;
    const rejected = await s.cli([
      "review",
      "reject",
      byGhl.get(twins[0]!)!.id,
    ]);
    expect(rejected.code).toBe(0);
    expect(s.coopel.contacts.size).toBe(coopelCount + 1);
    const created = [...s.coopel.contacts.values()].find(
      (c) => c.external_id === twins[0],
    );
    expect(created?.email).toBe("twin@example.org");
    const left = await s.cli([
      "review",
      "reject",
      byGhl.get(twins[1]!)!.id,
      "--leave-unlinked",
    ]);
    expect(left.code).toBe(0);
    expect(s.coopel.contacts.size).toBe(coopelCount + 1);

    expect(JSON.parse((await s.cli(["review", "--json"])).stdout)).toEqual([]);
    // A later backfill leaves the rejected contact alone and reviews nothing again.
    const rerun = await s.cli(["backfill", "--json"]);
    const summary = JSON.parse(rerun.stdout) as Record<string, number>;
    expect(summary.leftUnlinked).toBe(1);
    expect(summary.review).toBe(0);
    expect(summary.created).toBe(0);
  }, 120_000);
});
