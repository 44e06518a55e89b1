import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runCli } from "./helpers/cli.js";
import {
  fixture,
  LOCATION_ID,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

const SCORE_FIELD = "BcdmQEsNgz6AVpgLVUJ0";

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

function coopelTags(h: Harness): string[] {
  return [...h.coopel.contacts.values()][0]!.tags as string[];
}

function coopelTagRequests(h: Harness, since: number) {
  return h.coopel.requests
    .slice(since)
    .filter((r) => r.route === "/contacts/:contactId/tags")
    .map((r) => ({
      method: r.method,
      tags: (r.body as { tags: string[] }).tags,
    }));
}

/** Runs `rules apply` as the command line would, on the harness's store and sandboxes. */
async function rulesApply(h: Harness, ...flags: string[]) {
  const file = path.join(h.dir, "rules.config.yaml");
  writeFileSync(file, stringify(h.config));
  const result = await runCli(
    ["rules", "apply", "--config", file, "--json", ...flags],
    {},
    60_000,
  );
  expect(result.stderr).not.toContain("FAILED");
  return {
    code: result.code,
    report: JSON.parse(result.stdout) as {
      checked: number;
      changes: { ghlId: string; add: string[]; remove: string[] }[];
      failed: unknown[];
      requests: Record<string, number>;
    },
  };
}

/** A contact in GHL with a lead score, synced to Coopel by its create webhook. */
async function linkedContact(h: Harness, score: string): Promise<string> {
  h.ghl.addCustomField(LOCATION_ID, {
    id: SCORE_FIELD,
    name: "Lead score",
    fieldKey: "contact.lead_score",
    dataType: "NUMERICAL",
  });
  const contact = h.ghl.userCreateContact(LOCATION_ID, {
    firstName: "Rosa",
    email: "rosa@example.com",
    tags: ["customer"],
    customFields: [{ id: SCORE_FIELD, value: score }],
  });
  const response = await h.post({
    ...fixture("ContactCreate"),
    ...contact,
    type: "ContactCreate",
    webhookId: `create-${contact.id}`,
  });
  expect(response.status).toBe(200);
  await h.waitForIdle();
  return contact.id;
}

describe("rules apply", () => {
  it("adds and removes rule tags after GHL changes without a webhook", async () => {
    harness = await startHarness({
      mapping: {
        tag_rules: [{ tag: "hot-lead", when: "custom.lead_score >= 50" }],
      },
    });
    const ghlId = await linkedContact(harness, "10");
    expect(coopelTags(harness)).toEqual(["customer"]);
    const coopelId = [...harness.coopel.contacts.keys()][0]!;
    harness.coopel.userUpdateContact(coopelId, {
      tags: ["customer", "hand-added"],
    });
    const update = (value: string) =>
      harness.ghl.userUpdateContact(LOCATION_ID, ghlId, {
        customFields: [{ id: SCORE_FIELD, value }],
      });

    update("75");
    const ghlReadsBefore = harness.ghl.countRequests(
      "GET",
      "/contacts/:contactId",
    );
    let coopelMark = harness.coopel.requests.length;
    const dry = await rulesApply(harness, "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.report.changes).toEqual([
      expect.objectContaining({ ghlId, add: ["hot-lead"], remove: [] }),
    ]);
    expect(harness.coopel.requests.length).toBe(coopelMark);
    expect(coopelTags(harness)).toEqual(["customer", "hand-added"]);

    coopelMark = harness.coopel.requests.length;
    const added = await rulesApply(harness);
    expect(added.code).toBe(0);
    expect(added.report.checked).toBe(1);
    expect(coopelTagRequests(harness, coopelMark)).toEqual([
      { method: "POST", tags: ["hot-lead"] },
    ]);
    const sentByAdd = harness.coopel.requests.slice(coopelMark);
    expect(sentByAdd.filter((r) => r.method === "PUT")).toEqual([]);
    expect(coopelTags(harness)).toEqual(["customer", "hand-added", "hot-lead"]);
    const link = await harness.service.store.getLink(
      "contact",
      LOCATION_ID,
      ghlId,
    );
    expect(link?.ruleTags).toEqual(["hot-lead"]);

    coopelMark = harness.coopel.requests.length;
    const again = await rulesApply(harness);
    expect(again.report.changes).toEqual([]);
    expect(harness.coopel.requests.length).toBe(coopelMark);

    update("20");
    coopelMark = harness.coopel.requests.length;
    const removed = await rulesApply(harness);
    expect(removed.code).toBe(0);
    expect(removed.report.changes).toEqual([
      expect.objectContaining({ ghlId, add: [], remove: ["hot-lead"] }),
    ]);
    expect(coopelTagRequests(harness, coopelMark)).toEqual([
      { method: "DELETE", tags: ["hot-lead"] },
    ]);
    expect(coopelTags(harness)).toEqual(["customer", "hand-added"]);

    // One contact read per run, four runs; no GHL writes at all.
    expect(
      harness.ghl.countRequests("GET", "/contacts/:contactId") - ghlReadsBefore,
    ).toBe(4);
    expect(
      harness.ghl.requests.filter((r) => r.method !== "GET" && r.route),
    ).toEqual([]);
    expect(removed.report.requests).toMatchObject({
      "GHL GET": expect.any(Number) as number,
      "Coopel DELETE": 1,
    });
  });

  it("reports a linked contact that GHL no longer has", async () => {
    harness = await startHarness({
      mapping: { tag_rules: [{ tag: "hot-lead", when: "true" }] },
    });
    const ghlId = await linkedContact(harness, "10");
    harness.ghl.userDeleteContact(LOCATION_ID, ghlId);
    const coopelMark = harness.coopel.requests.length;
    const result = await rulesApply(harness);
    expect(result.code).toBe(0);
    expect(result.report).toMatchObject({ missingInGhl: [ghlId] });
    expect(harness.coopel.requests.length).toBe(coopelMark);
  });

  it("leaves out a location paused on the dashboard", async () => {
    harness = await startHarness({
      mapping: { tag_rules: [{ tag: "hot-lead", when: "true" }] },
    });
    await linkedContact(harness, "10");
    await harness.service.store.pauseLocation({
      locationId: LOCATION_ID,
      reason: "maintenance",
      pausedBy: "admin session from 127.0.0.1",
      pausedAt: Date.now(),
    });
    const coopelMark = harness.coopel.requests.length;
    const ghlMark = harness.ghl.requests.length;
    const result = await rulesApply(harness);
    expect(result.code).toBe(0);
    expect(result.report).toMatchObject({
      checked: 0,
      pausedLocations: [LOCATION_ID],
    });
    expect(harness.coopel.requests.length).toBe(coopelMark);
    expect(harness.ghl.requests.length).toBe(ghlMark);
  });

  it("stops with exit code 2 when no rules are configured", async () => {
    harness = await startHarness();
    const file = path.join(harness.dir, "rules.config.yaml");
    writeFileSync(file, stringify(harness.config));
    const result = await runCli(["rules", "apply", "--config", file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("mapping.tag_rules is empty");
  });
});
