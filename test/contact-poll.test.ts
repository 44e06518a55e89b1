import { afterEach, describe, expect, it } from "vitest";
import { GhlRestApi } from "../src/connectors/ghl/api.js";
import {
  GhlHttpClient,
  StaticTokenSource,
} from "../src/connectors/ghl/client.js";
import { ContactPoller, pollCursorName } from "../src/engine/contact-poll.js";
import { DailyBudgetTracker } from "../src/ratelimit/daily-remaining.js";
import { openStorage } from "../src/runtime/service.js";
import { parseConfig } from "../src/config/load.js";
import {
  GHL_TOKEN,
  LOCATION_ID,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("contact polling repair", () => {
  it("syncs changes whose webhook was lost, once", async () => {
    harness = await startHarness({
      polling: { contacts_minutes: 600, overlap_ms: 60_000 },
    });
    const h = harness;
    const poller = h.service.contactPoller!;
    expect(poller).not.toBeNull();
    // The first poll starts the cursor and reads nothing.
    expect(await poller.pollOnce(LOCATION_ID)).toBe(0);
    expect(h.ghl.countRequests("POST", "/contacts/search")).toBe(0);

    const lost = h.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Lost",
      email: "lost@example.com",
    });
    expect(await poller.pollOnce(LOCATION_ID)).toBe(1);
    await h.waitForIdle();
    const created = [...h.coopel.contacts.values()].find(
      (c) => c.external_id === lost.id,
    );
    expect(created?.email).toBe("lost@example.com");
    const search = h.ghl.requests.find((r) => r.path === "/contacts/search");
    expect(search?.body).toMatchObject({
      locationId: LOCATION_ID,
      sort: [{ field: "dateUpdated", direction: "asc" }],
      filters: [{ field: "dateUpdated", operator: "range" }],
    });

    // The overlap reads the same version again; it is dropped as a repeat.
    expect(await poller.pollOnce(LOCATION_ID)).toBe(0);
    h.ghl.userUpdateContact(LOCATION_ID, lost.id, { lastName: "Found" });
    expect(await poller.pollOnce(LOCATION_ID)).toBe(1);
    await h.waitForIdle();
    expect(h.coopel.contacts.get(created!.id)!.last_name).toBe("Found");
    expect(h.coopel.countRequests("POST", "/contacts/")).toBe(1);
  });

  it("defers while the location's budget is low", async () => {
    harness = await startHarness();
    const h = harness;
    const config = parseConfig(h.config);
    const storage = await openStorage(config, h.dir);
    try {
      await storage.syncState.saveCursor(
        pollCursorName(LOCATION_ID),
        JSON.stringify({ since: Date.now() }),
      );
      const tracker = new DailyBudgetTracker();
      const ghl = new GhlRestApi(
        new GhlHttpClient({
          baseUrl: h.ghl.url,
          apiVersion: "2021-07-28",
          timeoutMs: 2000,
          tokens: new StaticTokenSource([
            { id: LOCATION_ID, token: GHL_TOKEN },
          ]),
          rateLimiter: tracker,
        }),
      );
      tracker.observe(
        { system: "ghl", accountId: LOCATION_ID },
        new Headers({
          "x-ratelimit-limit-daily": "200000",
          "x-ratelimit-daily-remaining": "10000",
        }),
      );
      expect(tracker.remainingShare(LOCATION_ID)).toBe(0.05);
      const poller = new ContactPoller({
        queue: storage.queue,
        ghl,
        state: storage.syncState,
        logger: {
          info() {},
          warn() {},
          debug() {},
          error() {},
          child() {
            return this;
          },
        },
        locations: () => [{ id: LOCATION_ID, intervalMs: 60_000 }],
        overlapMs: 0,
        pageSize: 100,
        maxPages: 10,
        budgetLow: (id) => (tracker.remainingShare(id) ?? 1) < 0.2,
      });
      expect(await poller.pollOnce(LOCATION_ID)).toBeNull();
      expect(h.ghl.countRequests("POST", "/contacts/search")).toBe(0);
    } finally {
      await storage.queue.close();
      await storage.store.close();
    }
  });
});
