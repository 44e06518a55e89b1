import { createPublicKey, createVerify, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  runDemoTraffic,
  type DemoTrafficResult,
} from "../src/sandbox/demo-traffic.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";
import { contactWebhookFields } from "../src/sandbox/ghl-webhook-payload.js";
import { findPackageRoot } from "../src/sandbox/webhook-signing.js";

const LOCATION = "DemoLocation00000001";
const root = findPackageRoot();
const edPublic = createPublicKey(
  readFileSync(path.join(root, "src/sandbox/keys/ghl-sandbox-ed25519.pub.pem")),
);
const rsaPublic = createPublicKey(
  readFileSync(path.join(root, "src/sandbox/keys/ghl-sandbox-rsa.pub.pem")),
);
const examples = ["ContactCreate", "ContactUpdate", "ContactDelete"].map(
  (name) =>
    JSON.parse(
      readFileSync(
        path.join(root, "fixtures/ghl/webhooks", `${name}.json`),
        "utf8",
      ),
    ) as Record<string, unknown>,
);
const META_KEYS = new Set(["type", "webhookId", "timestamp"]);

/** A webhook as the test receiver accepted it. */
interface Accepted {
  body: Record<string, unknown>;
  algorithm: "ed25519" | "rsa";
}

/** Test receiver state: it verifies signatures and responds 429 to the first delivery of every 25th webhook. */
class Receiver {
  readonly accepted: Accepted[] = [];
  readonly seenWebhookIds = new Set<string>();
  readonly inFlight = new Set<string>();
  overlaps = 0;
  badSignatures = 0;
  answered429 = 0;
  deliveries = 0;
}

let app: FastifyInstance;
let receiver: Receiver;
let targetUrl: string;
let ghl: GhlSandbox;

function verifySignature(
  raw: Buffer,
  headers: Record<string, unknown>,
): "ed25519" | "rsa" | undefined {
  const ed = headers["x-ghl-signature"];
  if (
    typeof ed === "string" &&
    verify(null, raw, edPublic, Buffer.from(ed, "base64"))
  )
    return "ed25519";
  const rsa = headers["x-wh-signature"];
  if (
    typeof rsa === "string" &&
    createVerify("SHA256").update(raw).verify(rsaPublic, rsa, "base64")
  )
    return "rsa";
  return undefined;
}

