import { afterEach, describe, expect, it } from "vitest";
import { runConflicts } from "../src/cli/conflicts.js";
import { parseConfig } from "../src/config/load.js";
import { signCoopelBody } from "../src/server/coopel-webhook-route.js";
import { runCli } from "./helpers/cli.js";
import {
  LOCATION_ID,
  startHarness,
  type Harness,
  type TestOverrides,
} from "./helpers/harness.js";

const SECRET = "coopel-webhook-secret-0123456789";
let harness: Harness | null = null;

afterEach(async () => {
  await harness?.close();
  harness = null;
});

/** Starts the service syncing contacts both ways, with both sandboxes sending webhooks on writes. */
async function startTwoWay(overrides: TestOverrides = {}): Promise<Harness> {
  const h = await startHarness({
    sync: { contacts: { direction: "two_way" } },
    mapping: { default_country: "US" },
    ...overrides,
    coopel: { webhooks: { secret: SECRET }, ...overrides.coopel },
  });
  h.coopel.setWebhookTarget({
    url: `${h.service.url}/webhooks/coopel`,
    secret: SECRET,
  });
  h.ghl.setApiWriteWebhooks(`${h.service.url}/webhooks/ghl`);
  harness = h;
  return h;
}

/** Waits until both sandboxes have sent their webhooks and the queue is empty, twice in a row. */
async function settle(h: Harness): Promise<void> {
  for (let round = 0; round < 2; round += 1) {
    await h.coopel.flushWebhooks();
    await h.ghl.flushApiWriteWebhooks();
    await h.waitForIdle(30_000);
  }
}

async function reasons(h: Harness): Promise<string[]> {
  const events = await h.service.store.listEvents({ limit: 1000 });
  return events.map((event) => `${event.source}:${event.reason}`);
}

function ghlContacts(h: Harness) {
  return [...(h.ghl.contacts.get(LOCATION_ID)?.values() ?? [])];
}

