import { afterEach, describe, expect, it } from "vitest";
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

const isWrite = (method: string): boolean =>
  method === "POST" || method === "PUT" || method === "DELETE";

describe("dry_run in config", () => {
  it("plans the writes of webhooks and sends none", async () => {
    harness = await startHarness({ dry_run: true });
    const h = harness;
    const create: Record<string, unknown> = {
      ...fixture("ContactCreate"),
      locationId: LOCATION_ID,
    };
    const update = {
      ...fixture("ContactUpdate"),
      locationId: LOCATION_ID,
      id: create.id,
      firstName: "Changed",
    };
    expect((await h.post(create)).status).toBe(200);
    expect((await h.post(update)).status).toBe(200);
    await h.waitForIdle();

    expect(h.coopel.requests.filter((r) => isWrite(r.method))).toEqual([]);
    expect(
      h.ghl.requests.filter(
        (r) => isWrite(r.method) && r.path !== "/contacts/search",
      ),
    ).toEqual([]);
    expect(h.coopel.contacts.size).toBe(0);
    expect(await h.service.store.listLinks("contact", LOCATION_ID)).toEqual([]);
    const planned = h.logLines.filter(
      (line) => line.dryRun === true && line.operation === "create_contact",
    );
    expect(planned.length).toBeGreaterThanOrEqual(1);
    const events = await h.service.store.listEvents({ limit: 10 });
    expect(events.map((e) => e.reason)).toEqual(["dry_run", "dry_run"]);
    expect(
      h.logLines.some((line) => String(line.msg).startsWith("dry_run is on")),
    ).toBe(true);
  });
});
