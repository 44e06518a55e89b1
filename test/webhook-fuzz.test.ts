import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fixture,
  LOCATION_ID,
  signatureHeaders,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

const RUNS = 10_000;
/** Every status the webhook route may answer with, by its contract. */
const SPECIFIED = new Set([200, 400, 401, 413, 415]);

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({
    worker: { enabled: false },
    server: { host: "127.0.0.1", port: 0, body_limit_bytes: 16_384 },
  });
});

afterAll(async () => {
  await harness?.close();
});

const eventType = fc.oneof(
  fc.constantFrom(
    "ContactCreate",
    "ContactUpdate",
    "ContactDelete",
    "ContactTagUpdate",
    "TaskCreate",
    "INSTALL",
    "UNINSTALL",
  ),
  fc.string(),
  fc.anything(),
);
const locationId = fc.oneof(
  fc.constant(LOCATION_ID),
  fc.string(),
  fc.anything(),
);
const timestamp = fc.oneof(
  fc.date({ noInvalidDate: false }).map((d) => {
    try {
      return d.toISOString();
    } catch {
      return "not a date";
    }
  }),
  fc.integer(),
  fc.string(),
  fc.anything(),
);
const event = fc.record(
  {
    type: eventType,
    locationId,
    id: fc.oneof(fc.string(), fc.anything()),
    webhookId: fc.oneof(fc.uuid(), fc.string(), fc.anything()),
    timestamp,
    email: fc.oneof(fc.emailAddress(), fc.anything()),
    tags: fc.oneof(fc.array(fc.string()), fc.anything()),
    customFields: fc.anything(),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { weight: 6, arbitrary: event.map((e) => JSON.stringify(e)) },
  {
    weight: 1,
    arbitrary: fc.constant(JSON.stringify(fixture("ContactCreate"))),
  },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.string() },
  {
    weight: 1,
    arbitrary: fc
      .uint8Array({ maxLength: 256 })
      .map((bytes) => Buffer.from(bytes).toString("latin1")),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 16_000, max: 20_000 })
      .map((n) =>
        JSON.stringify({ type: "ContactCreate", padding: "x".repeat(n) }),
      ),
  },
);
const signing = fc.constantFrom(
  "ed25519",
  "rsa",
  "none",
  "garbage",
  "na",
  "both",
);
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant("application/json") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "text/plain",
      "application/x-www-form-urlencoded",
      "",
    ),
  },
  { weight: 1, arbitrary: fc.string() },
);

function headersFor(raw: string, how: string): Record<string, string> {
  if (how === "ed25519" || how === "rsa") return signatureHeaders(raw, how);
  if (how === "both")
    return {
      ...signatureHeaders(raw, "ed25519"),
      ...signatureHeaders(raw, "rsa"),
    };
  if (how === "garbage")
    return { "x-ghl-signature": "AAAA", "x-wh-signature": "%%%" };
  if (how === "na") return { "x-ghl-signature": "N/A" };
  return {};
}

describe("webhook route under generated input", () => {
  it(`answers ${RUNS} generated requests with specified statuses`, async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, signing, contentType, async (raw, how, type) => {
        const headers: Record<string, string> = {
          ...headersFor(raw, how),
        };
        if (type !== "") headers["content-type"] = type;
        const response = await harness.service.server.inject({
          method: "POST",
          url: "/webhooks/ghl",
          headers,
          payload: raw,
        });
        seen.set(response.statusCode, (seen.get(response.statusCode) ?? 0) + 1);
        expect(
          SPECIFIED.has(response.statusCode),
          `status ${response.statusCode} for ${raw.slice(0, 200)}`,
        ).toBe(true);
        const parsed = JSON.parse(response.body) as Record<string, unknown>;
        expect(
          typeof parsed.status === "string" || typeof parsed.error === "string",
        ).toBe(true);
      }),
      { numRuns: RUNS },
    );
    // The generators reach the deep branches, not only the early rejections.
    expect(seen.get(200) ?? 0).toBeGreaterThan(100);
    expect(seen.get(401) ?? 0).toBeGreaterThan(100);
    expect(seen.get(400) ?? 0).toBeGreaterThan(10);
    const health = await fetch(`${harness.service.url}/healthz`);
    expect(health.status).toBe(200);
  }, 180_000);
});