describe("Coopel to GHL", () => {
  it("creates a Coopel contact in GHL", async () => {
    const h = await startTwoWay();
    const coopel = h.coopel.userCreateContact({
      first_name: "Ana",
      email: "ana@example.com",
      phone: "+14155550100",
      tags: ["vip"],
    });
    await settle(h);
    const [contact] = ghlContacts(h);
    expect(contact?.firstName).toBe("Ana");
    expect(contact?.email).toBe("ana@example.com");
    expect(contact?.tags).toEqual(["vip"]);
    const link = await h.service.twoWay.getLinkByCoopelId(
      "contact",
      "default",
      coopel.id,
    );
    expect(link?.ghlId).toBe(contact?.id);
    const createBody = h.ghl.requests.find(
      (r) => r.method === "POST" && r.route === "/contacts/",
    )?.body as Record<string, unknown>;
    expect(createBody.tags).toBeUndefined();
    // The GHL webhooks of the create and the tags come back as echoes.
    expect(h.coopel.countRequests("PUT", "/contacts/:contactId")).toBe(0);
    expect(await reasons(h)).toContain("ghl:echo");
  });

  it("updates only changed fields by PUT", async () => {
    const h = await startTwoWay();
    const coopel = h.coopel.userCreateContact({
      first_name: "Ana",
      email: "ana@example.com",
    });
    await settle(h);
    h.ghl.requests.length = 0;
    h.coopel.userUpdateContact(coopel.id, { first_name: "Anna" });
    await settle(h);
    const puts = h.ghl.requests.filter(
      (r) => r.method === "PUT" && r.route === "/contacts/:contactId",
    );
    expect(puts.map((r) => r.body)).toEqual([{ firstName: "Anna" }]);
    expect(ghlContacts(h)[0]?.firstName).toBe("Anna");
    expect(h.coopel.countRequests("PUT", "/contacts/:contactId")).toBe(0);
    expect(h.ghl.countRequests("POST", "/contacts/upsert")).toBe(0);
  });

  it("links by email instead of creating", async () => {
    const h = await startTwoWay();
    const existing = h.ghl.userCreateContact(LOCATION_ID, {
      email: "old@example.com",
      firstName: "Old",
      tags: ["keep"],
    });
    h.coopel.userCreateContact({
      email: "old@example.com",
      first_name: "New",
      tags: ["added"],
    });
    await settle(h);
    expect(ghlContacts(h)).toHaveLength(1);
    expect(h.ghl.countRequests("POST", "/contacts/")).toBe(0);
    const stored = h.ghl.contacts.get(LOCATION_ID)?.get(existing.id);
    expect(stored?.firstName).toBe("New");
    expect(stored?.tags).toEqual(["keep", "added"]);
  });

  it("fails the job when the lookup fails, without creating", async () => {
    const h = await startTwoWay({ worker: { max_attempts: 2 } });
    h.ghl.setFaults({
      routes: { "GET /contacts/search/duplicate": { errorRate: { 500: 1 } } },
    });
    h.coopel.userCreateContact({ email: "x@example.com" });
    await settle(h);
    expect(h.ghl.countRequests("POST", "/contacts/")).toBe(0);
    const dead = await h.service.queue.listDeadLetters({});
    expect(dead).toHaveLength(1);
  });

  it("links on a duplicate-contact 400 and adds tags", async () => {
    // Without a default country the national phone is not E.164, so the
    // lookup skips it, and GHL's duplicate rule finds the contact instead.
    const h = await startTwoWay({ mapping: { default_country: undefined } });
    const existing = h.ghl.userCreateContact(LOCATION_ID, {
      phone: "+14155550123",
      firstName: "Old",
      tags: ["keep"],
    });
    h.coopel.userCreateContact({
      phone: "(415) 555-0123",
      first_name: "Old",
      tags: ["new-tag"],
    });
    await settle(h);

    expect(ghlContacts(h)).toHaveLength(1);
    const posts = h.ghl.requests.filter(
      (r) => r.method === "POST" && r.route === "/contacts/",
    );
    expect(posts).toHaveLength(1);
    expect(posts[0]?.status).toBe(400);

    const tagPosts = h.ghl.requests.filter(
      (r) => r.method === "POST" && r.route === "/contacts/:contactId/tags",
    );
    expect(tagPosts.map((r) => r.body)).toEqual([{ tags: ["new-tag"] }]);
    for (const put of h.ghl.requests.filter((r) => r.method === "PUT"))
      expect((put.body as Record<string, unknown>).tags).toBeUndefined();
    expect(h.ghl.contacts.get(LOCATION_ID)?.get(existing.id)?.tags).toEqual([
      "keep",
      "new-tag",
    ]);

    const events = await h.service.store.listEvents({ limit: 100 });
    expect(events.filter((e) => e.outcome === "failed")).toEqual([]);
    expect(events.map((e) => e.reason)).toContain("linked_duplicate");
  });
});

