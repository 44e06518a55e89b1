import { afterEach, describe, expect, it } from "vitest";
import {
  fixture,
  GHL_TOKEN,
  LOCATION_ID,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

const HEALTHY = "healthyLocation000001";
const FAILING = LOCATION_ID;

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

function contactEvent(
  type: "ContactCreate" | "ContactUpdate",
  locationId: string,
  id: string,
  firstName: string,
): Record<string, unknown> {
  return {
    ...fixture(type),
    locationId,
    id,
    email: `${id}@example.com`,
    phone: null,
    firstName,
  };
}

/** Milliseconds from each post to the Coopel write of its first name, for the names written. */
async function postAndMeasure(
  target: Harness,
  events: Record<string, unknown>[],
): Promise<Map<string, number>> {
  const sentAt = new Map<string, number>();
  for (const event of events) {
    sentAt.set(event.firstName as string, Date.now());
    expect((await target.post(event)).status).toBe(200);
  }
  const latencies = new Map<string, number>();
  const deadline = Date.now() + 60_000;
  while (latencies.size < sentAt.size && Date.now() < deadline) {
    for (const request of target.coopel.requests) {
      const name = (request.body as { first_name?: unknown } | undefined)
        ?.first_name;
      if (
        request.method === "PUT" &&
        request.status === 200 &&
        typeof name === "string" &&
        sentAt.has(name)
      )
        latencies.set(name, request.time - sentAt.get(name)!);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return latencies;
}

describe("fair scheduling across accounts", () => {
  it("healthy location keeps its latency", async () => {
    harness = await startHarness(
      {
        ghl: {
          locations: [
            { id: FAILING, token: GHL_TOKEN },
            { id: HEALTHY, token: "healthy-token" },
          ],
        },
        coopel: { timeout_ms: 1000 },
        sync: { coalesce_ms: 0 },
        worker: { concurrency: 4, max_attempts: 20 },
        log: { level: "info", pretty: "never" },
      },
      [{ id: HEALTHY, token: "healthy-token" }],
    );
    const failingIds = Array.from({ length: 40 }, (_, i) => `failing${i}`);
    const healthyIds = Array.from({ length: 10 }, (_, i) => `healthy${i}`);
    for (const id of failingIds)
      await harness.post(contactEvent("ContactCreate", FAILING, id, "v0"));
    for (const id of healthyIds)
      await harness.post(contactEvent("ContactCreate", HEALTHY, id, "v0"));
    await harness.waitForIdle(60_000);

    // The healthy location's latency alone, for comparison.
    const alone = await postAndMeasure(
      harness,
      healthyIds.map((id) =>
        contactEvent("ContactUpdate", HEALTHY, id, `alone-${id}`),
      ),
    );
    expect(alone.size).toBe(healthyIds.length);
    const normalMs = Math.max(...alone.values());

    // Every write to the failing location's contacts now times out.
    const routes: Record<string, { timeoutRate: number; holdMs: number }> = {};
    for (const contact of harness.coopel.contacts.values())
      if (failingIds.includes(contact.external_id as string))
        routes[`PUT /contacts/${contact.id}`] = {
          timeoutRate: 1,
          holdMs: 3000,
        };
    expect(Object.keys(routes)).toHaveLength(failingIds.length);
    harness.coopel.setFaults({ routes });

    for (const id of failingIds)
      await harness.post(
        contactEvent("ContactUpdate", FAILING, id, `stuck-${id}`),
      );
    const shared = await postAndMeasure(
      harness,
      healthyIds.map((id) =>
        contactEvent("ContactUpdate", HEALTHY, id, `shared-${id}`),
      ),
    );
    expect(shared.size).toBe(healthyIds.length);

    // Without fair scheduling, 40 jobs that each hold one of 4 workers for
    // the 1 s timeout kept the healthy jobs waiting for 10 s.
    const worstMs = Math.max(...shared.values());
    expect(worstMs).toBeLessThan(normalMs + 3000);
    expect(
      harness.logLines.some(
        (line) =>
          line.failingAccount === `ghl:${FAILING}` &&
          String(line.msg).includes("one of its jobs at a time"),
      ),
    ).toBe(true);
  }, 120_000);
});
