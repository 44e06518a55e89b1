import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import { CoopelRestClient } from "../src/connectors/coopel/client.js";
import { CoopelPoller } from "../src/engine/coopel-poll.js";
import { LOCATION_ID, startHarness, type Harness } from "./helpers/harness.js";

let harness: Harness | null = null;

afterEach(async () => {
  await harness?.close();
  harness = null;
});

async function startPolling(): Promise<Harness> {
  harness = await startHarness({
    sync: { contacts: { direction: "coopel_to_ghl" } },
    coopel: { polling: { interval_ms: 0, page_size: 2, overlap_ms: 1000 } },
  });
  return harness;
}

/** Creates a Coopel contact whose update time is exactly `updatedAt`. */
function contactAt(h: Harness, email: string, updatedAt: string): string {
  const contact = h.coopel.userCreateContact({ email, first_name: email });
  h.coopel.contacts.get(contact.id)!.updated_at = updatedAt;
  return contact.id;
}

function ghlEmails(h: Harness): string[] {
  return [...(h.ghl.contacts.get(LOCATION_ID)?.values() ?? [])]
    .map((contact) => contact.email ?? "")
    .sort();
}

describe("Coopel polling", () => {
  it("reads records sharing a timestamp across pages and polls", async () => {
    const h = await startPolling();
    const poller = h.service.coopelPoller!;
    const stamp = "2026-03-01T10:00:00.000Z";
    for (const email of ["a@example.com", "b@example.com", "c@example.com"])
      contactAt(h, email, stamp);
    expect(await poller.pollOnce()).toBe(3);
    await h.waitForIdle();
    expect(ghlEmails(h)).toEqual([
      "a@example.com",
      "b@example.com",
      "c@example.com",
    ]);
    const lists = h.coopel.requests.filter(
      (r) => r.method === "GET" && r.route === "/contacts/",
    );
    expect(lists).toHaveLength(2);
    expect(lists[1]?.query.cursor).toBeDefined();
    expect(await h.service.twoWay.getCursor(poller.cursorName)).toBe(
      String(Date.parse(stamp)),
    );

    // A record written later with the same timestamp is still found, and the earlier ones are dropped as repeats.
    contactAt(h, "d@example.com", stamp);
    expect(await poller.pollOnce()).toBe(1);
    await h.waitForIdle();
    expect(ghlEmails(h)).toHaveLength(4);
    expect(h.ghl.countRequests("POST", "/contacts/")).toBe(4);
    const since = h.coopel.requests
      .filter((r) => r.method === "GET" && r.route === "/contacts/")
      .at(-1)?.query.updated_since;
    expect(since).toBe(new Date(Date.parse(stamp) - 1000).toISOString());
  });

  it("keeps the cursor when a page fails", async () => {
    const h = await startPolling();
    const stamp = "2026-03-01T10:00:00.000Z";
    for (const email of ["a@example.com", "b@example.com", "c@example.com"])
      contactAt(h, email, stamp);
    const config = parseConfig(h.config);
    const client = new CoopelRestClient(config.coopel);
    let pages = 0;
    const poller = new CoopelPoller({
      queue: h.service.queue,
      store: h.service.twoWay,
      logger: { ...console, child: () => ({}) } as never,
      accountId: config.coopel.account_id,
      list: async (query, context) => {
        pages += 1;
        if (pages === 2) throw new Error("page 2 failed");
        return client.listContactsPage(query, context);
      },
      intervalMs: 60_000,
      pageSize: 2,
      overlapMs: 1000,
      updatedSinceParam: "updated_since",
      limitParam: "limit",
      cursorParam: "cursor",
      updatedAtField: "updated_at",
    });
    await expect(poller.pollOnce()).rejects.toThrow("page 2 failed");
    expect(await h.service.twoWay.getCursor(poller.cursorName)).toBeNull();
    expect(await poller.pollOnce()).toBe(1);
    expect(await h.service.twoWay.getCursor(poller.cursorName)).toBe(
      String(Date.parse(stamp)),
    );
  });
});
