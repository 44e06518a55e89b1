import { createPublicKey, createVerify, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";
import type { GhlContact } from "../src/sandbox/ghl-contact-fields.js";
import type { GhlNote, GhlTask } from "../src/sandbox/ghl-store.js";
import {
  findPackageRoot,
  loadSandboxSigningKeys,
  signWebhookBody,
} from "../src/sandbox/webhook-signing.js";

const LOCATION = "ve9EPM428h8vShlRW1KT";
const OTHER_LOCATION = "OtherLocation0000001";
const TOKEN = "ghl-location-token";
const OTHER_TOKEN = "ghl-other-token";
const CLIENT = { clientId: "app-client-id", clientSecret: "app-client-secret" };
let ghl: GhlSandbox;

type SearchHit = GhlContact & { searchAfter: unknown[] };

/** Fields of all GHL sandbox responses; each test reads those its route returns. */
interface GhlBody {
  contact: SearchHit;
  contacts: SearchHit[];
  total: number;
  succeded: boolean;
  new: boolean;
  tags: string[];
  task: GhlTask;
  note: GhlNote;
  statusCode: number;
  message: string | string[];
  error: string;
  error_description: string;
  meta: { contactId: string; contactName: string; matchingField: string };
  access_token: string;
  refresh_token: string;
}

async function call(
  method: string,
  route: string,
  body?: unknown,
  options: { token?: string | null; version?: string | null } = {},
): Promise<{ status: number; body: GhlBody; headers: Headers }> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? TOKEN : options.token;
  const version =
    options.version === undefined ? "2021-07-28" : options.version;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (version !== null) headers.version = version;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${ghl.url}${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text === "" ? undefined : JSON.parse(text)) as GhlBody,
    headers: response.headers,
  };
}

