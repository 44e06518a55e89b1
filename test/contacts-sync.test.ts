import { afterEach, describe, expect, it } from "vitest";
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

function coopelContacts(h: Harness) {
  return [...h.coopel.contacts.values()];
}

function writes(h: Harness) {
  return h.coopel.requests.filter((r) => r.method !== "GET");
}

describe("official contact examples", () => {
  it("ContactCreate gives the mapped Coopel contact", async () => {
    harness = await startHarness();
    const response = await harness.post(fixture("ContactCreate"));
    expect(response.status).toBe(200);
    await harness.waitForIdle();

    const contacts = coopelContacts(harness);
    expect(contacts).toHaveLength(1);
    const contact = contacts[0]!;
    expect(contact.first_name).toBe("John");
    expect(contact.last_name).toBe("Deo");
    expect(contact.email).toBe("johndeo@gmail.comm");
    expect(contact.phone).toBe("+919509597501");
    expect(contact.company_name).toBe("Loram ipsum");
    expect(contact.address1).toBe("3535 1st St N");
    expect(contact.city).toBe("ruDolomitebika");
    expect(contact.state).toBe("AL");
    expect(contact.postal_code).toBe("452001");
    expect(contact.country).toBe("DE");
    expect(contact.website).toBe("https://www.google.com/");
    expect(contact.date_of_birth).toBe("2000-01-05");
    expect(contact.source).toBe("xyz form");
    expect(contact.tags).toEqual([
      "id magna sed Lorem",
      "Duis dolor commodo aliqua",
    ]);
    expect(contact.external_id).toBe("nmFmQEsNgz6AVpgLVUJ0");

    const link = await harness.service.store.getLink(
      "contact",
      LOCATION_ID,
      "nmFmQEsNgz6AVpgLVUJ0",
    );
    expect(link?.coopelId).toBe(contact.id);
  });

  it("ContactUpdate with the same content sends nothing, a change sends only it", async () => {
    harness = await startHarness();
    await harness.post(fixture("ContactCreate"));
    await harness.waitForIdle();
    await harness.post(fixture("ContactUpdate"));
    await harness.waitForIdle();
    expect(writes(harness).map((r) => r.method)).toEqual(["POST"]);

    await harness.post({
      ...fixture("ContactUpdate"),
      firstName: "Johnny",
      city: "",
    });
    await harness.waitForIdle();
    const puts = writes(harness).filter((r) => r.method === "PUT");
    expect(puts).toHaveLength(1);
    expect(puts[0]!.body).toEqual({ first_name: "Johnny", city: null });
    const contact = coopelContacts(harness)[0]!;
    expect(contact.first_name).toBe("Johnny");
    expect(contact.city ?? null).toBeNull();
    expect(contact.tags).toEqual([
      "id magna sed Lorem",
      "Duis dolor commodo aliqua",
    ]);
  });

  it("ContactUpdate never sends tags", async () => {
    harness = await startHarness();
    await harness.post(fixture("ContactCreate"));
    await harness.post({
      ...fixture("ContactUpdate"),
      tags: ["only-this"],
      lastName: "Doe",
    });
    await harness.waitForIdle();
    const put = writes(harness).find((r) => r.method === "PUT");
    expect(put?.body).toEqual({ last_name: "Doe" });
    expect(coopelContacts(harness)[0]!.tags).toEqual([
      "id magna sed Lorem",
      "Duis dolor commodo aliqua",
    ]);
  });

  it("ContactDelete deletes the linked Coopel contact", async () => {
    harness = await startHarness();
    await harness.post(fixture("ContactCreate"));
    await harness.waitForIdle();
    await harness.post(fixture("ContactDelete"));
    await harness.waitForIdle();
    expect(coopelContacts(harness)).toHaveLength(0);
    expect(writes(harness).map((r) => r.method)).toEqual(["POST", "DELETE"]);
  });

  it("all three examples in a row end with no contact and no failure", async () => {
    harness = await startHarness();
    for (const name of ["ContactCreate", "ContactUpdate", "ContactDelete"]) {
      expect((await harness.post(fixture(name))).status).toBe(200);
    }
    await harness.waitForIdle();
    expect(coopelContacts(harness)).toHaveLength(0);
    const stats = await harness.service.store.eventStats(0);
    expect(stats).toMatchObject({
      received: 3,
      synced: 2,
      skipped: 1,
      failed: 0,
    });
  });
});

