import { afterEach, describe, expect, it } from "vitest";
import { planTags, tagKey } from "../src/engine/tag-diff.js";
import {
  fixture,
  LOCATION_ID,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

const CONTACT = "nmFmQEsNgz6AVpgLVUJ0";
const INITIAL = ["id magna sed Lorem", "Duis dolor commodo aliqua"];

function tagRequests(h: Harness) {
  return h.coopel.requests
    .filter((r) => r.route === "/contacts/:contactId/tags")
    .map((r) => ({
      method: r.method,
      tags: (r.body as { tags: string[] }).tags,
    }));
}

function coopelTags(h: Harness) {
  return [...h.coopel.contacts.values()][0]!.tags as string[];
}

async function tagUpdate(h: Harness, tags: unknown, extra = {}) {
  const payload: Record<string, unknown> = {
    ...fixture("ContactTagUpdate"),
    ...extra,
  };
  if (tags === undefined) delete payload.tags;
  else payload.tags = tags;
  const response = await h.post(payload);
  expect(response.status).toBe(200);
  await h.waitForIdle();
}

async function created(h: Harness) {
  await h.post(fixture("ContactCreate"));
  await h.waitForIdle();
  expect(coopelTags(h)).toEqual(INITIAL);
}

describe("ContactTagUpdate sequences", () => {
  it("adds, removes, and does both in one event", async () => {
    harness = await startHarness();
    await created(harness);

    await tagUpdate(harness, [...INITIAL, "vip"]);
    await tagUpdate(harness, ["vip", "Duis dolor commodo aliqua"]);
    await tagUpdate(harness, ["vip", "renewal"]);

    expect(tagRequests(harness)).toEqual([
      { method: "POST", tags: ["vip"] },
      { method: "DELETE", tags: ["id magna sed Lorem"] },
      { method: "POST", tags: ["renewal"] },
      { method: "DELETE", tags: ["Duis dolor commodo aliqua"] },
    ]);
    expect(coopelTags(harness)).toEqual(["vip", "renewal"]);
    const puts = harness.coopel.requests.filter((r) => r.method === "PUT");
    for (const put of puts) expect(put.body).not.toHaveProperty("tags");
  });

  it("absent tags and tags: null are unknown: no writes, and the next diff still works", async () => {
    harness = await startHarness();
    await created(harness);

    await tagUpdate(harness, undefined);
    await tagUpdate(harness, null, { webhookId: "null-tags" });
    expect(tagRequests(harness)).toEqual([]);
    expect(coopelTags(harness)).toEqual(INITIAL);

    await tagUpdate(harness, ["id magna sed Lorem"]);
    expect(tagRequests(harness)).toEqual([
      { method: "DELETE", tags: ["Duis dolor commodo aliqua"] },
    ]);
  });

  it("a tag that exists only on Coopel is kept", async () => {
    harness = await startHarness();
    await created(harness);
    const coopelId = [...harness.coopel.contacts.keys()][0]!;
    harness.coopel.userUpdateContact(coopelId, {
      tags: [...INITIAL, "coopel-only"],
    });

    await tagUpdate(harness, ["fresh"]);
    expect(coopelTags(harness)).toEqual(["coopel-only", "fresh"]);
    for (const request of tagRequests(harness))
      expect(request.tags).not.toContain("coopel-only");
  });

  it("a case-only change sends nothing", async () => {
    harness = await startHarness();
    await created(harness);
    await tagUpdate(harness, [
      "ID MAGNA SED LOREM",
      "Duis dolor commodo aliqua",
    ]);
    expect(tagRequests(harness)).toEqual([]);
  });

  it("a first tag event for a contact linked without tags adds and never removes", async () => {
    harness = await startHarness({
      mapping: { contact: { tags_on_create: false } },
    });
    await harness.post(fixture("ContactCreate"));
    await harness.waitForIdle();
    await tagUpdate(harness, ["only-new"]);
    expect(tagRequests(harness)).toEqual([
      { method: "POST", tags: ["only-new"] },
    ]);
  });

  it("with remove_tags set to null, removals are skipped and reported", async () => {
    harness = await startHarness({ coopel: { routes: { remove_tags: null } } });
    await created(harness);
    await tagUpdate(harness, ["vip"]);
    expect(tagRequests(harness)).toEqual([{ method: "POST", tags: ["vip"] }]);
    expect(
      harness.logLines.some((l) =>
        String(l.warning).includes("coopel.routes.remove_tags is null"),
      ),
    ).toBe(true);
    const link = await harness.service.store.getLink(
      "contact",
      LOCATION_ID,
      CONTACT,
    );
    expect(link?.tags).toEqual(["vip"]);
  });
});

describe("tag rules", () => {
  it("a custom field threshold adds the tag, and removes it when it stops holding", async () => {
    harness = await startHarness({
      mapping: {
        tag_rules: [{ tag: "hot-lead", when: "custom.lead_score >= 50" }],
      },
    });
    harness.ghl.addCustomField(LOCATION_ID, {
      id: "BcdmQEsNgz6AVpgLVUJ0",
      name: "Lead score",
      fieldKey: "contact.lead_score",
      dataType: "NUMERICAL",
    });
    const withScore = (score: string, webhookId: string) => ({
      ...fixture("ContactUpdate"),
      webhookId,
      customFields: [{ id: "BcdmQEsNgz6AVpgLVUJ0", value: score }],
    });

    await harness.post({ ...withScore("10", "w0"), type: "ContactCreate" });
    await harness.waitForIdle();
    expect(coopelTags(harness)).toEqual(INITIAL);
    const coopelId = [...harness.coopel.contacts.keys()][0]!;
    harness.coopel.userUpdateContact(coopelId, {
      tags: [...INITIAL, "hand-added"],
    });

    await harness.post(withScore("75", "w1"));
    await harness.waitForIdle();
    expect(coopelTags(harness)).toContain("hot-lead");

    await harness.post(withScore("80", "w2"));
    await harness.waitForIdle();
    await harness.post(withScore("20", "w3"));
    await harness.waitForIdle();
    expect(coopelTags(harness)).not.toContain("hot-lead");
    expect(coopelTags(harness)).toContain("hand-added");
    expect(tagRequests(harness)).toEqual([
      { method: "POST", tags: ["hot-lead"] },
      { method: "DELETE", tags: ["hot-lead"] },
    ]);
  });

  it("a rule over DND and source sees the payload", async () => {
    harness = await startHarness({
      mapping: {
        tag_rules: [
          { tag: "no-email", when: "dndActive.Email = true" },
          { tag: "from-form", when: "$contains(source, 'form')" },
          { tag: "never", when: "dndActive.SMS = true" },
        ],
      },
    });
    await harness.post(fixture("ContactDndUpdate"));
    await harness.waitForIdle();
    expect(coopelTags(harness)).toEqual([...INITIAL, "no-email", "from-form"]);
  });
});

describe("planTags", () => {
  it("compares tags by trimmed, lower-cased NFC key", () => {
    expect(tagKey(" Café ")).toBe(tagKey("CAFE\u0301"));
  });

  it("keeps a tag a rule still wants when GHL removes it", () => {
    const plan = planTags({
      previousGhlTags: ["a", "hot"],
      currentGhlTags: ["a"],
      ownedRuleTags: ["hot"],
      wantedRuleTags: ["hot"],
    });
    expect(plan.remove).toEqual([]);
    expect(plan.add).toEqual([]);
  });

  it("does not remove a rule tag that GHL itself has", () => {
    const plan = planTags({
      previousGhlTags: ["hot"],
      currentGhlTags: ["hot"],
      ownedRuleTags: ["hot"],
      wantedRuleTags: [],
    });
    expect(plan.remove).toEqual([]);
    expect(plan.ruleTags).toEqual([]);
  });
});
