import { afterEach, describe, expect, it } from "vitest";
import {
  COOPEL_SECRET,
  linkTaskContact,
  postTaskWithoutDueDate,
  settleCoopel,
  startTaskSync,
  TASK_CONTACT,
} from "./helpers/coopel-tasks.js";
import { signCoopelBody } from "../src/server/coopel-webhook-route.js";
import {
  fixture,
  GHL_TOKEN,
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
  function postCoopel(h: Harness, body: Record<string, unknown>) {
    const raw = JSON.stringify(body);
    return fetch(`${h.service.url}/webhooks/coopel`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-coopel-signature": signCoopelBody(COOPEL_SECRET, raw),
      },
      body: raw,
    });
  }

  it("one GHL contact per Coopel burst", async () => {
    harness = await startHarness({
      worker: { concurrency: 16, poll_ms: 5 },
      sync: { contacts: { direction: "two_way" } },
      mapping: { default_country: "US" },
      coopel: { webhooks: { secret: COOPEL_SECRET } },
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

describe("a task without due date, a due date without offset", () => {
  /** A Coopel that fills in its creation time as a missing due date. */
  const DUE_DATE_FILLED = { taskDueDateDefault: "created_at" } as const;

  function ghlTaskWrites(h: Harness) {
    return h.ghl.requests.filter(
      (r) => r.method !== "GET" && r.path.includes("/tasks"),
    );
  }

  it("made-up due date stays on Coopel", async () => {
    harness = await startTaskSync("two_way", {}, DUE_DATE_FILLED);
    const coopelContactId = await linkTaskContact(harness);
    const ghlTask = await postTaskWithoutDueDate(harness);

    const post = harness.coopel.requests.find(
      (r) => r.method === "POST" && r.route === "/contacts/:contactId/tasks",
    );
    expect(post?.body).not.toHaveProperty("due_date");
    const [task] = harness.coopel.tasks.get(coopelContactId)!.values();
    expect(task?.due_date).toBe(task?.created_at);
    // Coopel's webhook of the create carried the made-up due date.
    const events = await harness.service.store.listEvents({ limit: 100 });
    const echo = events.find((e) => e.type === "task.created");
    expect(echo?.reason).toBe("no_change");
    expect(ghlTaskWrites(harness)).toEqual([]);

    // A real Coopel edit later sends only what the user changed.
    harness.coopel.userUpdateTask(coopelContactId, task!.id, {
      title: "Renamed on Coopel",
    });
    await settleCoopel(harness);
    const writes = ghlTaskWrites(harness);
    expect(writes.map((w) => `${w.method} ${w.route}`)).toEqual([
      "PUT /contacts/:contactId/tasks/:taskId",
    ]);
    expect(writes[0]?.body).toEqual({ title: "Renamed on Coopel" });
    const stored = harness.ghl.tasks.get(TASK_CONTACT)?.get(ghlTask.id);
    expect(stored?.title).toBe("Renamed on Coopel");
    expect(stored).not.toHaveProperty("dueDate");
  });

  it("local due date keeps its instant", async () => {
    harness = await startTaskSync(
      "two_way",
      {
        ghl: {
          locations: [
            { id: LOCATION_ID, token: GHL_TOKEN, time_zone: "America/Chicago" },
          ],
        },
      },
      DUE_DATE_FILLED,
    );
    const coopelContactId = await linkTaskContact(harness);
    const task = harness.coopel.userCreateTask(coopelContactId, {
      title: "Call back",
      due_date: "2026-03-05T17:00:00",
    });
    await settleCoopel(harness);

    const [ghlTask] = harness.ghl.tasks.get(TASK_CONTACT)?.values() ?? [];
    expect(ghlTask?.dueDate).toBe("2026-03-05T23:00:00.000Z");
    expect(ghlTask?.title).toBe("Call back");
    const link = await harness.service.store.getLink(
      "task",
      LOCATION_ID,
      String(ghlTask?.id),
    );
    expect(link?.coopelId).toBe(task.id);

    // GHL's webhook of the create comes back with the UTC instant: same instant, nothing to write.
    harness.coopel.requests.length = 0;
    await harness.post({
      ...ghlTask,
      type: "TaskCreate",
      locationId: LOCATION_ID,
    });
    await settleCoopel(harness);
    expect(harness.coopel.requests.filter((r) => r.method !== "GET")).toEqual(
      [],
    );
    const stored = harness.coopel.tasks.get(coopelContactId)?.get(task.id);
    expect(stored?.due_date).toBe("2026-03-05T17:00:00");
  });

  it("unreadable due date is rejected", async () => {
    harness = await startTaskSync("coopel_to_ghl", {}, DUE_DATE_FILLED);
    const coopelContactId = await linkTaskContact(harness);
    harness.coopel.userCreateTask(coopelContactId, {
      title: "Someday",
      due_date: "next friday",
    });
    await settleCoopel(harness);

    expect(ghlTaskWrites(harness)).toEqual([]);
    const events = await harness.service.store.listEvents({ limit: 100 });
    const event = events.find((e) => e.type === "task.created");
    expect(event?.state).toBe("dead");
    expect(event?.lastError).toContain('"next friday"');
    expect(event?.lastError).toContain("time_zone");
  });
});
