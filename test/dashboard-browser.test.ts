import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashPassword } from "../src/security/passwords.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";
import {
  launchBrowser,
  seriousViolations,
  watchConsole,
} from "./helpers/browser.js";
import {
  LOCATION_ID,
  fixture,
  startHarness,
  testConfig,
  type Harness,
} from "./helpers/harness.js";

const PASSWORD = "operator-browser-test-password";
const ADMIN_TOKEN = "operator-browser-admin-token-0123456789";
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === "1";
const shotsDir = path.resolve(import.meta.dirname, "../docs/screenshots");

let ghl: GhlSandbox;
let harness: Harness;
let closeBrowser: () => Promise<void>;
let page: Page;
let consoleErrors: string[];
let syncedId: string;
let deadId: string;

async function api(pathname: string): Promise<unknown> {
  const response = await fetch(`${harness.service.url}${pathname}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return response.json();
}

async function open(pathname: string): Promise<void> {
  const response = await page.goto(`${harness.service.url}${pathname}`);
  expect(response?.status(), pathname).toBe(200);
  await page.waitForLoadState("load");
}

async function checkAccessible(name: string): Promise<void> {
  const violations = await seriousViolations(page);
  expect(violations, `axe on ${name}`).toEqual([]);
}

async function screenshot(name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  await page.screenshot({
    path: path.join(shotsDir, `${name}.png`),
    fullPage: true,
  });
}

beforeAll(async () => {
  ghl = await startGhlSandbox({
    locations: [{ id: LOCATION_ID, token: "test-location-token" }],
    logger: false,
  });
  const base = testConfig("/unused", "http://127.0.0.1:1");
  harness = await startHarness({
    ghl: { ...base.ghl, base_url: ghl.url },
    admin: {
      password_hash: await hashPassword(PASSWORD),
      token: ADMIN_TOKEN,
      secure_cookies: false,
    },
  });

  // One contact synced, then changed in GHL without a webhook, so the two sides differ.
  const created = ghl.userCreateContact(LOCATION_ID, {
    firstName: "Ada",
    lastName: "Lovelace",
    email: "ada@example.com",
    phone: "+14155550100",
  });
  syncedId = created.id;
  const response = await harness.post({
    type: "ContactCreate",
    locationId: LOCATION_ID,
    id: created.id,
    firstName: created.firstName,
    lastName: created.lastName,
    email: created.email,
    phone: created.phone,
    webhookId: "browser-synced",
  });
  expect(response.status).toBe(200);
  await harness.waitForIdle();
  ghl.userUpdateContact(LOCATION_ID, syncedId, {
    email: "ada.king@example.com",
  });

  // One event that Coopel refuses for good: a dead letter.
  harness.coopel.setFaults({
    routes: { "POST /contacts/": { errorRate: { 400: 1 } } },
  });
  deadId = "browserDeadContact01";
  await harness.post({
    ...fixture("ContactCreate"),
    id: deadId,
    email: "dead@example.com",
    webhookId: "browser-dead",
  });
  await harness.waitForIdle();
  harness.coopel.setFaults(undefined);
  // The worker records contact counts every 15 minutes; the test records one now.
  await harness.service.store.recordContactCounts(Date.now());

  const launched = await launchBrowser();
  closeBrowser = () => launched.close();
  page = launched.context.pages()[0] ?? (await launched.context.newPage());
  consoleErrors = watchConsole(page);
}, 90_000);

afterAll(async () => {
  await closeBrowser?.();
  await harness?.close();
  await ghl?.close();
});

describe("dashboard in Chromium", () => {
  it("logs in and shows the overview figures the test produced", async () => {
    await page.goto(`${harness.service.url}/ui`);
    await page.waitForURL(/\/ui\/login$/);
    await checkAccessible("login");
    await page.getByLabel("Admin password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.waitForURL(/\/ui$/);

    const overview = (await api("/ui/api/overview")) as {
      last24h: { received: number; synced: number; failed: number };
      deadLetters: number;
    };
    expect(overview.last24h).toMatchObject({
      received: 2,
      synced: 1,
      failed: 1,
    });
    expect(overview.deadLetters).toBe(1);
    await expect
      .poll(() => page.locator('[data-figure="received"]').textContent())
      .toBe("2");
    expect(await page.locator('[data-figure="synced"]').textContent()).toBe(
      "1",
    );
    expect(await page.locator('[data-figure="failed"]').textContent()).toBe(
      "1",
    );
    expect(
      (
        await page.locator('[data-figure="dead-letters"]').textContent()
      )?.trim(),
    ).toBe("1");
    await page.locator("#overview-chart canvas").waitFor();
    await page.locator("#contacts-chart canvas").waitFor();
    expect(
      await page.locator("#contacts-chart").getAttribute("aria-label"),
    ).toContain("1 contact from GHL, 1 of them on Coopel");
    const coopelRequests = (
      await harness.service.store.apiUsage(Date.now() - 86_400_000)
    )
      .filter((u) => u.api === "Coopel")
      .reduce((sum, u) => sum + u.requests, 0);
    expect(coopelRequests).toBeGreaterThan(0);
    expect(
      await page
        .locator('[data-account="default"] [data-figure="requests-today"]')
        .textContent(),
    ).toBe(String(coopelRequests));
    await checkAccessible("overview");
    await screenshot("overview");
    expect(consoleErrors).toEqual([]);
  });

  it("lists events with filters and shows one event with its requests", async () => {
    await open("/ui/events");
    await expect.poll(() => page.locator("tr[data-event-id]").count()).toBe(2);
    await page.getByLabel("Contact").fill(deadId);
    await expect.poll(() => page.locator("tr[data-event-id]").count()).toBe(1);
    await checkAccessible("events");
    await page.locator("tr[data-event-id] a").first().click();
    await page.waitForURL(/\/ui\/events\/\d+$/);
    const text = await page.locator("main").textContent();
    expect(text).toContain("dead letter");
    expect(text).toContain("400");
    expect(text).toContain("/contacts/");
    await checkAccessible("event");
    expect(consoleErrors).toEqual([]);
  });

  it("lists the dead letter with its error", async () => {
    await open("/ui/dead-letters");
    const rows = page.locator("tr[data-event-id]");
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain("400");
    await checkAccessible("dead letters");
    await screenshot("dead-letters");
    expect(consoleErrors).toEqual([]);
  });

  it("shows a contact from both systems with the differing field highlighted", async () => {
    await open("/ui/contacts");
    await page.getByLabel("Search").fill(syncedId);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: `GHL ${syncedId}` }).click();
    await page.waitForURL(
      new RegExp(`/ui/contacts/${LOCATION_ID}/${syncedId}$`),
    );
    const email = page.locator('tr[data-field="email"]');
    expect(await email.getAttribute("class")).toContain("differs");
    expect(await email.textContent()).toContain("ada.king@example.com");
    expect(await email.textContent()).toContain("ada@example.com");
    const first = page.locator('tr[data-field="first_name"]');
    expect(await first.getAttribute("class")).not.toContain("differs");
    expect(await page.locator('[data-figure="differing"]').textContent()).toBe(
      "1",
    );
    await checkAccessible("contact");
    await screenshot("contact");
    expect(consoleErrors).toEqual([]);
  });

  it("previews the mapping of an official example without sending", async () => {
    const before = harness.coopel.requests.length;
    await open("/ui/mapping");
    await page.getByLabel("Official example").selectOption("ContactCreate");
    await page.getByRole("button", { name: "Preview the plan" }).click();
    const plan = page.locator("#plan");
    await expect.poll(() => plan.textContent()).toContain("create_contact");
    const text = (await plan.textContent()) ?? "";
    expect(text).toContain("POST");
    expect(text).toContain("Nothing was sent.");
    expect(harness.coopel.requests.length).toBe(before);
    await checkAccessible("mapping");
    expect(consoleErrors).toEqual([]);
  });

  it("finds a known route in the catalog search", async () => {
    await open("/ui/catalog");
    await page.getByLabel("Search").fill("contacts tags");
    await page.getByLabel("System").selectOption("ghl");
    await expect
      .poll(() => page.locator("table.catalog tbody").textContent())
      .toContain("/contacts/{contactId}/tags");
    const rows = await page.locator("table.catalog tbody tr").count();
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(10);
    await checkAccessible("catalog");
    await open("/ui/connections");
    await checkAccessible("connections");
    expect(consoleErrors).toEqual([]);
  });

  it("pauses and resumes a location after confirmation", async () => {
    await open("/ui/connections");
    const row = page.locator(`tr[data-connection="${LOCATION_ID}"]`);
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });

    await row.getByLabel("Reason").fill("Coopel maintenance window");
    await row.getByRole("button", { name: /^Pause / }).click();
    await expect.poll(() => row.locator(".badge").textContent()).toBe("paused");
    expect(dialogs[0]).toContain(`Pause GHL location ${LOCATION_ID}?`);
    const note = (await row.locator(".pause-note").textContent()) ?? "";
    expect(note).toContain("Paused by admin session from 127.0.0.1 at");
    expect(note).toContain("Coopel maintenance window");
    await checkAccessible("connections with a paused location");

    const writesBefore = harness.coopel.requests.filter(
      (r) => r.method === "PUT",
    ).length;
    const response = await harness.post({
      type: "ContactUpdate",
      locationId: LOCATION_ID,
      id: syncedId,
      firstName: "Augusta",
      webhookId: "browser-while-paused",
    });
    expect(response.status).toBe(200);
    await expect
      .poll(async () =>
        (await harness.service.queue.listPausedAccounts()).map(
          (p) => `${p.accountId} ${p.reason}`,
        ),
      )
      .toEqual([`${LOCATION_ID} paused_by_operator`]);
    expect(await harness.service.queue.depth()).toBe(1);

    await row.getByRole("button", { name: /^Resume / }).click();
    await expect.poll(() => row.locator(".badge").textContent()).toBe("active");
    expect(dialogs[1]).toContain(`Resume GHL location ${LOCATION_ID}?`);
    await harness.waitForIdle();
    const writes = harness.coopel.requests.filter((r) => r.method === "PUT");
    expect(writes.length).toBe(writesBefore + 1);
    expect(writes.at(-1)?.body).toMatchObject({ first_name: "Augusta" });
    expect(await harness.service.store.listLocationPauses()).toEqual([]);
    await checkAccessible("connections after resume");
    expect(consoleErrors).toEqual([]);
  });

  it("lists conflicts and accepts a review item", async () => {
    const conflict = {
      entity: "contact" as const,
      ghlLocationId: LOCATION_ID,
      ghlId: syncedId,
      coopelAccountId: "default",
      coopelId: "coopel-ada",
      field: "email",
      ghlValue: "ada.king@example.com",
      coopelValue: "ada@coopel.example",
      ghlUpdatedAt: Date.parse("2026-03-01T10:00:00Z"),
      coopelUpdatedAt: Date.parse("2026-03-01T10:00:05Z"),
      winner: "coopel" as const,
      rule: "last_writer",
      detectedAt: Date.parse("2026-03-01T10:00:06Z"),
    };
    const { twoWay, syncState } = harness.service;
    expect(await twoWay.addConflict(conflict)).toBe(true);
    expect(
      await twoWay.addConflict({
        ...conflict,
        field: "city",
        ghlValue: "London",
        coopelValue: "Marylebone",
        detectedAt: conflict.detectedAt + 60_000,
      }),
    ).toBe(true);

    // A GHL contact whose email two Coopel contacts share waits for a person.
    const grace = ghl.userCreateContact(LOCATION_ID, {
      firstName: "Grace",
      lastName: "Hopper",
      email: "grace@example.com",
    });
    const chosen = harness.coopel.userCreateContact({
      first_name: "Grace",
      email: "grace@example.com",
    });
    const other = harness.coopel.userCreateContact({
      first_name: "Grace B",
      email: "grace@example.com",
    });
    const [itemId] = await syncState.addReviewItems([
      {
        ghlLocationId: LOCATION_ID,
        ghl: {
          id: grace.id,
          name: "Grace Hopper",
          email: "grace@example.com",
          phone: null,
        },
        reason: "several_email_matches",
        candidates: [
          {
            id: chosen.id,
            name: "Grace",
            email: "grace@example.com",
            phone: null,
          },
          {
            id: other.id,
            name: "Grace B",
            email: "grace@example.com",
            phone: null,
          },
        ],
      },
    ]);

    await open("/ui");
    await page
      .getByRole("navigation", { name: "Sections" })
      .getByRole("link", { name: "Conflicts and review" })
      .click();
    await page.waitForURL(/\/ui\/review$/);
    const rows = page.locator("tr[data-conflict-id]");
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.first().getAttribute("data-field")).toBe("city");
    const email = page.locator('tr[data-field="email"]');
    const emailText = (await email.textContent()) ?? "";
    expect(emailText).toContain("ada.king@example.com");
    expect(emailText).toContain("ada@coopel.example");
    expect(emailText).toContain("2026-03-01 10:00:00 UTC");
    expect(emailText).toContain("2026-03-01 10:00:05 UTC");
    expect(emailText).toContain("Coopel");
    expect(emailText).toContain("last_writer");
    expect(emailText).toContain(syncedId);
    await checkAccessible("conflicts and review");
    await screenshot("review");

    await page.getByLabel("Field").fill("email");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/\/ui\/review\?field=email$/);
    await expect.poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute("data-field")).toBe("email");

    // The pause test's handler would accept the dialog as well, so it goes first.
    page.removeAllListeners("dialog");
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    const item = page.locator(`li[data-review-id="${itemId}"]`);
    await item.getByLabel("Coopel contact").selectOption(chosen.id);
    await item.getByRole("button", { name: `Accept #${itemId}` }).click();
    const outcome = page.locator('[data-outcome="accepted"]');
    await expect.poll(() => outcome.count()).toBe(1);
    expect(dialogs[0]).toContain(`Accept review item #${itemId}?`);
    expect(await outcome.textContent()).toContain(
      `GHL contact ${grace.id} is linked to Coopel contact ${chosen.id}`,
    );
    expect(await item.count()).toBe(0);

    const decided = await syncState.getReviewItem(itemId!);
    expect(decided?.status).toBe("accepted");
    expect(decided?.resolvedCoopelId).toBe(chosen.id);
    const [link] = await syncState.getLinksByCoopelIds("contact", "default", [
      chosen.id,
    ]);
    expect(link?.ghlId).toBe(grace.id);
    expect(harness.coopel.contacts.get(chosen.id)?.external_id).toBe(grace.id);
    expect(harness.coopel.contacts.get(other.id)?.external_id).toBeUndefined();
    await checkAccessible("review after accept");

    // A second decision on the same item is rejected and writes nothing.
    const coopelWrites = harness.coopel.requests.length;
    const again = await fetch(
      `${harness.service.url}/ui/review/${itemId}/reject`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "",
      },
    );
    expect(again.status).toBe(409);
    expect(await again.text()).toContain(
      `review item ${itemId} is already accepted`,
    );
    expect(harness.coopel.requests.length).toBe(coopelWrites);
    expect((await syncState.getReviewItem(itemId!))?.status).toBe("accepted");
    expect(consoleErrors).toEqual([]);
  });

  it("is readable at 390 pixels wide", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const pathname of ["/ui", "/ui/events", "/ui/catalog", "/ui/review"]) {
      await open(pathname);
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      expect(overflow, pathname).toBeLessThanOrEqual(1);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(consoleErrors).toEqual([]);
  });
});
