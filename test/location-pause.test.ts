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

function postForm(h: Harness, pathname: string, form: Record<string, string>) {
  return fetch(`${h.service.url}${pathname}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams(form).toString(),
    redirect: "manual",
  });
}

describe("location pause from the dashboard", () => {
  it("holds the location's events until it is resumed", async () => {
    harness = await startHarness();
    const paused = await postForm(
      harness,
      `/ui/connections/${LOCATION_ID}/pause`,
      { reason: "Coopel maintenance" },
    );
    expect(paused.status).toBe(303);
    const [pause] = await harness.service.store.listLocationPauses();
    expect(pause).toMatchObject({
      locationId: LOCATION_ID,
      reason: "Coopel maintenance",
      pausedBy: "admin token from 127.0.0.1",
    });

    const overview = (await (
      await fetch(`${harness.service.url}/ui/api/overview`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json()) as {
      connections: { id: string; state: string; reason: string }[];
    };
    const location = overview.connections.find((c) => c.id === LOCATION_ID);
    expect(location?.state).toBe("paused");
    expect(location?.reason).toContain("paused by admin token from 127.0.0.1");
    expect(location?.reason).toContain("Coopel maintenance");

    await harness.post(fixture("ContactCreate"));
    const deadline = Date.now() + 15_000;
    while ((await harness.service.queue.listPausedAccounts()).length === 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(harness.coopel.requests).toEqual([]);
    expect(await harness.service.queue.depth()).toBe(1);
    expect(
      harness.logLines.some(
        (l) =>
          String(l.msg).includes(`GHL location ${LOCATION_ID} paused`) &&
          l.pausedBy === "admin token from 127.0.0.1",
      ),
    ).toBe(true);

    const resumed = await postForm(
      harness,
      `/ui/connections/${LOCATION_ID}/resume`,
      {},
    );
    expect(resumed.status).toBe(303);
    await harness.waitForIdle();
    expect(harness.coopel.contacts.size).toBe(1);
    expect(await harness.service.store.listLocationPauses()).toEqual([]);
  });

  it("rejects a pause without a reason or of an unknown location", async () => {
    harness = await startHarness();
    const noReason = await postForm(
      harness,
      `/ui/connections/${LOCATION_ID}/pause`,
      { reason: "  " },
    );
    expect(noReason.status).toBe(400);
    expect(await noReason.text()).toContain("Give a reason");
    const unknown = await postForm(harness, "/ui/connections/nope/pause", {
      reason: "x",
    });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain(
      "GHL location nope is not in ghl.locations",
    );
    expect(await harness.service.store.listLocationPauses()).toEqual([]);
  });

  it("skips the task poll of a paused location", async () => {
    harness = await startHarness({ sync: { tasks: { poll_minutes: 0 } } });
    const poller = harness.service.taskPoller!;
    const searches = () =>
      harness.ghl.countRequests("POST", "/locations/:locationId/tasks/search");
    await postForm(harness, `/ui/connections/${LOCATION_ID}/pause`, {
      reason: "no reads",
    });
    await poller.pollAll();
    expect(searches()).toBe(0);

    await postForm(harness, `/ui/connections/${LOCATION_ID}/resume`, {});
    await poller.pollAll();
    expect(searches()).toBe(1);
  });
});
