import { createSign, generateKeyPairSync, sign } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  fixture,
  signatureHeaders,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

function contact(overrides: Record<string, unknown> = {}) {
  return {
    ...fixture("ContactCreate"),
    webhookId: "wh-replay-1",
    timestamp: new Date().toISOString(),
    ...overrides,
  };
}

describe("webhook authenticity", () => {
  it("rejects a body changed after signing", async () => {
    harness = await startHarness();
    const signed = JSON.stringify(contact());
    const forged = signed.replace("John", "Mallory");
    const response = await harness.post(null, {
      raw: forged,
      signWith: "none",
      headers: signatureHeaders(signed, "ed25519"),
    });
    expect(response.status).toBe(401);
    expect(harness.coopel.contacts.size).toBe(0);
  });

  it("rejects bodies signed with other keys", async () => {
    harness = await startHarness();
    const raw = JSON.stringify(contact());
    const ed = generateKeyPairSync("ed25519");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const edResponse = await harness.post(null, {
      raw,
      signWith: "none",
      headers: {
        "x-ghl-signature": sign(null, Buffer.from(raw), ed.privateKey).toString(
          "base64",
        ),
      },
    });
    const rsaResponse = await harness.post(null, {
      raw,
      signWith: "none",
      headers: {
        "x-wh-signature": createSign("SHA256")
          .update(raw)
          .sign(rsa.privateKey, "base64"),
      },
    });
    expect(edResponse.status).toBe(401);
    expect(rsaResponse.status).toBe(401);
    expect(await harness.service.queue.depth()).toBe(0);
  });

  it("processes a replayed delivery once", async () => {
    harness = await startHarness();
    const raw = JSON.stringify(contact());
    const first = await harness.post(null, { raw });
    const replay = await harness.post(null, { raw });
    expect(await first.json()).toEqual({ status: "accepted" });
    expect(await replay.json()).toEqual({ status: "duplicate" });
    await harness.waitForIdle();
    expect(harness.coopel.contacts.size).toBe(1);
    expect(harness.coopel.countRequests("POST")).toBe(1);
  });

  it("rejects a replay older than the window", async () => {
    harness = await startHarness();
    const old = await harness.post(
      contact({
        webhookId: "wh-old",
        timestamp: new Date(Date.now() - 4 * 3600_000).toISOString(),
      }),
    );
    expect(old.status).toBe(401);
    expect(((await old.json()) as { error: string }).error).toBe(
      "timestamp_stale",
    );
    expect(await harness.service.queue.depth()).toBe(0);
  });

  it("accepts a retry 70 minutes after the first attempt", async () => {
    harness = await startHarness();
    const response = await harness.post(
      contact({
        webhookId: "wh-retried",
        timestamp: new Date(Date.now() - 70 * 60_000).toISOString(),
      }),
    );
    expect(await response.json()).toEqual({ status: "accepted" });
  });

  it("rejects a future timestamp and logs the clock skew", async () => {
    harness = await startHarness();
    const response = await harness.post(
      contact({
        webhookId: "wh-future",
        timestamp: new Date(Date.now() + 20 * 60_000).toISOString(),
      }),
    );
    expect(response.status).toBe(401);
    const skewLines = harness.logLines.filter(
      (line) => typeof line.skewMs === "number",
    );
    expect(skewLines).toHaveLength(1);
    expect(skewLines[0]!.skewMs as number).toBeGreaterThan(19 * 60_000);
    // A second skewed delivery within 10 minutes logs nothing more.
    await harness.post(
      contact({
        webhookId: "wh-future-2",
        timestamp: new Date(Date.now() + 2 * 60_000).toISOString(),
      }),
    );
    expect(
      harness.logLines.filter((line) => typeof line.skewMs === "number"),
    ).toHaveLength(1);
  });
});
