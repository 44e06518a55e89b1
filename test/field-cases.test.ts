import { afterEach, describe, expect, it } from "vitest";
import { signCoopelBody } from "../src/server/coopel-webhook-route.js";
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

function writesFor(h: Harness, coopelId?: string) {
  return h.coopel.requests.filter(
    (r) =>
      r.method !== "GET" &&
      (coopelId === undefined || r.path.includes(coopelId)),
  );
}

describe("several events for one user action", () => {
  it("update after delete does not bring the contact back", async () => {
    harness = await startHarness();
    await harness.post({
      ...fixture("ContactCreate"),
      id: "k7",
      email: "k7@example.com",
    });
    await harness.waitForIdle();
    expect(harness.coopel.contacts.size).toBe(1);

    await Promise.all([
      harness.post({
        ...fixture("ContactDelete"),
        id: "k7",
        webhookId: "k7-delete",
      }),
      new Promise((resolve) => setTimeout(resolve, 5)).then(() =>
        harness.post({
          ...fixture("ContactUpdate"),
          id: "k7",
          firstName: "Back?",
          webhookId: "k7-update",
        }),
      ),
    ]);
    await harness.waitForIdle();

    expect(harness.coopel.contacts.size).toBe(0);
    expect(writesFor(harness).map((r) => r.method)).toEqual(["POST", "DELETE"]);
    const link = await harness.service.store.getLink(
      "contact",
      LOCATION_ID,
      "k7",
    );
    expect(link?.deletedAt).not.toBeNull();
  });

  it("create then same-content update costs one write", async () => {
    harness = await startHarness();
    const create = {
      ...fixture("ContactCreate"),
      id: "k8",
      email: "k8@example.com",
      webhookId: "k8-create",
    };
    await harness.post(create);
    await harness.post({
      ...create,
      type: "ContactUpdate",
      webhookId: "k8-update",
    });
    await harness.waitForIdle();

    expect(harness.coopel.contacts.size).toBe(1);
    expect(writesFor(harness).map((r) => r.method)).toEqual(["POST"]);
    const stats = await harness.service.store.eventStats(0);
    expect(stats.synced).toBe(1);
    expect(stats.skipped).toBe(1);
  });
});

describe("create and updates arriving at the same moment", () => {
  it("fifty contacts each get one Coopel contact and one link", async () => {
    harness = await startHarness({ worker: { concurrency: 16, poll_ms: 5 } });
    const ids = Array.from({ length: 50 }, (_, i) => `burst-${i}`);
    await Promise.all(
      ids.flatMap((id) => {
        const base = {
          ...fixture("ContactCreate"),
          id,
          email: `${id}@example.com`,
          phone: null,
        };
        const updated = {
          ...base,
          type: "ContactUpdate",
          firstName: "Updated",
          city: "Lyon",
        };
        return [
          harness.post({ ...base, webhookId: `${id}-c` }),
          harness.post({ ...updated, webhookId: `${id}-u1` }),
          harness.post({ ...updated, webhookId: `${id}-u2` }),
        ];
      }),
    );
    await harness.waitForIdle();

    const contacts = [...harness.coopel.contacts.values()];
    expect(contacts).toHaveLength(50);
    expect(new Set(contacts.map((c) => c.external_id)).size).toBe(50);
    expect(harness.coopel.countRequests("POST")).toBe(50);
    for (const id of ids) {
      const link = await harness.service.store.getLink(
        "contact",
        LOCATION_ID,
        id,
      );
      const contact = contacts.find((c) => c.external_id === id);
      expect(link?.coopelId).toBe(contact?.id);
      expect(contact?.first_name).toBe("Updated");
      expect(contact?.city).toBe("Lyon");
      expect(
        writesFor(harness, String(contact?.id)).length,
      ).toBeLessThanOrEqual(1);
    }
    const stats = await harness.service.store.eventStats(0);
    expect(stats.failed).toBe(0);
    expect(stats.received).toBe(150);
  }, 120_000);
});

describe("Coopel create and updates at once", () => {
  const SECRET = "coopel-webhook-secret-0123456789";

  function postCoopel(h: Harness, body: Record<string, unknown>) {
    const raw = JSON.stringify(body);
    return fetch(`${h.service.url}/webhooks/coopel`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-coopel-signature": signCoopelBody(SECRET, raw),
      },
      body: raw,
    });
  }

  it("one GHL contact per Coopel burst", async () => {
    harness = await startHarness({
      worker: { concurrency: 16, poll_ms: 5 },
      sync: { contacts: { direction: "two_way" } },
      mapping: { default_country: "US" },
      coopel: { webhooks: { secret: SECRET } },
      // The case is about ordering, not budgets: GHL's 100 per 10 s would
      // spread the 50 lookups and creates over many seconds.
      ghl: { rate_limit: { requests: 5000, per_ms: 1000 } },
    });
    const h = harness;
    // The sandbox sends no webhooks of its own: the test sends each burst itself.
    const contacts = Array.from({ length: 50 }, (_, i) => {
      const created = h.coopel.userCreateContact({
        first_name: "Burst",
        email: `coopel-burst-${i}@example.com`,
      });
      const updated = h.coopel.userUpdateContact(created.id, {
        first_name: "Updated",
        city: "Lyon",
      });
      return { created, updated };
    });
    const responses = await Promise.all(
      contacts.flatMap(({ created, updated }) => [
        postCoopel(h, {
          event_id: `${created.id}-c`,
          type: "contact.created",
          contact: created,
        }),
        postCoopel(h, {
          event_id: `${created.id}-u1`,
          type: "contact.updated",
          contact: updated,
        }),
        postCoopel(h, {
          event_id: `${created.id}-u2`,
          type: "contact.updated",
          contact: updated,
        }),
      ]),
    );
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    await h.waitForIdle(60_000);

    const ghlContacts = [...(h.ghl.contacts.get(LOCATION_ID)?.values() ?? [])];
    expect(ghlContacts).toHaveLength(50);
    expect(h.ghl.countRequests("POST", "/contacts/")).toBe(50);
    // Each update read the contact after the create and found nothing new.
    expect(h.ghl.countRequests("PUT", "/contacts/:contactId")).toBe(0);
    for (const { created } of contacts) {
      const link = await h.service.twoWay.getLinkByCoopelId(
        "contact",
        "default",
        created.id,
      );
      const matching = ghlContacts.filter((c) => c.email === created.email);
      expect(matching).toHaveLength(1);
      expect(link?.ghlId).toBe(matching[0]?.id);
      expect(matching[0]?.firstName).toBe("Updated");
      expect(matching[0]?.city).toBe("Lyon");
    }
    const stats = await h.service.store.eventStats(0);
    expect(stats.failed).toBe(0);
    expect(stats.received).toBe(150);
  }, 120_000);
});
