import { afterEach, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  fixture,
  LOCATION_ID,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

const TASK_CONTACT = "CWBf1PR9LvvBkcYqiXlc";

/** Creates in the GHL sandbox the contact that the official task and note examples belong to. */
function seedGhlContact(h: Harness, id = TASK_CONTACT) {
  return h.ghl.userCreateContact(
    LOCATION_ID,
    {
      firstName: "Task",
      lastName: "Owner",
      email: `${id.toLowerCase()}@example.com`,
    },
    { id },
  );
}

function coopelTasks(h: Harness) {
  return [...h.coopel.tasks.values()].flatMap((byId) => [...byId.values()]);
}

function coopelNotes(h: Harness) {
  return [...h.coopel.notes.values()].flatMap((byId) => [...byId.values()]);
}

function coopelWrites(h: Harness, pattern: RegExp) {
  return h.coopel.requests.filter(
    (r) => r.method !== "GET" && pattern.test(r.path),
  );
}

function without(record: Record<string, unknown>, key: string) {
  const copy = { ...record };
  delete copy[key];
  return copy;
}

async function send(h: Harness, payload: Record<string, unknown>) {
  const response = await h.post(payload);
  expect(response.status).toBe(200);
  await h.waitForIdle();
}

describe("official task examples", () => {
  it("TaskCreate syncs the contact first, then creates the task", async () => {
    harness = await startHarness();
    seedGhlContact(harness);
    await send(harness, fixture("TaskCreate"));

    const contacts = [...harness.coopel.contacts.values()];
    expect(contacts).toHaveLength(1);
    expect(contacts[0]!.external_id).toBe(TASK_CONTACT);
    const tasks = coopelTasks(harness);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      contact_id: contacts[0]!.id,
      title: "Loram ipsum",
      body: "Loram ipsum",
      assigned_to: "63e4qiWDsFJjOYAC8phG",
      due_date: "2021-11-26T12:41:02.193Z",
    });
    const link = await harness.service.store.getLink(
      "task",
      LOCATION_ID,
      "UlRWGLSXh0ji5qbiGu4i",
    );
    expect(link?.coopelId).toBe(tasks[0]!.id);
    expect(link?.parentGhlId).toBe(TASK_CONTACT);
  });

  it("TaskComplete completes the linked task and nothing else", async () => {
    harness = await startHarness();
    seedGhlContact(harness, "WFwVrSSjZ2CNHbZThQX2");
    const complete = fixture("TaskComplete");
    await send(harness, { ...complete, type: "TaskCreate" });
    const before = coopelWrites(harness, /tasks/).length;
    await send(harness, complete);

    const writes = coopelWrites(harness, /tasks/).slice(before);
    expect(writes.map((w) => `${w.method} ${w.route}`)).toEqual([
      "PUT /contacts/:contactId/tasks/:taskId/completed",
    ]);
    expect(writes[0]!.body).toEqual({ completed: true });
    expect(coopelTasks(harness)[0]!.completed).toBe(true);

    await send(harness, { ...complete, webhookId: "again" });
    expect(coopelWrites(harness, /tasks/).slice(before)).toHaveLength(1);
  });

  it("TaskDelete deletes the Coopel task; a late TaskCreate does not revive it", async () => {
    harness = await startHarness();
    seedGhlContact(harness);
    await send(harness, fixture("TaskCreate"));
    await send(harness, fixture("TaskDelete"));
    expect(coopelTasks(harness)).toHaveLength(0);
    await send(harness, { ...fixture("TaskCreate"), webhookId: "late" });
    expect(coopelTasks(harness)).toHaveLength(0);
    expect(coopelWrites(harness, /tasks/).map((w) => w.method)).toEqual([
      "POST",
      "DELETE",
    ]);
  });

  it("TaskCreate without contactId and body is completed from GHL", async () => {
    harness = await startHarness();
    seedGhlContact(harness);
    harness.ghl.tasks.set(
      TASK_CONTACT,
      new Map([
        [
          "taskNoContact1",
          {
            id: "taskNoContact1",
            contactId: TASK_CONTACT,
            title: "Call back",
            body: "Ask about the renewal",
            dueDate: "2026-03-05T23:00:00.000Z",
            completed: false,
          },
        ],
      ]),
    );
    await send(harness, {
      type: "TaskCreate",
      locationId: LOCATION_ID,
      id: "taskNoContact1",
      title: "Call back",
      dateAdded: "2026-03-01T10:00:00.000Z",
    });

    expect(
      harness.ghl.countRequests("POST", "/locations/:locationId/tasks/search"),
    ).toBe(1);
    const tasks = coopelTasks(harness);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      title: "Call back",
      body: "Ask about the renewal",
      completed: false,
      due_date: "2026-03-05T23:00:00.000Z",
    });
  });

  it("TaskCreate whose task GHL cannot find is retried, not written", async () => {
    harness = await startHarness({
      worker: {
        concurrency: 2,
        poll_ms: 20,
        retry_base_ms: 10,
        retry_max_ms: 20,
        max_attempts: 2,
      },
    });
    await send(harness, {
      type: "TaskCreate",
      locationId: LOCATION_ID,
      id: "ghostTask",
      title: "Nobody's",
    });
    expect(coopelTasks(harness)).toHaveLength(0);
    expect(harness.coopel.contacts.size).toBe(0);
    expect(
      harness.ghl.countRequests("POST", "/locations/:locationId/tasks/search"),
    ).toBe(2);
    const stats = await harness.service.store.eventStats(0);
    expect(stats.failed).toBe(1);
  });
});