/** Orders contacts as the search does: by dateAdded, then by id in code-unit order. */
function compareByDateAddedThenId(a: GhlContact, b: GhlContact): number {
  const byDate = Date.parse(a.dateAdded) - Date.parse(b.dateAdded);
  if (byDate !== 0) return byDate;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

async function tokenRequest(
  form: Record<string, string>,
): Promise<{ status: number; body: GhlBody }> {
  const response = await fetch(`${ghl.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: (await response.json()) as GhlBody };
}

beforeAll(async () => {
  ghl = await startGhlSandbox({
    locations: [
      { id: LOCATION, token: TOKEN },
      { id: OTHER_LOCATION, token: OTHER_TOKEN, allowDuplicates: true },
    ],
    oauth: CLIENT,
  });
});

afterAll(async () => {
  await ghl.close();
});

afterEach(() => {
  ghl.setFaults(undefined);
  ghl.reset();
});

describe("GHL sandbox headers and auth", () => {
  it("requires the Version header", async () => {
    const missing = await call("GET", "/contacts/anything", undefined, {
      version: null,
    });
    expect(missing.status).toBe(400);
    expect(missing.body.statusCode).toBe(400);
    const wrong = await call("GET", "/contacts/anything", undefined, {
      version: "2023-02-21",
    });
    expect(wrong.status).toBe(400);
  });

  it("rejects a bad token with 401", async () => {
    const response = await call("GET", "/contacts/anything", undefined, {
      token: "nope",
    });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      statusCode: 401,
      message: "Invalid token: access token is invalid",
      error: "Unauthorized",
    });
  });

  it("rejects a token of another location with 403", async () => {
    const response = await call(
      "POST",
      "/contacts/",
      { locationId: LOCATION, firstName: "A" },
      { token: OTHER_TOKEN },
    );
    expect(response.status).toBe(403);
    expect(ghl.contacts.get(LOCATION)?.size).toBe(0);
  });
});

describe("GHL sandbox contacts", () => {
  it("creates a contact with normalised fields", async () => {
    const response = await call("POST", "/contacts/", {
      locationId: LOCATION,
      firstName: "Zoë",
      lastName: "Núñez",
      email: "Zoe.Nunez@Example.com",
      phone: "(415) 555-0132",
      dateOfBirth: "1990-09-25",
      tags: ["vip"],
      customFields: [{ id: "cf1", field_value: "gold" }],
    });
    expect(response.status).toBe(201);
    const contact = response.body.contact;
    expect(contact.id).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(contact.phone).toBe("+14155550132");
    expect(contact.emailLowerCase).toBe("zoe.nunez@example.com");
    expect(contact.name).toBe("Zoë Núñez");
    expect(contact.fullNameLowerCase).toBe("zoë núñez");
    expect(contact.dateOfBirth).toBe("1990-09-25T00:00:00.000Z");
    expect(contact.birthMonth).toBe(8);
    expect(contact.customFields).toEqual([{ id: "cf1", value: "gold" }]);
    expect(contact.dateAdded).toEqual(contact.dateUpdated);

    const fetched = await call("GET", `/contacts/${contact.id}`);
    expect(fetched.body.contact.dateOfBirth).toBe("1990-09-25");
  });

  it("rejects a duplicate email with meta.contactId", async () => {
    const first = ghl.userCreateContact(LOCATION, {
      firstName: "Ana",
      lastName: "Li",
      email: "ana@example.com",
    });
    const response = await call("POST", "/contacts/", {
      locationId: LOCATION,
      email: "ANA@example.com",
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      statusCode: 400,
      message: "This location does not allow duplicated contacts.",
      meta: {
        contactId: first.id,
        contactName: "Ana Li",
        matchingField: "email",
      },
    });
    expect(ghl.contacts.get(LOCATION)?.size).toBe(1);
  });

  it("rejects a duplicate phone in another format", async () => {
    const first = ghl.userCreateContact(LOCATION, { phone: "+1 415-555-0199" });
    const response = await call("POST", "/contacts/", {
      locationId: LOCATION,
      phone: "415.555.0199",
    });
    expect(response.status).toBe(400);
    expect(response.body.meta).toMatchObject({
      contactId: first.id,
      matchingField: "phone",
    });
  });

  it("allows duplicates where the location does", async () => {
    const body = { locationId: OTHER_LOCATION, email: "same@example.com" };
    expect(
      (await call("POST", "/contacts/", body, { token: OTHER_TOKEN })).status,
    ).toBe(201);
    expect(
      (await call("POST", "/contacts/", body, { token: OTHER_TOKEN })).status,
    ).toBe(201);
  });

  it("rejects locationId, gender and companyName on PUT with 422", async () => {
    const contact = ghl.userCreateContact(LOCATION, { firstName: "P" });
    for (const field of [
      "locationId",
      "gender",
      "companyName",
      "additionalEmails",
    ]) {
      const response = await call("PUT", `/contacts/${contact.id}`, {
        firstName: "Q",
        [field]: "x",
      });
      expect(response.status).toBe(422);
      expect(response.body).toEqual({
        statusCode: 422,
        message: [`property ${field} should not exist`],
        error: "Unprocessable Entity",
      });
    }
    expect(ghl.contacts.get(LOCATION)?.get(contact.id)?.firstName).toBe("P");
  });

  it("replaces all tags on PUT", async () => {
    const contact = ghl.userCreateContact(LOCATION, {
      firstName: "T",
      tags: ["a", "b"],
    });
    const response = await call("PUT", `/contacts/${contact.id}`, {
      tags: ["c"],
    });
    expect(response.status).toBe(200);
    expect(response.body.succeded).toBe(true);
    expect(response.body.contact.tags).toEqual(["c"]);
    expect(response.body.contact.firstName).toBe("T");
  });

  it("clears a field sent as null or empty", async () => {
    const contact = ghl.userCreateContact(LOCATION, {
      firstName: "C",
      city: "Paris",
      email: "c@example.com",
    });
    const response = await call("PUT", `/contacts/${contact.id}`, {
      city: null,
      email: "",
    });
    expect(response.body.contact.city).toBeUndefined();
    expect(response.body.contact.email).toBeUndefined();
    expect(response.body.contact.emailLowerCase).toBeUndefined();
    expect(response.body.contact.firstName).toBe("C");
  });

  it("leaves a contact unchanged on 422", async () => {
    const contact = ghl.userCreateContact(LOCATION, { firstName: "Old" });
    const response = await call("PUT", `/contacts/${contact.id}`, {
      firstName: "New",
      phone: "not a phone",
    });
    expect(response.status).toBe(422);
    expect(ghl.contacts.get(LOCATION)?.get(contact.id)?.firstName).toBe("Old");
  });

  it("adds and removes tags", async () => {
    const contact = ghl.userCreateContact(LOCATION, { tags: ["a"] });
    const added = await call("POST", `/contacts/${contact.id}/tags`, {
      tags: ["b"],
    });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({ tags: ["a", "b"] });
    const removed = await call("DELETE", `/contacts/${contact.id}/tags`, {
      tags: ["a"],
    });
    expect(removed.body).toEqual({ tags: ["b"] });
  });

  it("answers 400 for a missing contact", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await call(
        method,
        "/contacts/missing0000000000000",
        method === "PUT" ? {} : undefined,
      );
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        statusCode: 400,
        message: "Contact with id missing0000000000000 not found",
      });
    }
  });

  it("deletes a contact", async () => {
    const contact = ghl.userCreateContact(LOCATION, { firstName: "D" });
    const response = await call("DELETE", `/contacts/${contact.id}`);
    expect(response.body).toEqual({ succeded: true });
    expect(ghl.contacts.get(LOCATION)?.has(contact.id)).toBe(false);
  });

  it("finds a duplicate by email or number", async () => {
    const contact = ghl.userCreateContact(LOCATION, {
      email: "dup@example.com",
      phone: "+14155550100",
    });
    const byEmail = await call(
      "GET",
      `/contacts/search/duplicate?locationId=${LOCATION}&email=${encodeURIComponent("DUP@example.com")}`,
    );
    expect(byEmail.body.contact.id).toBe(contact.id);
    const byNumber = await call(
      "GET",
      `/contacts/search/duplicate?locationId=${LOCATION}&number=${encodeURIComponent("+14155550100")}`,
    );
    expect(byNumber.body.contact.id).toBe(contact.id);
    const none = await call(
      "GET",
      `/contacts/search/duplicate?locationId=${LOCATION}&email=none@example.com`,
    );
    expect(none.body.contact).toBeNull();
  });

  it("upserts onto the contact with the same email", async () => {
    const contact = ghl.userCreateContact(LOCATION, {
      email: "up@example.com",
      firstName: "Old",
    });
    const response = await call("POST", "/contacts/upsert", {
      locationId: LOCATION,
      email: "up@example.com",
      firstName: "New",
    });
    expect(response.status).toBe(200);
    expect(response.body.new).toBe(false);
    expect(response.body.contact.id).toBe(contact.id);
    expect(response.body.contact.firstName).toBe("New");
  });
});

describe("GHL sandbox search", () => {
  it("pages through 250 contacts with searchAfter", async () => {
    const created = new Set<string>();
    for (let i = 0; i < 250; i++) {
      // Equal dateAdded values make the id the tie-breaker.
      const dateAdded = new Date(
        Date.UTC(2024, 0, 1, 0, 0, Math.floor(i / 3)),
      ).toISOString();
      created.add(
        ghl.userCreateContact(LOCATION, { firstName: `n${i}` }, { dateAdded })
          .id,
      );
    }
    const seen: string[] = [];
    let searchAfter: unknown[] | undefined;
    for (let page = 0; page < 10; page++) {
      const response = await call("POST", "/contacts/search", {
        locationId: LOCATION,
        pageLimit: 100,
        ...(searchAfter ? { searchAfter } : {}),
      });
      expect(response.status).toBe(200);
      expect(response.body.total).toBe(250);
      const contacts = response.body.contacts;
      if (contacts.length === 0) break;
      seen.push(...contacts.map((contact) => contact.id));
      searchAfter = contacts.at(-1)?.searchAfter;
    }
    expect(seen).toHaveLength(250);
    expect(new Set(seen)).toEqual(created);
    const contacts = [...(ghl.contacts.get(LOCATION)?.values() ?? [])];
    const expectedOrder = contacts
      .sort(compareByDateAddedThenId)
      .map((contact) => contact.id);
    expect(seen).toEqual(expectedOrder);
  });

  it("returns searchAfter as dateAdded in ms and id", async () => {
    const contact = ghl.userCreateContact(
      LOCATION,
      { firstName: "S" },
      { dateAdded: "2024-05-01T10:00:00.000Z" },
    );
    const response = await call("POST", "/contacts/search", {
      locationId: LOCATION,
      pageLimit: 10,
    });
    expect(response.body.contacts[0]?.searchAfter).toEqual([
      Date.parse("2024-05-01T10:00:00.000Z"),
      contact.id,
    ]);
  });

  it("filters by field and date range", async () => {
    ghl.userCreateContact(
      LOCATION,
      { email: "a@example.com", tags: ["vip"] },
      { dateAdded: "2024-01-01T00:00:00.000Z" },
    );
    const target = ghl.userCreateContact(
      LOCATION,
      { email: "B@example.com" },
      { dateAdded: "2024-02-01T00:00:00.000Z" },
    );
    const byEmail = await call("POST", "/contacts/search", {
      locationId: LOCATION,
      pageLimit: 10,
      filters: [{ field: "email", operator: "eq", value: "b@example.com" }],
    });
    expect(byEmail.body.contacts.map((c) => c.id)).toEqual([target.id]);
    const byRange = await call("POST", "/contacts/search", {
      locationId: LOCATION,
      pageLimit: 10,
      filters: [
        {
          field: "dateAdded",
          operator: "range",
          value: { gte: "2024-01-15T00:00:00.000Z" },
        },
      ],
    });
    expect(byRange.body.total).toBe(1);
  });

  it("rejects page together with searchAfter and a pageLimit over 500", async () => {
    const both = await call("POST", "/contacts/search", {
      locationId: LOCATION,
      pageLimit: 10,
      page: 1,
      searchAfter: [0, "a"],
    });
    expect(both.status).toBe(422);
    const tooMany = await call("POST", "/contacts/search", {
      locationId: LOCATION,
      pageLimit: 501,
    });
    expect(tooMany.status).toBe(422);
  });
});

describe("GHL sandbox OAuth", () => {
  it("exchanges a code and rotates single-use refresh tokens", async () => {
    const code = ghl.issueAuthorizationCode(LOCATION);
    const base = {
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      user_type: "Location",
    };
    const first = await tokenRequest({
      ...base,
      grant_type: "authorization_code",
      code,
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      token_type: "Bearer",
      expires_in: 86399,
      userType: "Location",
      locationId: LOCATION,
    });
    expect(first.body.refresh_token).toEqual(expect.any(String));

    const reusedCode = await tokenRequest({
      ...base,
      grant_type: "authorization_code",
      code,
    });
    expect(reusedCode.status).toBe(400);
    expect(reusedCode.body.error).toBe("invalid_grant");

    const apiCall = await call(
      "GET",
      "/contacts/unknown00000000000000",
      undefined,
      { token: first.body.access_token },
    );
    expect(apiCall.status).toBe(400);

    const refreshed = await tokenRequest({
      ...base,
      grant_type: "refresh_token",
      refresh_token: first.body.refresh_token,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(first.body.refresh_token);

    const reused = await tokenRequest({
      ...base,
      grant_type: "refresh_token",
      refresh_token: first.body.refresh_token,
    });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe("invalid_grant");
    expect(typeof reused.body.error_description).toBe("string");

    const again = await tokenRequest({
      ...base,
      grant_type: "refresh_token",
      refresh_token: refreshed.body.refresh_token,
    });
    expect(again.status).toBe(200);
  });

  it("rejects expired access tokens", async () => {
    const code = ghl.issueAuthorizationCode(LOCATION);
    const tokens = await tokenRequest({
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      grant_type: "authorization_code",
      code,
    });
    ghl.expireAccessTokens(LOCATION);
    const response = await call("GET", "/contacts/x", undefined, {
      token: tokens.body.access_token,
    });
    expect(response.status).toBe(401);
  });

  it("rejects a wrong client secret and a JSON body", async () => {
    const wrong = await tokenRequest({
      client_id: CLIENT.clientId,
      client_secret: "wrong",
      grant_type: "authorization_code",
      code: "x",
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe("invalid_client");
    const json = await fetch(`${ghl.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_id: CLIENT.clientId,
        client_secret: CLIENT.clientSecret,
        grant_type: "refresh_token",
      }),
    });
    expect(json.status).toBe(400);
  });
});

