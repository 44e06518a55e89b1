import { afterEach, describe, expect, it } from "vitest";
import {
  fixture,
  LOCATION_ID,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

const SECRET = "coopel-webhook-secret-0123456789";
const CONTACT = "CWBf1PR9LvvBkcYqiXlc";
let harness: Harness | null = null;

afterEach(async () => {
  await harness?.close();
  harness = null;
});

/** Starts a service with the given directions and a Coopel that sends webhooks. */
async function start(
  tasks: "ghl_to_coopel" | "coopel_to_ghl" | "two_way",
  contacts: "ghl_to_coopel" | "two_way" = "ghl_to_coopel",
  maxAttempts = 8,
): Promise<Harness> {
  const h = await startHarness({
    sync: { tasks: { direction: tasks }, contacts: { direction: contacts } },
    mapping: { default_country: "US" },
    coopel: { webhooks: { secret: SECRET } },
    worker: { max_attempts: maxAttempts },
  });
  h.coopel.setWebhookTarget({
    url: `${h.service.url}/webhooks/coopel`,
    secret: SECRET,
  });
  harness = h;
  return h;
}

async function settle(h: Harness): Promise<void> {
  for (let round = 0; round < 2; round += 1) {
    await h.coopel.flushWebhooks();
    await h.waitForIdle(30_000);
  }
}

/** Syncs a GHL contact to Coopel through its ContactCreate; returns the Coopel id. */
async function linkedContact(h: Harness): Promise<string> {
  h.ghl.userCreateContact(
    LOCATION_ID,
    { firstName: "Task", email: "owner@example.com" },
    { id: CONTACT },
  );
  await h.post({ ...fixture("ContactCreate"), id: CONTACT });
  await settle(h);
  const link = await h.service.store.getLink("contact", LOCATION_ID, CONTACT);
  return link!.coopelId!;
}

function ghlTasks(h: Harness) {
  return [...(h.ghl.tasks.get(CONTACT)?.values() ?? [])];
}

async function reasonsOf(h: Harness, type: string): Promise<string[]> {
  const events = await h.service.store.listEvents({ limit: 200 });
  return events
    .filter((e) => e.type === type)
    .map((e) => String(e.reason))
    .reverse();
}

describe("Coopel tasks to GHL", () => {
  it("create, complete and delete reach GHL", async () => {
    const h = await start("coopel_to_ghl");
    const contactId = await linkedContact(h);
    const task = h.coopel.userCreateTask(contactId, {
      title: "Send the quote",
      body: "By email",
      due_date: "2026-04-01T09:00:00Z",
    });
    await settle(h);
    const [created] = ghlTasks(h);
    expect(created).toMatchObject({
      title: "Send the quote",
      body: "By email",
      dueDate: "2026-04-01T09:00:00.000Z",
      completed: false,
    });

    const response = await fetch(
      `${h.coopel.url}/contacts/${contactId}/tasks/${task.id}/completed`,
      {
        method: "PUT",
        headers: {
          authorization: "Bearer test-coopel-token",
          "content-type": "application/json",
        },
        body: JSON.stringify({ completed: true }),
      },
    );
    expect(response.status).toBe(200);
    await settle(h);
    expect(ghlTasks(h)[0]?.completed).toBe(true);
    expect(
      h.ghl.countRequests(
        "PUT",
        "/contacts/:contactId/tasks/:taskId/completed",
      ),
    ).toBe(1);

    h.coopel.userDeleteTask(contactId, task.id);
    await settle(h);
    expect(ghlTasks(h)).toEqual([]);
    const link = await h.service.twoWay.getLinkByCoopelId(
      "task",
      "default",
      task.id,
    );
    expect(link?.deletedAt).not.toBeNull();
  });

  it("a task created with its contact follows it", async () => {
    const h = await start("coopel_to_ghl", "two_way");
    const contact = h.coopel.userCreateContact({
      first_name: "New",
      email: "new@example.com",
    });
    h.coopel.userCreateTask(contact.id, { title: "Welcome call" });
    await settle(h);
    const link = await h.service.twoWay.getLinkByCoopelId(
      "contact",
      "default",
      contact.id,
    );
    expect(link?.ghlId).toBeTruthy();
    const tasks = [...(h.ghl.tasks.get(link!.ghlId)?.values() ?? [])];
    expect(tasks.map((t) => t.title)).toEqual(["Welcome call"]);
    const events = await h.service.store.listEvents({ limit: 50 });
    expect(events.every((e) => e.attempts <= 1)).toBe(true);
  });

  it("a task of an unlinked contact waits", async () => {
    const h = await start("coopel_to_ghl", "ghl_to_coopel", 2);
    const contact = h.coopel.userCreateContact({ first_name: "Solo" });
    h.coopel.userCreateTask(contact.id, { title: "Waits" });
    await settle(h);
    expect(h.ghl.countRequests("POST", "/contacts/:contactId/tasks")).toBe(0);
    const events = await h.service.store.listEvents({ limit: 50 });
    const event = events.find((e) => e.type === "task.created");
    expect(event?.attempts).toBe(2);
    expect(event?.lastError).toContain(contact.id);
    expect(event?.lastError).toContain("not linked");
  });

  it("a due date made up for GHL is not sent back", async () => {
    const h = await start("two_way");
    const contactId = await linkedContact(h);
    const task = h.coopel.userCreateTask(contactId, { title: "No date" });
    await settle(h);
    const [ghlTask] = ghlTasks(h);
    const dueIn = Date.parse(ghlTask!.dueDate) - Date.parse(task.created_at);
    expect(dueIn).toBe(86_400_000);

    h.coopel.requests.length = 0;
    await h.post({ ...ghlTask, type: "TaskCreate", locationId: LOCATION_ID });
    await settle(h);
    expect(h.coopel.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect(h.coopel.tasks.get(contactId)?.get(task.id)).not.toHaveProperty(
      "due_date",
    );
  });
});

describe("task directions", () => {
  it("ghl_to_coopel ignores Coopel task events", async () => {
    const h = await start("ghl_to_coopel", "two_way");
    const contactId = await linkedContact(h);
    h.coopel.userCreateTask(contactId, { title: "Stays on Coopel" });
    await settle(h);
    expect(h.ghl.countRequests("POST", "/contacts/:contactId/tasks")).toBe(0);
    expect(await reasonsOf(h, "task.created")).toEqual([]);
  });

  it("coopel_to_ghl ignores GHL task events", async () => {
    const h = await start("coopel_to_ghl");
    await linkedContact(h);
    await h.post(fixture("TaskCreate"));
    await settle(h);
    expect(h.coopel.countRequests("POST", "/contacts/:contactId/tasks")).toBe(
      0,
    );
    expect(await reasonsOf(h, "TaskCreate")).toEqual([
      "tasks_not_synced_from_ghl",
    ]);
  });
});
