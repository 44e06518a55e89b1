import { generateKeyPairSync, sign } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN,
  fixture,
  LOCATION_ID,
  signatureHeaders,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

async function postRaw(
  h: Harness,
  raw: string,
  headers: Record<string, string>,
): Promise<Response> {
  return fetch(`${h.service.url}/webhooks/ghl`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: raw,
  });
}

function metric(text: string, type: string, result: string): number {
  const line = text
    .split("\n")
    .find((l) =>
      l.startsWith(
        `ghl_coopel_sync_webhooks_total{type="${type}",result="${result}"}`,
      ),
    );
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("webhook signatures over HTTP", () => {
  it("accepts Ed25519, RSA and compact-JSON signatures", async () => {
    harness = await startHarness({ worker: { enabled: false } });
    const spaced = JSON.stringify(
      { ...fixture("ContactCreate"), id: "sig-3" },
      null,
      2,
    );
    const compact = JSON.stringify(JSON.parse(spaced));
    expect(
      (
        await harness.post(
          { ...fixture("ContactCreate"), id: "sig-1" },
          { signWith: "ed25519" },
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await harness.post(
          { ...fixture("ContactCreate"), id: "sig-2" },
          { signWith: "rsa" },
        )
      ).status,
    ).toBe(200);
    expect(
      (await postRaw(harness, spaced, signatureHeaders(compact, "ed25519")))
        .status,
    ).toBe(200);
    expect(await harness.service.queue.depth()).toBe(3);
  });

  it("rejects changed, foreign, missing and N/A signatures with 401", async () => {
    harness = await startHarness({ worker: { enabled: false } });
    const raw = JSON.stringify(fixture("ContactCreate"));
    const changed = raw.replace("John", "Jane");
    const foreign = generateKeyPairSync("ed25519");
    const foreignSignature = sign(
      null,
      Buffer.from(raw),
      foreign.privateKey,
    ).toString("base64");

    const answers = [
      await postRaw(harness, changed, signatureHeaders(raw, "ed25519")),
      await postRaw(harness, changed, signatureHeaders(raw, "rsa")),
      await postRaw(harness, raw, { "x-ghl-signature": foreignSignature }),
      await postRaw(harness, raw, {}),
      await postRaw(harness, raw, {
        "x-ghl-signature": "N/A",
        "x-wh-signature": "N/A",
      }),
      await postRaw(harness, raw, { "x-ghl-signature": "" }),
    ];
    expect(answers.map((a) => a.status)).toEqual([
      401, 401, 401, 401, 401, 401,
    ]);
    expect(await harness.service.queue.depth()).toBe(0);
    const metrics = await (
      await fetch(`${harness.service.url}/metrics`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).text();
    expect(metric(metrics, "ContactCreate", "rejected_signature_invalid")).toBe(
      3,
    );
    expect(metric(metrics, "ContactCreate", "rejected_signature_missing")).toBe(
      3,
    );
  });
});

describe("webhook input handling", () => {
  it("answers 400 to malformed JSON and to a non-object", async () => {
    harness = await startHarness({ worker: { enabled: false } });
    const malformed = '{"type": "ContactCreate",';
    expect(
      (
        await postRaw(
          harness,
          malformed,
          signatureHeaders(malformed, "ed25519"),
        )
      ).status,
    ).toBe(400);
    expect(
      (await postRaw(harness, "[1,2]", signatureHeaders("[1,2]", "ed25519")))
        .status,
    ).toBe(400);
    expect(await harness.service.queue.depth()).toBe(0);
  });

  it("answers 413 to a body over the limit", async () => {
    harness = await startHarness({
      worker: { enabled: false },
      server: { port: 0, body_limit_bytes: 2048 },
    });
    const big = JSON.stringify({
      ...fixture("ContactCreate"),
      notes: "x".repeat(4096),
    });
    const response = await postRaw(
      harness,
      big,
      signatureHeaders(big, "ed25519"),
    );
    expect(response.status).toBe(413);
    expect(await harness.service.queue.depth()).toBe(0);
  });

  it("ignores event types the config does not sync", async () => {
    harness = await startHarness({ sync: { contacts: { enabled: false } } });
    const response = await harness.post(fixture("ContactDndUpdate"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: "ignored",
      reason: "event type not synced",
    });
    expect(await harness.service.queue.depth()).toBe(0);
    const metrics = await (
      await fetch(`${harness.service.url}/metrics`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).text();
    expect(metric(metrics, "ContactDndUpdate", "ignored_type")).toBe(1);
  });

  it("ignores unknown locations and logs them once", async () => {
    harness = await startHarness();
    for (let i = 0; i < 5; i++) {
      const response = await harness.post({
        ...fixture("ContactCreate"),
        locationId: "never-seen",
        id: `u${i}`,
      });
      expect(response.status).toBe(200);
    }
    await harness.waitForIdle();
    expect(harness.coopel.requests).toHaveLength(0);
    const warnings = harness.logLines.filter(
      (l) => l.locationId === "never-seen",
    );
    expect(warnings).toHaveLength(1);
  });

  it("ignores a paused location without calling Coopel", async () => {
    harness = await startHarness({
      ghl: { locations: [{ id: LOCATION_ID, token: "t", paused: true }] },
    });
    const response = await harness.post(fixture("ContactUpdate"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: "ignored",
      reason: "location paused",
    });
    await harness.waitForIdle();
    expect(harness.coopel.requests).toHaveLength(0);
  });
});
