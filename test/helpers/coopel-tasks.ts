import type { CoopelSandboxOptions } from "../../src/sandbox/coopel-sandbox.js";
import type { GhlTask } from "../../src/sandbox/ghl-store.js";
import {
  fixture,
  LOCATION_ID,
  startHarness,
  type Harness,
  type TestOverrides,
} from "./harness.js";

/** Shared secret of the Coopel webhooks in task tests. */
export const COOPEL_SECRET = "coopel-webhook-secret-0123456789";
/** The GHL contact of the official task examples. */
export const TASK_CONTACT = "CWBf1PR9LvvBkcYqiXlc";

/** Starts a service with tasks in `direction` and a Coopel sandbox that sends its webhooks to it. */
export async function startTaskSync(
  direction: "ghl_to_coopel" | "coopel_to_ghl" | "two_way",
  overrides: TestOverrides = {},
  sandbox: Partial<CoopelSandboxOptions> = {},
): Promise<Harness> {
  const h = await startHarness(
    {
      ...overrides,
      sync: {
        ...overrides.sync,
        tasks: { ...overrides.sync?.tasks, direction },
      },
      coopel: { webhooks: { secret: COOPEL_SECRET } },
    },
    sandbox,
  );
  h.coopel.setWebhookTarget({
    url: `${h.service.url}/webhooks/coopel`,
    secret: COOPEL_SECRET,
  });
  return h;
}

/** Waits until the Coopel sandbox has sent its webhooks and the queue is empty, twice in a row. */
export async function settleCoopel(h: Harness): Promise<void> {
  for (let round = 0; round < 2; round += 1) {
    await h.coopel.flushWebhooks();
    await h.waitForIdle(30_000);
  }
}

/** Syncs the GHL contact of the task examples to Coopel through its ContactCreate; returns the Coopel id. */
export async function linkTaskContact(h: Harness): Promise<string> {
  h.ghl.userCreateContact(
    LOCATION_ID,
    { firstName: "Task", email: "task-owner@example.com" },
    { id: TASK_CONTACT },
  );
  await h.post({ ...fixture("ContactCreate"), id: TASK_CONTACT });
  await settleCoopel(h);
  const link = await h.service.store.getLink(
    "contact",
    LOCATION_ID,
    TASK_CONTACT,
  );
  if (!link?.coopelId)
    throw new Error(`GHL contact ${TASK_CONTACT} was not linked to Coopel`);
  return link.coopelId;
}

/**
 * Puts the official example task, without its due date, into the GHL
 * sandbox and sends its TaskCreate without `dueDate`; returns the task.
 */
export async function postTaskWithoutDueDate(h: Harness): Promise<GhlTask> {
  const payload = { ...fixture("TaskCreate") };
  delete payload.dueDate;
  // The event carries no dueDate, so the task GHL returns on a read has none either.
  const task = {
    id: String(payload.id),
    contactId: TASK_CONTACT,
    title: String(payload.title),
    body: String(payload.body),
    completed: false,
  } as GhlTask;
  h.ghl.tasks.set(TASK_CONTACT, new Map([[task.id, task]]));
  const response = await h.post(payload);
  if (response.status !== 200)
    throw new Error(
      `TaskCreate webhook got status ${response.status}, expected 200`,
    );
  await settleCoopel(h);
  return task;
}