describe("GHL sandbox rate limits", () => {
  it("answers 429 after the burst and sets the headers", async () => {
    const limited = await startGhlSandbox({
      locations: [{ id: LOCATION, token: TOKEN }],
      rateLimits: { burst: 3, intervalMs: 60_000, daily: 1000 },
    });
    try {
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) {
        last = await fetch(`${limited.url}/contacts/x`, {
          headers: { authorization: `Bearer ${TOKEN}`, version: "2021-07-28" },
        });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([400, 400, 400, 429]);
      expect(last?.headers.get("x-ratelimit-max")).toBe("3");
      expect(last?.headers.get("x-ratelimit-remaining")).toBe("0");
    } finally {
      await limited.close();
    }
  });
});

describe("GHL sandbox tasks and notes", () => {
  it("creates and completes a task and adds a note", async () => {
    const contact = ghl.userCreateContact(LOCATION, { firstName: "R" });
    const created = await call("POST", `/contacts/${contact.id}/tasks`, {
      title: "Call",
      dueDate: "2026-01-01T00:00:00.000Z",
      completed: false,
    });
    expect(created.status).toBe(201);
    const missing = await call("POST", `/contacts/${contact.id}/tasks`, {
      title: "No due date",
    });
    expect(missing.status).toBe(422);
    const completed = await call(
      "PUT",
      `/contacts/${contact.id}/tasks/${created.body.task.id}/completed`,
      { completed: true },
    );
    expect(completed.body.task.completed).toBe(true);
    const note = await call("POST", `/contacts/${contact.id}/notes`, {
      body: "Hello",
    });
    expect(note.status).toBe(201);
    expect(note.body.note.dateAdded).toEqual(expect.any(String));
    expect(
      (
        await call(
          "DELETE",
          `/contacts/${contact.id}/notes/${note.body.note.id}`,
        )
      ).body,
    ).toEqual({ succeded: true });
  });
});

