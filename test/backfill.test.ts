import { afterEach, describe, expect, it } from "vitest";
import type { CoopelContact } from "../src/sandbox/coopel-store.js";
import { startFirstSync, type FirstSyncSetup } from "./helpers/first-sync.js";
import { LOCATION_ID } from "./helpers/harness.js";

let setup: FirstSyncSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

const GHL_COUNT = 25_000;
const MATCHED = 9_990;

/** Returns a distinct, possible US number per index. */
function phoneOf(index: number): string {
  return `+1415${String(2_000_000 + index)}`;
}

interface Seeded {
  ghlIds: string[];
  special: {
    sharedPhoneGhl: string;
    sharedPhoneCoopel: string[];
    duplicateEmailGhl: string[];
    duplicateEmailCoopel: string;
    differentPersonGhl: string;
    differentPersonCoopel: string;
  };
  phoneOnlyCoopel: Map<string, string>;
}

/**
 * Seeds 25,000 GHL contacts and 10,000 Coopel contacts directly in the
 * sandboxes: 9,990 exact matches by email (every seventh with the email in
 * upper case on Coopel), 5 matches by phone alone, two Coopel contacts
 * sharing a phone, two GHL contacts sharing an email, and one email whose
 * name and phone differ, plus one contact only Coopel has.
 */
function seed(s: FirstSyncSetup): Seeded {
  const ghlIds: string[] = [];
  const phoneOnlyCoopel = new Map<string, string>();
  for (let i = 0; i < GHL_COUNT; i++) {
    const contact = s.ghl.userCreateContact(LOCATION_ID, {
      firstName: `First${i}`,
      lastName: `Last${i}`,
      email: `person${i}@example.com`,
      phone: phoneOf(i),
      tags: i % 100 === 0 ? ["vip"] : [],
    });
    ghlIds.push(contact.id);
  }
  for (let i = 0; i < MATCHED; i++) {
    s.coopel.userCreateContact({
      first_name: `First${i}`,
      last_name: `Last${i}`,
      email: i % 7 === 0 ? `PERSON${i}@EXAMPLE.COM` : `person${i}@example.com`,
      phone: phoneOf(i),
    });
  }
  // Matches by phone alone: Coopel has no email for these.
  for (let i = MATCHED; i < MATCHED + 5; i++) {
    const contact = s.coopel.userCreateContact({
      first_name: `First${i}`,
      phone: phoneOf(i),
    });
    phoneOnlyCoopel.set(ghlIds[i]!, contact.id);
  }
  // A phone two Coopel contacts share; the GHL contact with it has an email Coopel lacks.
  const sharedPhone = "+14155550123";
  const sharedPhoneCoopel = [
    s.coopel.userCreateContact({
      first_name: "Pat",
      email: "pat.a@example.org",
      phone: sharedPhone,
    }).id,
    s.coopel.userCreateContact({
      first_name: "Pat",
      email: "pat.b@example.org",
      phone: sharedPhone,
    }).id,
  ];
  const sharedPhoneGhl = s.ghl.userCreateContact(LOCATION_ID, {
    firstName: "Pat",
    email: "pat.c@example.org",
    phone: sharedPhone,
  }).id;
  // Two GHL contacts with the same email, which one Coopel contact has.
  const duplicateEmailCoopel = s.coopel.userCreateContact({
    first_name: "Dana",
    email: "dana@example.org",
  }).id;
  const duplicateEmailGhl = [
    s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Dana",
      email: "dana@example.org",
    }).id,
    s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Dana",
      lastName: "Other",
      email: "Dana@Example.org",
    }).id,
  ];
  // The same email, but another name and another phone: maybe a shared inbox.
  const differentPersonCoopel = s.coopel.userCreateContact({
    first_name: "Bob",
    last_name: "Jones",
    email: "family@example.org",
    phone: "+14155550188",
  }).id;
  const differentPersonGhl = s.ghl.userCreateContact(LOCATION_ID, {
    firstName: "Alice",
    lastName: "Smith",
    email: "family@example.org",
    phone: "+14155550199",
  }).id;
  // A contact only Coopel has.
  s.coopel.userCreateContact({
    first_name: "Carol",
    email: "carol@example.net",
  });
  return {
    ghlIds,
    phoneOnlyCoopel,
    special: {
      sharedPhoneGhl,
      sharedPhoneCoopel,
      duplicateEmailGhl,
      duplicateEmailCoopel,
      differentPersonGhl,
      differentPersonCoopel,
    },
  };
}