describe("delivery", () => {
  it("the same webhook twice makes one contact and one write", async () => {
    harness = await startHarness();
    const event = {
      ...fixture("ContactCreate"),
      webhookId: "wh-1",
      timestamp: new Date().toISOString(),
    };
    const first = await harness.post(event);
    const second = await harness.post(event);
    expect(await first.json()).toEqual({ status: "accepted" });
    expect(await second.json()).toEqual({ status: "duplicate" });
    await harness.waitForIdle();
    expect(coopelContacts(harness)).toHaveLength(1);
    expect(writes(harness)).toHaveLength(1);
  });

  it("the same body twice without webhookId still makes one write", async () => {
    harness = await startHarness();
    await harness.post(fixture("ContactCreate"));
    await harness.post(fixture("ContactCreate"));
    await harness.waitForIdle();
    expect(coopelContacts(harness)).toHaveLength(1);
    expect(writes(harness)).toHaveLength(1);
  });

  it("an update before its create ends in the update's state with one contact", async () => {
    harness = await startHarness();
    const update = {
      ...fixture("ContactUpdate"),
      firstName: "Newer",
      email: "newer@example.com",
    };
    await harness.post(update);
    await harness.post(fixture("ContactCreate"));
    await harness.waitForIdle();
    const contacts = coopelContacts(harness);
    expect(contacts).toHaveLength(1);
    expect(contacts[0]!.first_name).toBe("Newer");
    expect(contacts[0]!.email).toBe("newer@example.com");
    expect(writes(harness).map((r) => r.method)).toEqual(["POST"]);
  });

  it("events of one contact run in arrival order", async () => {
    harness = await startHarness();
    await harness.post(fixture("ContactCreate"));
    for (let i = 0; i < 20; i++)
      await harness.post({
        ...fixture("ContactUpdate"),
        firstName: `Name ${i}`,
      });
    await harness.waitForIdle();
    const names = writes(harness)
      .filter((r) => r.method === "PUT")
      .map((r) => (r.body as Record<string, unknown>).first_name);
    expect(names).toEqual(Array.from({ length: 20 }, (_, i) => `Name ${i}`));
  });

  it("events in the inbox survive a restart and are all synced", async () => {
    harness = await startHarness({ worker: { enabled: false } });
    for (let i = 0; i < 25; i++) {
      const response = await harness.post({
        ...fixture("ContactCreate"),
        id: `restart-${i}`,
        email: `r${i}@example.com`,
      });
      expect(response.status).toBe(200);
    }
    expect(await harness.service.queue.depth()).toBe(25);
    expect(coopelContacts(harness)).toHaveLength(0);

    await harness.restart({ worker: { enabled: true, poll_ms: 20 } });
    await harness.waitForIdle();
    expect(coopelContacts(harness)).toHaveLength(25);
    expect(
      new Set(coopelContacts(harness).map((c) => c.external_id)).size,
    ).toBe(25);
  });

  it("answers 429 when the inbox is over its depth limit", async () => {
    harness = await startHarness({
      worker: { enabled: false },
      server: { port: 0, max_inbox_depth: 2 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await harness.post({ ...fixture("ContactCreate"), id: `deep-${i}` }))
          .status,
      );
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(await harness.service.queue.depth()).toBe(2);
  });
});

describe("delete policy", () => {
  it("a delete for an unknown contact is skipped and a later update does not bring it back", async () => {
    harness = await startHarness();
    await harness.post({ ...fixture("ContactDelete"), id: "k7" });
    await harness.post({ ...fixture("ContactUpdate"), id: "k7" });
    await harness.waitForIdle();
    expect(coopelContacts(harness)).toHaveLength(0);
    expect(writes(harness)).toHaveLength(0);
    const stats = await harness.service.store.eventStats(0);
    expect(stats).toMatchObject({ skipped: 2, failed: 0 });
  });

  it("mark sets the configured field instead of deleting", async () => {
    harness = await startHarness({
      sync: {
        contacts: {
          delete: {
            policy: "mark",
            mark_field: "ghl_deleted",
            mark_value: true,
          },
        },
      },
    });
    await harness.post(fixture("ContactCreate"));
    await harness.post(fixture("ContactDelete"));
    await harness.waitForIdle();
    const contacts = coopelContacts(harness);
    expect(contacts).toHaveLength(1);
    expect(contacts[0]!.ghl_deleted).toBe(true);
    expect(harness.coopel.countRequests("DELETE")).toBe(0);
  });

  it("ignore leaves the Coopel contact alone", async () => {
    harness = await startHarness({
      sync: { contacts: { delete: { policy: "ignore" } } },
    });
    await harness.post(fixture("ContactCreate"));
    await harness.post(fixture("ContactDelete"));
    await harness.waitForIdle();
    expect(coopelContacts(harness)).toHaveLength(1);
    expect(writes(harness).map((r) => r.method)).toEqual(["POST"]);
  });
});

describe("drift repair on write", () => {
  it("recreates a contact deleted on Coopel when GHL updates it", async () => {
    harness = await startHarness();
    await harness.post(fixture("ContactCreate"));
    await harness.waitForIdle();
    const [first] = coopelContacts(harness);
    harness.coopel.userDeleteContact(String(first!.id));

    await harness.post({ ...fixture("ContactUpdate"), firstName: "Again" });
    await harness.waitForIdle();
    const contacts = coopelContacts(harness);
    expect(contacts).toHaveLength(1);
    expect(contacts[0]!.id).not.toBe(first!.id);
    expect(contacts[0]!.first_name).toBe("Again");
    expect(contacts[0]!.email).toBe("johndeo@gmail.comm");
    const link = await harness.service.store.getLink(
      "contact",
      LOCATION_ID,
      "nmFmQEsNgz6AVpgLVUJ0",
    );
    expect(link?.coopelId).toBe(contacts[0]!.id);
    const stats = await harness.service.store.eventStats(0);
    expect(stats.failed).toBe(0);
  });

  it("a late create fills only fields no event has set", async () => {
    harness = await startHarness();
    const withoutCity = fixture("ContactUpdate");
    delete withoutCity.city;
    await harness.post({ ...withoutCity, firstName: "Newer" });
    await harness.waitForIdle();
    await harness.post({ ...fixture("ContactCreate"), city: "Oslo" });
    await harness.waitForIdle();

    const contact = coopelContacts(harness)[0]!;
    expect(contact.first_name).toBe("Newer");
    expect(contact.city).toBe("Oslo");
    const puts = writes(harness).filter((r) => r.method === "PUT");
    expect(puts.map((r) => r.body)).toEqual([{ city: "Oslo" }]);
  });
});