describe("GHL sandbox webhook signing", () => {
  const root = findPackageRoot();
  const edPublic = createPublicKey(
    readFileSync(
      path.join(root, "src/sandbox/keys/ghl-sandbox-ed25519.pub.pem"),
    ),
  );
  const rsaPublic = createPublicKey(
    readFileSync(path.join(root, "src/sandbox/keys/ghl-sandbox-rsa.pub.pem")),
  );
  const body = Buffer.from(
    JSON.stringify({ type: "ContactCreate", id: "abc", firstName: "Zoë 🌸" }),
  );

  it("signs with Ed25519 verifiable by the public key", () => {
    const headers = signWebhookBody(body, loadSandboxSigningKeys(), "ed25519");
    expect(headers["x-wh-signature"]).toBeUndefined();
    const signature = Buffer.from(headers["x-ghl-signature"] ?? "", "base64");
    expect(verify(null, body, edPublic, signature)).toBe(true);
    expect(
      verify(
        null,
        Buffer.from(body.toString().replace("abc", "abd")),
        edPublic,
        signature,
      ),
    ).toBe(false);
  });

  it("signs with RSA-SHA256 verifiable by the public key", () => {
    const headers = signWebhookBody(
      body.toString("utf8"),
      loadSandboxSigningKeys(),
      "rsa",
    );
    expect(headers["x-ghl-signature"]).toBeUndefined();
    const check = (bytes: Buffer): boolean =>
      createVerify("SHA256")
        .update(bytes)
        .verify(rsaPublic, headers["x-wh-signature"] ?? "", "base64");
    expect(check(body)).toBe(true);
    expect(check(Buffer.concat([body, Buffer.from(" ")]))).toBe(false);
  });

  it("returns both headers for both", () => {
    const headers = signWebhookBody(body, loadSandboxSigningKeys(), "both");
    expect(Object.keys(headers).sort()).toEqual([
      "x-ghl-signature",
      "x-wh-signature",
    ]);
    expect(ghl.publicKeys.ed25519).toContain("BEGIN PUBLIC KEY");
  });

  describe("sendWebhook", () => {
    let receiver: FastifyInstance;
    let receiverUrl: string;
    const received: { raw: string; headers: Record<string, unknown> }[] = [];

    beforeAll(async () => {
      receiver = Fastify();
      receiver.addContentTypeParser(
        "application/json",
        { parseAs: "string" },
        (_request, raw, done) => done(null, raw),
      );
      receiver.post("/hook", (request) => {
        received.push({
          raw: request.body as string,
          headers: request.headers,
        });
        return { ok: true };
      });
      await receiver.listen({ host: "127.0.0.1", port: 0 });
      const address = receiver.server.address();
      receiverUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/hook`;
    });

    afterAll(async () => {
      await receiver.close();
    });

    it("adds webhookId and timestamp and signs the sent bytes", async () => {
      const delivery = await ghl.sendWebhook(
        receiverUrl,
        { type: "ContactDelete", id: "x" },
        { signWith: "both" },
      );
      expect(delivery.status).toBe(200);
      expect(delivery.body).toEqual({ ok: true });
      const last = received.at(-1);
      const parsed = JSON.parse(last?.raw ?? "{}");
      expect(parsed.webhookId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(parsed.timestamp))).toBe(false);
      expect(last?.headers["content-type"]).toBe("application/json");
      const signature = Buffer.from(
        String(last?.headers["x-ghl-signature"]),
        "base64",
      );
      expect(
        verify(null, Buffer.from(last?.raw ?? ""), edPublic, signature),
      ).toBe(true);
    });

    it("sends a raw body unchanged and unsigned when asked", async () => {
      const rawBody = '{"type":"ContactCreate",  "id":"raw"}';
      await ghl.sendWebhook(receiverUrl, {}, { rawBody, signWith: "none" });
      const last = received.at(-1);
      expect(last?.raw).toBe(rawBody);
      expect(last?.headers["x-ghl-signature"]).toBeUndefined();
      expect(last?.headers["x-wh-signature"]).toBeUndefined();
    });

    it("refuses a target that is not on loopback", async () => {
      await expect(
        ghl.sendWebhook("http://example.com/hook", {}),
      ).rejects.toThrow(/loopback/);
    });
  });
});

describe("GHL sandbox faults", () => {
  it("answers the configured status before creating", async () => {
    ghl.setFaults({ routes: { "POST /contacts/": { errorRate: { 500: 1 } } } });
    const response = await call("POST", "/contacts/", {
      locationId: LOCATION,
      firstName: "F",
    });
    expect(response.status).toBe(500);
    expect(ghl.contacts.get(LOCATION)?.size).toBe(0);
  });

  it("stores a create whose response never arrives", async () => {
    ghl.setFaults({
      routes: { "POST /contacts/": { afterHandlerTimeoutRate: 1 } },
    });
    const attempt = fetch(`${ghl.url}/contacts/`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${TOKEN}`,
        version: "2021-07-28",
        "content-type": "application/json",
      },
      body: JSON.stringify({
        locationId: LOCATION,
        email: "stored@example.com",
      }),
      signal: AbortSignal.timeout(300),
    });
    await expect(attempt).rejects.toThrow();
    expect(
      [...(ghl.contacts.get(LOCATION)?.values() ?? [])].map((c) => c.email),
    ).toEqual(["stored@example.com"]);
    ghl.setFaults(undefined);
    const retry = await call("POST", "/contacts/", {
      locationId: LOCATION,
      email: "stored@example.com",
    });
    expect(retry.status).toBe(400);
    expect(retry.body.meta.matchingField).toBe("email");
  });
});
