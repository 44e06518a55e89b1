import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  linkTaskContact,
  settleCoopel,
  startTaskSync,
  TASK_CONTACT,
} from "./helpers/coopel-tasks.js";
import {
  GHL_TOKEN,
  LOCATION_ID,
  startHarness,
  type Harness,
} from "./helpers/harness.js";
import { createTestDatabase, type TestDatabase } from "./helpers/postgres.js";

const SECRET = "coopel-webhook-secret-0123456789";
let database: TestDatabase;
let harness: Harness | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});
afterAll(async () => {
  await database?.drop();
});

describe("two-way sync on PostgreSQL", () => {
  it("creates, updates and drops echoes", async () => {
    const h = await startHarness({
      store: { url: database.url },
      sync: { contacts: { direction: "two_way" } },
      coopel: { webhooks: { secret: SECRET } },
    });
    harness = h;
    h.coopel.setWebhookTarget({
      url: `${h.service.url}/webhooks/coopel`,
      secret: SECRET,
    });
    h.ghl.setApiWriteWebhooks(`${h.service.url}/webhooks/ghl`);
    const settle = async () => {
      for (let round = 0; round < 2; round += 1) {
        await h.coopel.flushWebhooks();
        await h.ghl.flushApiWriteWebhooks();
        await h.waitForIdle(30_000);
      }
    };

    const coopel = h.coopel.userCreateContact({
      first_name: "Pg",
      email: "pg@example.com",
    });
    await settle();
    const [ghl] = [...h.ghl.contacts.get(LOCATION_ID)!.values()];
    expect(ghl?.firstName).toBe("Pg");

    h.coopel.userUpdateContact(coopel.id, { first_name: "Pg2" });
    await settle();
    expect(h.ghl.contacts.get(LOCATION_ID)!.get(ghl!.id)?.firstName).toBe(
      "Pg2",
    );
    expect(h.coopel.countRequests("PUT", "/contacts/:contactId")).toBe(0);
    const events = await h.service.store.listEvents({ limit: 100 });
    expect(events.some((event) => event.reason === "echo")).toBe(true);
    expect(events.filter((event) => event.outcome === "failed")).toEqual([]);
  }, 60_000);
});

describe("Coopel tasks on PostgreSQL", () => {
  it("local due date round trip", async () => {
    const h = await startTaskSync("two_way", {
      store: { url: database.url },
      ghl: {
        locations: [
          { id: LOCATION_ID, token: GHL_TOKEN, time_zone: "America/Chicago" },
        ],
      },
    });
    harness = h;
    const coopelContactId = await linkTaskContact(h);
    const task = h.coopel.userCreateTask(coopelContactId, {
      title: "Call back",
      due_date: "2026-03-05T17:00:00",
    });
    await settleCoopel(h);
    const [ghlTask] = h.ghl.tasks.get(TASK_CONTACT)?.values() ?? [];
    expect(ghlTask?.dueDate).toBe("2026-03-05T23:00:00.000Z");
    const link = await h.service.twoWay.getLinkByCoopelId(
      "task",
      "default",
      task.id,
    );
    expect(link?.ghlId).toBe(ghlTask?.id);

    h.coopel.requests.length = 0;
    await h.post({ ...ghlTask, type: "TaskCreate", locationId: LOCATION_ID });
    await settleCoopel(h);
    expect(h.coopel.requests.filter((r) => r.method !== "GET")).toEqual([]);
  }, 60_000);
});