describe("task poll", () => {
  it("finds an edit, a reassignment-free reopen and a lost TaskCreate; an unchanged task sends nothing", async () => {
    harness = await startHarness({ sync: { tasks: { poll_minutes: 0 } } });
    seedGhlContact(harness);
    await send(harness, fixture("TaskCreate"));
    const poller = harness.service.taskPoller!;
    harness.ghl.tasks.set(
      TASK_CONTACT,
      new Map([
        [
          "UlRWGLSXh0ji5qbiGu4i",
          {
            id: "UlRWGLSXh0ji5qbiGu4i",
            contactId: TASK_CONTACT,
            title: "Loram ipsum",
            body: "Loram ipsum",
            assignedTo: "63e4qiWDsFJjOYAC8phG",
            dueDate: "2021-11-26T12:41:02.193Z",
            completed: false,
          },
        ],
      ]),
    );
    const baseline = coopelWrites(harness, /tasks/).length;
    expect(await poller.pollOnce(LOCATION_ID)).toBe(1);
    await harness.waitForIdle();
    expect(coopelWrites(harness, /tasks/).length).toBe(baseline);

    const task = harness.ghl.tasks
      .get(TASK_CONTACT)!
      .get("UlRWGLSXh0ji5qbiGu4i")!;
    task.title = "Edited in GHL";
    expect(await poller.pollOnce(LOCATION_ID)).toBe(1);
    await harness.waitForIdle();
    const edits = coopelWrites(harness, /tasks/).slice(baseline);
    expect(edits.map((w) => w.method)).toEqual(["PUT"]);
    expect(edits[0]!.body).toEqual({ title: "Edited in GHL" });
    expect(coopelTasks(harness)[0]!.title).toBe("Edited in GHL");

    expect(await poller.pollOnce(LOCATION_ID)).toBe(0);

    task.completed = true;
    await poller.pollOnce(LOCATION_ID);
    await harness.waitForIdle();
    task.completed = false;
    await poller.pollOnce(LOCATION_ID);
    await harness.waitForIdle();
    expect(coopelTasks(harness)[0]!.completed).toBe(false);
    const completions = coopelWrites(harness, /completed$/).map((w) => w.body);
    expect(completions).toEqual([{ completed: true }, { completed: false }]);

    harness.ghl.tasks.get(TASK_CONTACT)!.set("lostWebhookTask1", {
      id: "lostWebhookTask1",
      contactId: TASK_CONTACT,
      title: "Created while webhooks were lost",
      dueDate: "2026-01-01T00:00:00.000Z",
      completed: false,
    });
    expect(await poller.pollOnce(LOCATION_ID)).toBe(1);
    await harness.waitForIdle();
    expect(
      coopelTasks(harness)
        .map((t) => t.title)
        .sort(),
    ).toEqual(["Created while webhooks were lost", "Edited in GHL"]);
  });
});