describe("echo suppression", () => {
  it("drops the Coopel echo of a GHL edit", async () => {
    const h = await startTwoWay();
    const coopel = h.coopel.userCreateContact({
      first_name: "Ana",
      email: "ana@example.com",
    });
    await settle(h);
    const ghlId = ghlContacts(h)[0]!.id;
    h.ghl.requests.length = 0;
    const updated = h.ghl.userUpdateContact(LOCATION_ID, ghlId, {
      lastName: "Lopez",
    });
    await h.post({ ...updated, type: "ContactUpdate" });
    await settle(h);
    expect(h.coopel.contacts.get(coopel.id)?.last_name).toBe("Lopez");
    expect(h.ghl.countRequests("PUT", "/contacts/:contactId")).toBe(0);
    expect(await reasons(h)).toContain("coopel:echo");
    const metrics = await (
      await fetch(`${h.service.url}/metrics`, {
        headers: { authorization: `Bearer ${h.config.admin!.token!}` },
      })
    ).text();
    expect(metrics).toMatch(
      /ghl_coopel_sync_echoes_total\{side="coopel"\} [1-9]/,
    );
  });

  it("recognises an echo with normalised phone and email", async () => {
    const h = await startTwoWay();
    h.ghl.setApiWriteWebhooks(null);
    const coopel = h.coopel.userCreateContact({
      first_name: "Ana",
      email: "ana@example.com",
    });
    await settle(h);
    const ghlId = ghlContacts(h)[0]!.id;
    h.coopel.userUpdateContact(coopel.id, {
      phone: "+14155550188",
      email: "ana.l@example.com",
    });
    await settle(h);
    h.coopel.requests.length = 0;
    // GHL sends the contact back with the phone formatted and the email in upper case.
    const stored = h.ghl.contacts.get(LOCATION_ID)!.get(ghlId)!;
    await h.post({
      ...stored,
      type: "ContactUpdate",
      phone: "+1 415-555-0188",
      email: "ANA.L@EXAMPLE.COM",
    });
    await settle(h);
    expect(h.coopel.countRequests("PUT", "/contacts/:contactId")).toBe(0);
    const events = await h.service.store.listEvents({ limit: 1 });
    expect(events[0]?.reason).toBe("echo");
  });
});

describe("Coopel webhook signature", () => {
  async function postCoopel(
    h: Harness,
    body: string,
    headers: Record<string, string>,
  ): Promise<Response> {
    return fetch(`${h.service.url}/webhooks/coopel`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
  }

  it("accepts a valid signature and rejects others", async () => {
    const h = await startTwoWay();
    const body = JSON.stringify({
      event_id: "e1",
      type: "contact.updated",
      contact: { id: "missing-contact" },
    });
    const good = signCoopelBody(SECRET, body);
    expect((await postCoopel(h, body, {})).status).toBe(401);
    expect(
      (await postCoopel(h, body, { "x-coopel-signature": "00" })).status,
    ).toBe(401);
    expect(
      (
        await postCoopel(h, body, {
          "x-coopel-signature": signCoopelBody("wrong-secret-0123456789", body),
        })
      ).status,
    ).toBe(401);
    expect(
      (await postCoopel(h, `${body} `, { "x-coopel-signature": good })).status,
    ).toBe(401);

    const accepted = await postCoopel(h, body, { "x-coopel-signature": good });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ status: "accepted" });
    const repeat = await postCoopel(h, body, {
      "x-coopel-signature": `sha256=${good}`,
    });
    expect(await repeat.json()).toEqual({ status: "duplicate" });

    await h.waitForIdle();
    const events = await h.service.store.listEvents({ limit: 10 });
    expect(events).toHaveLength(1);
    expect(events[0]?.source).toBe("coopel");
  });

  it("uses the configured header name", async () => {
    const h = await startTwoWay({
      coopel: {
        webhooks: { secret: SECRET, signature_header: "x-hub-signature" },
      },
    });
    const body = JSON.stringify({
      event_id: "e2",
      type: "contact.updated",
      contact: { id: "c" },
    });
    const signature = signCoopelBody(SECRET, body);
    expect(
      (await postCoopel(h, body, { "x-coopel-signature": signature })).status,
    ).toBe(401);
    expect(
      (await postCoopel(h, body, { "x-hub-signature": signature })).status,
    ).toBe(200);
  });
});