beforeAll(async () => {
  app = Fastify();
  app.addContentTypeParser(
    "application/json",
    { parseAs: "buffer" },
    (_request, raw, done) => done(null, raw),
  );
  app.post("/reset", (request, reply) => {
    reply.hijack();
    request.raw.socket.destroy();
  });
  app.post("/webhooks/ghl", async (request, reply) => {
    receiver.deliveries += 1;
    const raw = request.body as Buffer;
    const algorithm = verifySignature(raw, request.headers);
    if (algorithm === undefined) {
      receiver.badSignatures += 1;
      return reply.code(401).send({ error: "invalid signature" });
    }
    const body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
    const contactId = String(body.id);
    if (receiver.inFlight.has(contactId)) receiver.overlaps += 1;
    receiver.inFlight.add(contactId);
    try {
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
      const webhookId = String(body.webhookId);
      const firstDelivery = !receiver.seenWebhookIds.has(webhookId);
      receiver.seenWebhookIds.add(webhookId);
      if (firstDelivery && receiver.seenWebhookIds.size % 25 === 0) {
        receiver.answered429 += 1;
        return reply.code(429).send({ error: "busy" });
      }
      receiver.accepted.push({ body, algorithm });
      return { ok: true };
    } finally {
      receiver.inFlight.delete(contactId);
    }
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  targetUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}/webhooks/ghl`;
  ghl = await startGhlSandbox({
    locations: [{ id: LOCATION, token: "demo-token" }],
  });
});

afterAll(async () => {
  await ghl.close();
  await app.close();
});

/** Rebuilds contacts from accepted webhooks: a missing field is unchanged, null or "" clears it. */
function replay(accepted: Accepted[]): Map<string, Record<string, unknown>> {
  const state = new Map<string, Record<string, unknown>>();
  for (const { body } of accepted) {
    const id = String(body.id);
    if (body.type === "ContactDelete") {
      state.delete(id);
      continue;
    }
    const contact = body.type === "ContactCreate" ? {} : (state.get(id) ?? {});
    for (const [key, value] of Object.entries(body)) {
      if (META_KEYS.has(key)) continue;
      if (value === null || value === "") delete contact[key];
      else contact[key] = value;
    }
    state.set(id, contact);
  }
  return state;
}

describe("demo traffic", () => {
  let result: DemoTrafficResult;
  let progressCalls = 0;

  beforeAll(async () => {
    receiver = new Receiver();
    ghl.reset();
    result = await runDemoTraffic({
      ghl,
      locationId: LOCATION,
      targetUrl,
      officialExamples: examples,
      onProgress: () => {
        progressCalls += 1;
      },
    });
  });

  it("sends at least the requested number of changes", () => {
    expect(result.sent).toBeGreaterThanOrEqual(1200 + examples.length);
    expect(result.accepted).toBe(result.sent);
    expect(result.rejected).toBe(0);
    expect(receiver.badSignatures).toBe(0);
    expect(receiver.accepted).toHaveLength(result.sent);
    expect(progressCalls).toBe(result.sent);
  });

  it("retries deliveries answered with 429", () => {
    expect(receiver.answered429).toBeGreaterThan(0);
    expect(result.retriedOn429).toBe(receiver.answered429);
    expect(receiver.deliveries).toBe(result.sent + result.retriedOn429);
  });

  it("sends the official examples first and in order", () => {
    const firstThree = receiver.accepted.slice(0, 3);
    expect(firstThree.map((entry) => entry.body.type)).toEqual([
      "ContactCreate",
      "ContactUpdate",
      "ContactDelete",
    ]);
    expect(firstThree.map((entry) => entry.algorithm)).toEqual([
      "ed25519",
      "rsa",
      "ed25519",
    ]);
    for (const [index, entry] of firstThree.entries()) {
      const { webhookId, timestamp, ...rest } = entry.body;
      expect(webhookId).toEqual(expect.any(String));
      expect(timestamp).toEqual(expect.any(String));
      expect(rest).toEqual({ ...examples[index], locationId: LOCATION });
    }
    expect(result.deletedIds).toContain(examples[0]?.id);
    expect(result.expected.has(String(examples[0]?.id))).toBe(false);
  });

  it("keeps each contact's events in order and one at a time", () => {
    expect(receiver.overlaps).toBe(0);
    const receivedByContact = new Map<string, string[]>();
    for (const { body } of receiver.accepted) {
      const list = receivedByContact.get(String(body.id)) ?? [];
      list.push(String(body.webhookId));
      receivedByContact.set(String(body.id), list);
    }
    const sentByContact = new Map<string, string[]>();
    for (const event of result.events) {
      const list = sentByContact.get(event.contactId) ?? [];
      list.push(event.webhookId);
      sentByContact.set(event.contactId, list);
    }
    expect(receivedByContact).toEqual(sentByContact);
    for (const [contactId, ids] of receivedByContact) {
      const types = ids.map(
        (id) =>
          receiver.accepted.find((entry) => entry.body.webhookId === id)?.body
            .type,
      );
      expect(types[0], contactId).toBe("ContactCreate");
      expect(types.slice(0, -1), contactId).not.toContain("ContactDelete");
    }
  });

  it("mixes creates, updates and deletes", () => {
    const counts = {
      ContactCreate: 0,
      ContactUpdate: 0,
      ContactDelete: 0,
    } as Record<string, number>;
    for (const event of result.events)
      counts[event.type] = (counts[event.type] ?? 0) + 1;
    expect(counts.ContactCreate).toBeGreaterThanOrEqual(250);
    expect(counts.ContactCreate).toBeLessThanOrEqual(301);
    expect(counts.ContactUpdate).toBeGreaterThan(counts.ContactCreate ?? 0);
    expect(counts.ContactDelete).toBeGreaterThan(100);
  });

  it("signs mostly with Ed25519 and some with RSA", () => {
    const rsa = receiver.accepted.filter(
      (entry) => entry.algorithm === "rsa",
    ).length;
    expect(rsa).toBeGreaterThan(receiver.accepted.length * 0.1);
    expect(rsa).toBeLessThan(receiver.accepted.length * 0.35);
  });

  it("reports the sandbox's final store as expected", () => {
    const stored = ghl.contacts.get(LOCATION) ?? new Map();
    expect(result.expected.size).toBe(stored.size);
    for (const [id, contact] of stored) {
      expect(result.expected.get(id)).toEqual(contactWebhookFields(contact));
    }
    for (const id of result.deletedIds) expect(stored.has(id)).toBe(false);
  });

  it("lets a receiver rebuild the expected state from the webhooks", () => {
    const rebuilt = replay(receiver.accepted);
    expect(rebuilt.size).toBe(result.expected.size);
    for (const [id, fields] of result.expected) {
      expect(rebuilt.get(id), id).toEqual(fields);
    }
  });

  it("sends varied data", () => {
    const bodies = receiver.accepted.map((entry) => entry.body);
    const updates = bodies.filter((body) => body.type === "ContactUpdate");
    expect(
      updates.some((body) => !("email" in body) && !("city" in body)),
    ).toBe(true);
    expect(bodies.some((body) => Object.values(body).includes(null))).toBe(
      true,
    );
    expect(bodies.some((body) => Object.values(body).includes(""))).toBe(true);

    const names = bodies.map((body) => String(body.firstName ?? ""));
    expect(names.some((name) => /[\u4e00-\u9fff]/.test(name))).toBe(true);
    expect(names.some((name) => /[\u0400-\u04ff]/.test(name))).toBe(true);
    expect(names.some((name) => /[\u0600-\u06ff]/.test(name))).toBe(true);
    expect(names.some((name) => /\p{Extended_Pictographic}/u.test(name))).toBe(
      true,
    );
    expect(names.some((name) => /[éëçøłá]/.test(name))).toBe(true);

    const phones = bodies
      .map((body) => body.phone)
      .filter(
        (phone): phone is string => typeof phone === "string" && phone !== "",
      );
    expect(phones.every((phone) => /^\+\d{8,15}$/.test(phone))).toBe(true);
    for (const prefix of ["+1", "+44", "+49", "+33", "+81", "+91"]) {
      expect(
        phones.some((phone) => phone.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }

    const emails = bodies
      .map((body) => body.email)
      .filter(
        (email): email is string => typeof email === "string" && email !== "",
      );
    expect(emails.some((email) => email !== email.toLowerCase())).toBe(true);

    const birthDates = bodies
      .map((body) => body.dateOfBirth)
      .filter(
        (date): date is string => typeof date === "string" && date !== "",
      );
    expect(
      birthDates.every((date) =>
        /^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/.test(date),
      ),
    ).toBe(true);
  });
});

describe("demo traffic options", () => {
  beforeEach(() => {
    receiver = new Receiver();
    ghl.reset();
  });

  it("repeats the same stream for the same seed", async () => {
    const run = async (): Promise<string[]> => {
      ghl.reset();
      const result = await runDemoTraffic({
        ghl,
        locationId: LOCATION,
        targetUrl,
        officialExamples: [],
        contacts: 20,
        changes: 80,
        seed: 7,
      });
      return result.events.map((event) => `${event.type} ${event.contactId}`);
    };
    const first = await run();
    const second = await run();
    expect(first).toHaveLength(80);
    expect(second).toEqual(first);
  });

  it("duplicates and drops deliveries when asked", async () => {
    const result = await runDemoTraffic({
      ghl,
      locationId: LOCATION,
      targetUrl,
      officialExamples: [],
      contacts: 30,
      changes: 200,
      seed: 3,
      duplicateRate: 0.1,
      dropRate: 0.1,
    });
    expect(result.duplicated).toBeGreaterThan(0);
    expect(result.dropped).toBeGreaterThan(0);
    expect(result.sent + result.dropped).toBe(200);
    const webhookIds = receiver.accepted.map((entry) =>
      String(entry.body.webhookId),
    );
    expect(webhookIds.length - new Set(webhookIds).size).toBe(
      result.duplicated,
    );
  });

  it("counts non-2xx responses as rejected", async () => {
    const result = await runDemoTraffic({
      ghl,
      locationId: LOCATION,
      targetUrl: targetUrl.replace("/webhooks/ghl", "/missing"),
      officialExamples: [],
      contacts: 5,
      changes: 10,
    });
    expect(result.rejected).toBe(10);
    expect(result.accepted).toBe(0);
    expect(result.events.every((event) => event.status === 404)).toBe(true);
  });

  it("records network errors on the event", async () => {
    const result = await runDemoTraffic({
      ghl,
      locationId: LOCATION,
      targetUrl: targetUrl.replace("/webhooks/ghl", "/reset"),
      officialExamples: [],
      contacts: 3,
      changes: 4,
    });
    expect(result.networkErrors).toBe(4);
    expect(result.rejected).toBe(4);
    for (const event of result.events) {
      expect(event.status).toBeNull();
      expect(event.error).toContain("failed");
    }
  });
});