describe("task due dates", () => {
  it("a task without dueDate gets no due date, and a later event does not clear Coopel's", async () => {
    harness = await startHarness();
    seedGhlContact(harness);
    const withoutDue = without(fixture("TaskCreate"), "dueDate");
    await send(harness, withoutDue);
    const post = coopelWrites(harness, /tasks$/)[0]!;
    expect(post.body).not.toHaveProperty("due_date");

    // Coopel fills in its own due date, as some CRMs do.
    const task = coopelTasks(harness)[0]!;
    task.due_date = task.created_at;
    await send(harness, { ...withoutDue, type: "TaskComplete" });
    const writes = coopelWrites(harness, /tasks/);
    expect(writes.map((w) => w.route)).toEqual([
      "/contacts/:contactId/tasks",
      "/contacts/:contactId/tasks/:taskId/completed",
    ]);
    expect(coopelTasks(harness)[0]!.due_date).toBe(task.created_at);
  });

  it("missing_due_date created_plus_days sends the creation time plus the days", async () => {
    harness = await startHarness({
      sync: {
        tasks: { missing_due_date: "created_plus_days", due_in_days: 2 },
      },
    });
    seedGhlContact(harness);
    const withoutDue = without(fixture("TaskCreate"), "dueDate");
    await send(harness, withoutDue);
    expect(coopelTasks(harness)[0]!.due_date).toBe("2021-11-28T12:41:02.193Z");
  });

  it("a due date without offset is read in the location's time zone", async () => {
    harness = await startHarness({
      ghl: {
        locations: [
          {
            id: LOCATION_ID,
            token: "test-location-token",
            time_zone: "America/Chicago",
          },
        ],
      },
    });
    seedGhlContact(harness);
    await send(harness, {
      ...fixture("TaskCreate"),
      dueDate: "2026-03-05T17:00:00",
    });
    expect(coopelTasks(harness)[0]!.due_date).toBe("2026-03-05T23:00:00.000Z");
  });
});

describe("tasks of unsynced locations", () => {
  it("TaskCreate from a location that syncs contacts but not tasks is ignored without API calls", async () => {
    harness = await startHarness({
      ghl: {
        locations: [
          {
            id: LOCATION_ID,
            token: "test-location-token",
            entities: ["contacts", "tags", "notes"],
          },
        ],
      },
    });
    seedGhlContact(harness);
    const started = Date.now();
    const response = await harness.post(fixture("TaskCreate"));
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
    await harness.waitForIdle();
    expect(harness.ghl.requests).toHaveLength(0);
    expect(harness.coopel.requests).toHaveLength(0);
    const stats = await harness.service.store.eventStats(0);
    expect(stats.ignored).toBe(1);
    const metrics = await (
      await fetch(`${harness.service.url}/metrics`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).text();
    expect(metrics).toMatch(/outcome="ignored"/);
  });
});

describe("official note examples", () => {
  it("NoteCreate, NoteUpdate and NoteDelete map to Coopel notes", async () => {
    harness = await startHarness();
    seedGhlContact(harness);
    await send(harness, fixture("NoteCreate"));
    expect(coopelNotes(harness)).toHaveLength(1);
    expect(coopelNotes(harness)[0]!.body).toBe("Loram ipsum");

    await send(harness, { ...fixture("NoteUpdate"), body: "Changed text" });
    expect(coopelNotes(harness)[0]!.body).toBe("Changed text");
    await send(harness, {
      ...fixture("NoteUpdate"),
      webhookId: "same",
      body: "Changed text",
    });

    await send(harness, fixture("NoteDelete"));
    expect(coopelNotes(harness)).toHaveLength(0);
    expect(
      coopelWrites(harness, /notes/).map((w) => `${w.method} ${w.route}`),
    ).toEqual([
      "POST /contacts/:contactId/notes",
      "PUT /contacts/:contactId/notes/:id",
      "DELETE /contacts/:contactId/notes/:id",
    ]);
  });

  it("a 10 kB note body with emoji and CJK arrives byte for byte", async () => {
    harness = await startHarness();
    seedGhlContact(harness);
    const unit = "Grüße 👋🏽 こんにちは 世界 — ünïcødé\r\nline\ttab 🇩🇪\n";
    let body = "";
    while (Buffer.byteLength(body) < 10_240) body += unit;
    await send(harness, { ...fixture("NoteCreate"), body });
    const stored = coopelNotes(harness)[0]!.body;
    expect(Buffer.from(stored).equals(Buffer.from(body))).toBe(true);
  });

  it("a NoteUpdate without body changes nothing", async () => {
    harness = await startHarness();
    seedGhlContact(harness);
    await send(harness, fixture("NoteCreate"));
    const noBody = without(fixture("NoteUpdate"), "body");
    await send(harness, noBody);
    expect(coopelWrites(harness, /notes/)).toHaveLength(1);
    expect(coopelNotes(harness)[0]!.body).toBe("Loram ipsum");
  });

  it("with the note routes set to null, note events count as unsupported", async () => {
    harness = await startHarness({
      coopel: {
        routes: { create_note: null, update_note: null, delete_note: null },
      },
    });
    seedGhlContact(harness);
    await send(harness, fixture("NoteCreate"));
    await send(harness, fixture("NoteDelete"));
    expect(harness.coopel.requests).toHaveLength(0);
    const stats = await harness.service.store.eventStats(0);
    expect(stats.unsupported).toBe(2);
    expect(stats.ignored).toBe(0);
    expect(stats.failed).toBe(0);
    expect(
      harness.logLines.some((line) =>
        String(line.msg).includes("create_note, update_note, delete_note"),
      ),
    ).toBe(true);
  });
});