describe("backfill", () => {
  it("links 25,000 GHL contacts to 10,000 Coopel ones, reviews the doubtful", async () => {
    setup = await startFirstSync();
    const s = setup;
    const seeded = seed(s);
    const coopelBefore = new Map(
      [...s.coopel.contacts.values()].map((c) => [c.id, structuredClone(c)]),
    );
    expect(coopelBefore.size).toBe(10_000);

    const started = Date.now();
    const result = await s.cli(["backfill", "--json"], 120_000);
    const seconds = (Date.now() - started) / 1000;
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, number>;
    console.log(`backfill of 25,004 GHL contacts took ${seconds.toFixed(1)} s`);

    const special = seeded.special;
    const reviewed = [
      special.sharedPhoneGhl,
      ...special.duplicateEmailGhl,
      special.differentPersonGhl,
    ];
    expect(summary.read).toBe(GHL_COUNT + 4);
    expect(summary.linkedByEmail).toBe(MATCHED);
    expect(summary.linkedByPhone).toBe(5);
    expect(summary.review).toBe(4);
    expect(summary.created).toBe(GHL_COUNT - MATCHED - 5);
    expect(summary.failed).toBe(0);

    const items = await s.reviewItems();
    expect(items.map((i) => i.ghl.id).sort()).toEqual([...reviewed].sort());
    const reasons = Object.fromEntries(items.map((i) => [i.ghl.id, i.reason]));
    expect(reasons[special.sharedPhoneGhl]).toBe("several_phone_matches");
    expect(reasons[special.duplicateEmailGhl[0]!]).toBe("email_shared_in_ghl");
    expect(reasons[special.duplicateEmailGhl[1]!]).toBe("email_shared_in_ghl");
    expect(reasons[special.differentPersonGhl]).toBe(
      "email_match_name_and_phone_differ",
    );

    const links = await s.links();
    expect(links).toHaveLength(GHL_COUNT);
    const linkedGhl = new Set(links.map((l) => l.ghlId));
    for (const id of reviewed) expect(linkedGhl.has(id)).toBe(false);
    // One link per Coopel contact, and one Coopel contact per GHL contact.
    expect(new Set(links.map((l) => l.coopelId)).size).toBe(GHL_COUNT);
    const coopel = s.coopel.contacts;
    expect(coopel.size).toBe(10_000 + GHL_COUNT - MATCHED - 5);

    // Each link joins the same person: the GHL index in the email, name or phone.
    const ghlContacts = s.ghl.contacts.get(LOCATION_ID)!;
    let mismatched = 0;
    for (const link of links) {
      const ghl = ghlContacts.get(link.ghlId)!;
      const record = coopel.get(link.coopelId!)!;
      if (record.external_id !== link.ghlId) mismatched++;
      if (record.phone !== ghl.phone) mismatched++;
      if (record.first_name !== ghl.firstName) mismatched++;
    }
    expect(mismatched).toBe(0);
    for (const [ghlId, coopelId] of seeded.phoneOnlyCoopel)
      expect(links.find((l) => l.ghlId === ghlId)?.coopelId).toBe(coopelId);

    // Contacts on the review list are untouched.
    const untouched = [
      ...special.sharedPhoneCoopel,
      special.duplicateEmailCoopel,
      special.differentPersonCoopel,
    ];
    for (const id of untouched)
      expect(coopel.get(id)).toEqual(coopelBefore.get(id));
    // Matched contacts kept their own email spelling; only the external id was added.
    const upper = [...coopel.values()].filter(
      (c: CoopelContact) =>
        typeof c.email === "string" && c.email.startsWith("PERSON"),
    );
    expect(upper).toHaveLength(Math.ceil(MATCHED / 7));
    // Tags of GHL reach Coopel on create and on link.
    const vip = links.filter((l) => l.tags?.includes("vip"));
    expect(vip.length).toBe(250);
    for (const link of vip)
      expect(coopel.get(link.coopelId!)!.tags).toEqual(["vip"]);

    // Paging used searchAfter only.
    const searches = s.ghl.requests.filter(
      (r) => r.path === "/contacts/search",
    );
    for (const request of searches) {
      const body = request.body as Record<string, unknown>;
      expect(body.page).toBeUndefined();
      expect(body.locationId).toBe(LOCATION_ID);
      expect(body.pageLimit).toBe(500);
    }
    // About 20 s on an idle 2-core machine; the bound leaves room for load.
    expect(seconds).toBeLessThan(120);

    // A second run finds everything linked and writes nothing.
    const coopelWrites = s.writes().coopel;
    const again = await s.cli(["backfill", "--json"], 120_000);
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout) as Record<string, number>;
    expect(second.alreadyLinked).toBe(GHL_COUNT);
    expect(second.created).toBe(0);
    expect(second.updated).toBe(0);
    expect(s.writes().coopel).toBe(coopelWrites);
  }, 240_000);
});