describe("conflicts", () => {
  /** Links one contact, then edits first_name on GHL and, 5 ms later, on Coopel, sending GHL's webhook last. */
  async function editBothSides(h: Harness) {
    const coopel = h.coopel.userCreateContact({
      first_name: "Ana",
      email: "conflict@example.com",
    });
    await settle(h);
    const ghlId = ghlContacts(h)[0]!.id;
    h.ghl.setApiWriteWebhooks(null);
    const ghlEdit = h.ghl.userUpdateContact(LOCATION_ID, ghlId, {
      firstName: "FromGhl",
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    h.coopel.userUpdateContact(coopel.id, { first_name: "FromCoopel" });
    await settle(h);
    await h.post({ ...ghlEdit, type: "ContactUpdate" });
    await settle(h);
    return { coopelId: coopel.id, ghlId };
  }

  it("last writer wins by update time and is logged", async () => {
    const h = await startTwoWay();
    const { coopelId, ghlId } = await editBothSides(h);
    expect(h.coopel.contacts.get(coopelId)?.first_name).toBe("FromCoopel");
    expect(h.ghl.contacts.get(LOCATION_ID)?.get(ghlId)?.firstName).toBe(
      "FromCoopel",
    );
    const conflicts = await h.service.twoWay.listConflicts({ limit: 10 });
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({
      field: "first_name",
      ghlValue: "FromGhl",
      coopelValue: "FromCoopel",
      winner: "coopel",
      rule: "last_writer",
      ghlId,
      coopelId,
    });
    expect(conflicts[0]!.coopelUpdatedAt).toBeGreaterThan(
      conflicts[0]!.ghlUpdatedAt!,
    );
    const metrics = await (
      await fetch(`${h.service.url}/metrics`, {
        headers: { authorization: `Bearer ${h.config.admin!.token!}` },
      })
    ).text();
    expect(metrics).toContain(
      'ghl_coopel_sync_conflicts_total{winner="coopel",rule="last_writer"} 1',
    );
  });

  it("an owning side wins its field", async () => {
    const h = await startTwoWay({
      sync: {
        contacts: {
          direction: "two_way",
          conflicts: { fields: { first_name: "ghl" } },
        },
      },
    });
    const { coopelId, ghlId } = await editBothSides(h);
    expect(h.coopel.contacts.get(coopelId)?.first_name).toBe("FromGhl");
    expect(h.ghl.contacts.get(LOCATION_ID)?.get(ghlId)?.firstName).toBe(
      "FromGhl",
    );
    const [conflict] = await h.service.twoWay.listConflicts({ limit: 10 });
    expect(conflict).toMatchObject({ winner: "ghl", rule: "ghl" });
  });

  it("conflicts command lists them as text and JSON", async () => {
    const h = await startTwoWay();
    await editBothSides(h);
    const loaded = {
      config: parseConfig(h.config),
      file: "test",
      baseDir: h.dir,
    };
    let text = "";
    expect(await runConflicts(loaded, {}, (t) => (text += t))).toBe(0);
    expect(text).toContain("field first_name");
    expect(text).toContain("winner: coopel by rule last_writer");
    let json = "";
    expect(await runConflicts(loaded, { json: true }, (t) => (json += t))).toBe(
      0,
    );
    expect(JSON.parse(json)).toHaveLength(1);
    await expect(
      runConflicts(loaded, { since: "yesterday" }, () => undefined),
    ).rejects.toThrow(/--since yesterday: not a date/);
  });

  it("conflicts --help shows an example", async () => {
    const help = await runCli(["conflicts", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("ghl-coopel-sync conflicts --json");
  });
});

describe("echo before the response", () => {
  it("drops the echo of a create still waiting for its response", async () => {
    const h = await startTwoWay();
    h.ghl.setApiWriteWebhooks(null);
    // GHL stores the contact but sends no response, so the sync's create times out and is retried.
    h.ghl.setFaults({
      routes: {
        "POST /contacts/": { afterHandlerTimeoutRate: 1, holdMs: 3000 },
      },
    });
    h.coopel.userCreateContact({
      first_name: "Early",
      email: "early@example.com",
      phone: "+14155550111",
    });
    const deadline = Date.now() + 10_000;
    while (ghlContacts(h).length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const created = ghlContacts(h)[0]!;
    const response = await h.post({ ...created, type: "ContactCreate" });
    expect(response.status).toBe(200);
    await settle(h);
    h.ghl.setFaults(undefined);

    expect(ghlContacts(h)).toHaveLength(1);
    expect(h.coopel.countRequests("PUT", "/contacts/:contactId")).toBe(0);
    expect(h.coopel.countRequests("POST", "/contacts/")).toBe(0);
    const events = await h.service.store.listEvents({ limit: 10 });
    const echo = events.find((event) => event.type === "ContactCreate");
    expect(echo?.reason).toBe("echo");
    const link = await h.service.store.getLink(
      "contact",
      LOCATION_ID,
      created.id,
    );
    expect(link?.coopelId).toBeTruthy();
  }, 30_000);
});

describe("Coopel deletes", () => {
  it("deletes the linked GHL contact", async () => {
    const h = await startTwoWay();
    const coopel = h.coopel.userCreateContact({ email: "gone@example.com" });
    await settle(h);
    const ghlId = ghlContacts(h)[0]!.id;
    h.coopel.userDeleteContact(coopel.id);
    await settle(h);
    expect(ghlContacts(h)).toEqual([]);
    expect(h.ghl.countRequests("DELETE", "/contacts/:contactId")).toBe(1);

    // GHL's webhook for that delete changes nothing on Coopel.
    const response = await h.post({
      type: "ContactDelete",
      id: ghlId,
      locationId: LOCATION_ID,
    });
    expect(response.status).toBe(200);
    await settle(h);
    expect(h.coopel.countRequests("DELETE", "/contacts/:contactId")).toBe(0);
    const [latest] = await h.service.store.listEvents({ limit: 1 });
    expect(latest?.reason).toBe("already_deleted");
  });

  it("leaves GHL alone with the ignore policy", async () => {
    const h = await startTwoWay({
      sync: {
        contacts: { direction: "two_way", delete: { policy: "ignore" } },
      },
    });
    const coopel = h.coopel.userCreateContact({ email: "kept@example.com" });
    await settle(h);
    h.coopel.userDeleteContact(coopel.id);
    await settle(h);
    expect(ghlContacts(h)).toHaveLength(1);
    expect(h.ghl.countRequests("DELETE", "/contacts/:contactId")).toBe(0);
    const [latest] = await h.service.store.listEvents({ limit: 1 });
    expect(latest?.reason).toBe("delete_ignored");
  });
});

describe("Coopel tag changes", () => {
  it("reach GHL right after a sync write", async () => {
    const h = await startTwoWay();
    const coopel = h.coopel.userCreateContact({
      first_name: "Tag",
      email: "tag@example.com",
      tags: ["a"],
    });
    await settle(h);
    const ghlId = ghlContacts(h)[0]!.id;
    // A GHL edit makes the sync write Coopel, which leaves a write intent;
    // Coopel sends no webhook for it, so the intent stays.
    h.coopel.setWebhookTarget(null);
    const updated = h.ghl.userUpdateContact(LOCATION_ID, ghlId, {
      lastName: "Written",
    });
    await h.post({ ...updated, type: "ContactUpdate" });
    await settle(h);
    expect(h.coopel.contacts.get(coopel.id)?.last_name).toBe("Written");
    h.coopel.userUpdateContact(coopel.id, { tags: ["a", "b"] });

    // The tag edit arrives with the same fields as the sync's own write.
    const body = JSON.stringify({
      event_id: "tag-edit",
      type: "contact.updated",
      contact: h.coopel.contacts.get(coopel.id),
    });
    const response = await fetch(`${h.service.url}/webhooks/coopel`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-coopel-signature": signCoopelBody(SECRET, body),
      },
      body,
    });
    expect(response.status).toBe(200);
    await settle(h);
    expect(h.ghl.contacts.get(LOCATION_ID)?.get(ghlId)?.tags).toEqual([
      "a",
      "b",
    ]);
  });
});
