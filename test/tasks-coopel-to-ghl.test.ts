import { afterEach, describe, expect, it } from "vitest";
import {
  linkTaskContact,
  postTaskWithoutDueDate,
  settleCoopel,
  startTaskSync,
  TASK_CONTACT,
} from "./helpers/coopel-tasks.js";
import { fixture, LOCATION_ID, type Harness } from "./helpers/harness.js";

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
  harness = await startTaskSync(tasks, {
    sync: { contacts: { direction: contacts } },
    mapping: { default_country: "US" },
    worker: { max_attempts: maxAttempts },
  });
  return harness;
}

function ghlTasks(h: Harness) {
  return [...(h.ghl.tasks.get(TASK_CONTACT)?.values() ?? [])];
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
    const contactId = await linkTaskContact(h);
    const task = h.coopel.userCreateTask(contactId, {
      title: "Send the quote",
      body: "By email",
      due_date: "2026-04-01T09:00:00Z",
      assigned_to: null,
    });
    await settleCoopel(h);
    const post = h.ghl.requests.find(
      (r) => r.method === "POST" && r.route === "/contacts/:contactId/tasks",
    );
    expect(post?.body).not.toHaveProperty("assignedTo");
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
    await settleCoopel(h);
    expect(ghlTasks(h)[0]?.completed).toBe(true);
    expect(
      h.ghl.countRequests(
        "PUT",
        "/contacts/:contactId/tasks/:taskId/completed",
      ),
    ).toBe(1);

    h.coopel.userDeleteTask(contactId, task.id);
    await settleCoopel(h);
    expect(ghlTasks(h)).toEqual([]);
    const link = await h.service.twoWay.getLinkByCoopelId(
      "task",
      "default",
      task.id,
    );
    expect(link?.deletedAt).not.toBeNull();
  });

  it("task follows its new contact", async () => {
    const h = await start("coopel_to_ghl", "two_way");
    const contact = h.coopel.userCreateContact({
      first_name: "New",
      email: "new@example.com",
    });
    h.coopel.userCreateTask(contact.id, { title: "Welcome call" });
    await settleCoopel(h);
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

  it("links a matching GHL task", async () => {
    const h = await start("coopel_to_ghl");
    const contactId = await linkTaskContact(h);
    const existing = {
      id: "existingGhlTask1",
      contactId: TASK_CONTACT,
      title: "Already on GHL",
      dueDate: "2026-04-01T09:00:00.000Z",
      completed: false,
    };
    h.ghl.tasks.set(TASK_CONTACT, new Map([[existing.id, existing]]));
    const task = h.coopel.userCreateTask(contactId, {
      title: "Already on GHL",
      due_date: "2026-04-01T09:00:00Z",
    });
    await settleCoopel(h);
    expect(h.ghl.countRequests("POST", "/contacts/:contactId/tasks")).toBe(0);
    expect(ghlTasks(h)).toHaveLength(1);
    const link = await h.service.twoWay.getLinkByCoopelId(
      "task",
      "default",
      task.id,
    );
    expect(link?.ghlId).toBe(existing.id);
    expect(await reasonsOf(h, "task.created")).toEqual(["linked_existing"]);
  });

  it("unlinked contact's task waits", async () => {
    const h = await start("coopel_to_ghl", "ghl_to_coopel", 2);
    const contact = h.coopel.userCreateContact({ first_name: "Solo" });
    h.coopel.userCreateTask(contact.id, { title: "Waits" });
    await settleCoopel(h);
    expect(h.ghl.countRequests("POST", "/contacts/:contactId/tasks")).toBe(0);
    const events = await h.service.store.listEvents({ limit: 50 });
    const event = events.find((e) => e.type === "task.created");
    expect(event?.attempts).toBe(2);
    expect(event?.lastError).toContain(contact.id);
    expect(event?.lastError).toContain("not linked");
  });

  it("made-up GHL due date stays", async () => {
    const h = await start("two_way");
    const contactId = await linkTaskContact(h);
    const task = h.coopel.userCreateTask(contactId, { title: "No date" });
    await settleCoopel(h);
    const [ghlTask] = ghlTasks(h);
    const dueIn = Date.parse(ghlTask!.dueDate) - Date.parse(task.created_at);
    expect(dueIn).toBe(86_400_000);

    h.coopel.requests.length = 0;
    await h.post({ ...ghlTask, type: "TaskCreate", locationId: LOCATION_ID });
    await settleCoopel(h);
    expect(h.coopel.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect(h.coopel.tasks.get(contactId)?.get(task.id)).not.toHaveProperty(
      "due_date",
    );
  });
});

describe("Coopel due dates", () => {
  it("later Coopel due date is sent", async () => {
    const h = await start("two_way");
    const contactId = await linkTaskContact(h);
    await postTaskWithoutDueDate(h);
    // This Coopel fills in nothing, so the create's own event records no due date.
    expect(await reasonsOf(h, "task.created")).toEqual(["no_change"]);
    const [task] = h.coopel.tasks.get(contactId)!.values();
    expect(task).not.toHaveProperty("due_date");

    h.coopel.userUpdateTask(contactId, task!.id, {
      due_date: "2026-05-01T08:00:00Z",
    });
    await settleCoopel(h);
    const puts = h.ghl.requests.filter(
      (r) =>
        r.method === "PUT" && r.route === "/contacts/:contactId/tasks/:taskId",
    );
    expect(puts.map((r) => r.body)).toEqual([
      { dueDate: "2026-05-01T08:00:00.000Z" },
    ]);
  });
});

describe("task directions", () => {
  it("ghl_to_coopel ignores Coopel task events", async () => {
    const h = await start("ghl_to_coopel", "two_way");
    const contactId = await linkTaskContact(h);
    h.coopel.userCreateTask(contactId, { title: "Stays on Coopel" });
    await settleCoopel(h);
    expect(h.ghl.countRequests("POST", "/contacts/:contactId/tasks")).toBe(0);
    expect(await reasonsOf(h, "task.created")).toEqual([]);
  });

  it("coopel_to_ghl ignores GHL task events", async () => {
    const h = await start("coopel_to_ghl");
    await linkTaskContact(h);
    await h.post(fixture("TaskCreate"));
    await settleCoopel(h);
    expect(h.coopel.countRequests("POST", "/contacts/:contactId/tasks")).toBe(
      0,
    );
    expect(await reasonsOf(h, "TaskCreate")).toEqual([
      "tasks_not_synced_from_ghl",
    ]);
  });
});
