import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import { openStorage } from "../src/runtime/service.js";
import {
  fixture,
  LOCATION_ID,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("contact under review", () => {
  it("webhook waits for the review decision", async () => {
    harness = await startHarness();
    const h = harness;
    const bob = h.coopel.userCreateContact({
      first_name: "Bob",
      email: "family@example.org",
    });
    const storage = await openStorage(parseConfig(h.config), h.dir);
    try {
      await storage.syncState.addReviewItems([
        {
          ghlLocationId: LOCATION_ID,
          ghl: {
            id: "alice-ghl-id",
            name: "Alice",
            email: "family@example.org",
            phone: null,
          },
          reason: "email_match_name_and_phone_differ",
          candidates: [
            {
              id: bob.id,
              name: "Bob",
              email: "family@example.org",
              phone: null,
            },
          ],
        },
      ]);
    } finally {
      await storage.queue.close();
      await storage.store.close();
    }

    const update = {
      ...fixture("ContactUpdate"),
      locationId: LOCATION_ID,
      id: "alice-ghl-id",
      firstName: "Alice",
      email: "family@example.org",
    };
    expect((await h.post(update)).status).toBe(200);
    await h.waitForIdle();

    const [event] = await h.service.store.listEvents({ limit: 1 });
    expect(event?.outcome).toBe("skipped");
    expect(event?.reason).toBe("awaiting_review");
    expect(h.coopel.contacts.get(bob.id)).toEqual(bob);
    expect(h.coopel.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });
});
