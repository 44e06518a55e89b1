import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  startCoopelSandbox,
  type CoopelSandbox,
} from "../src/sandbox/coopel-sandbox.js";
import type {
  CoopelContact,
  CoopelNote,
  CoopelTask,
} from "../src/sandbox/coopel-store.js";

/** Fields of all Coopel sandbox responses; each test reads those its route returns. */
interface CoopelBody {
  contact: CoopelContact;
  contacts: CoopelContact[];
  next_cursor: string | null;
  tags: string[];
  task: CoopelTask;
  tasks: CoopelTask[];
  note: CoopelNote;
  notes: CoopelNote[];
  appointments: Record<string, unknown>[];
  deleted: boolean;
  error: string;
  message: string;
}

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { securitySchemes: Record<string, unknown> };
  security: unknown;
}

const TOKEN = "coopel-test-token";
let sandbox: CoopelSandbox;

async function call(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<{ status: number; body: CoopelBody; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text === "" ? undefined : JSON.parse(text)) as CoopelBody,
    headers: response.headers,
  };
}

async function createContact(
  fields: Record<string, unknown>,
): Promise<CoopelContact> {
  const response = await call("POST", "/contacts/", fields);
  expect(response.status).toBe(201);
  return response.body.contact;
}

beforeAll(async () => {
  sandbox = await startCoopelSandbox({ token: TOKEN });
});

afterAll(async () => {
  await sandbox.close();
});

afterEach(() => {
  sandbox.setFaults(undefined);
  sandbox.reset();
});

describe("Coopel sandbox auth", () => {
  it("rejects a missing token with 401", async () => {
    const response = await call("GET", "/contacts/", undefined, null);
    expect(response.status).toBe(401);
    expect(response.body.error).toBe("unauthorized");
    expect(typeof response.body.message).toBe("string");
  });

  it("rejects a wrong token with 401", async () => {
    const response = await call("GET", "/contacts/", undefined, "wrong-token");
    expect(response.status).toBe(401);
  });

  it("serves openapi.json without a token", async () => {
    const response = await call("GET", "/openapi.json", undefined, null);
    expect(response.status).toBe(200);
  });
});

describe("Coopel sandbox contacts", () => {
  it("creates, reads, merges and deletes a contact", async () => {
    const created = await createContact({
      first_name: "José",
      last_name: "Núñez",
      email: "Jose@Example.com",
      tags: ["vip"],
      loyalty_tier: "gold",
    });
    expect(created.id).toEqual(expect.any(String));
    expect(created.created_at).toEqual(created.updated_at);
    expect(created.loyalty_tier).toBe("gold");
    expect(sandbox.contacts.get(created.id)?.first_name).toBe("José");

    const fetched = await call("GET", `/contacts/${created.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.contact).toEqual(created);

    const updated = await call("PUT", `/contacts/${created.id}`, {
      city: "Zürich",
      last_name: null,
    });
    expect(updated.status).toBe(200);
    expect(updated.body.contact.city).toBe("Zürich");
    expect(updated.body.contact.first_name).toBe("José");
    expect("last_name" in updated.body.contact).toBe(false);
    expect(Date.parse(updated.body.contact.updated_at)).toBeGreaterThanOrEqual(
      Date.parse(created.updated_at),
    );

    const deleted = await call("DELETE", `/contacts/${created.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ deleted: true });
    expect(sandbox.contacts.has(created.id)).toBe(false);
  });

  it("answers 404 for an unknown contact", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const response = await call(
        method,
        "/contacts/no-such-id",
        method === "PUT" ? { city: "x" } : undefined,
      );
      expect(response.status).toBe(404);
      expect(response.body.error).toBe("not_found");
    }
  });

  it("rejects camelCase fields and non-string names", async () => {
    const camel = await call("POST", "/contacts/", { firstName: "Ana" });
    expect(camel.status).toBe(400);
    expect(camel.body.message).toContain("firstName");
    const number = await call("POST", "/contacts/", { first_name: 7 });
    expect(number.status).toBe(400);
    expect(sandbox.contacts.size).toBe(0);
  });

  it("filters by external_id, email, phone and updated_since", async () => {
    const first = await createContact({
      first_name: "A",
      email: "Ana@Example.com",
      phone: "+14155550101",
      external_id: "ghl-1",
    });
    await createContact({
      first_name: "B",
      email: "bo@example.com",
      phone: "+14155550102",
      external_id: "ghl-2",
    });
    const byExternal = await call("GET", "/contacts/?external_id=ghl-1");
    expect(byExternal.body.contacts.map((c) => c.id)).toEqual([first.id]);
    const byEmail = await call(
      "GET",
      `/contacts/?email=${encodeURIComponent("ANA@example.COM")}`,
    );
    expect(byEmail.body.contacts.map((c) => c.id)).toEqual([first.id]);
    const byPhone = await call(
      "GET",
      `/contacts/?phone=${encodeURIComponent("+14155550101")}`,
    );
    expect(byPhone.body.contacts).toHaveLength(1);
    const byPhoneOtherFormat = await call(
      "GET",
      `/contacts/?phone=${encodeURIComponent("(415) 555-0101")}`,
    );
    expect(byPhoneOtherFormat.body.contacts).toHaveLength(0);

    await new Promise((resolve) => setTimeout(resolve, 5));
    const since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await call("PUT", `/contacts/${first.id}`, { city: "Lyon" });
    const changed = await call(
      "GET",
      `/contacts/?updated_since=${encodeURIComponent(since)}`,
    );
    expect(changed.body.contacts.map((c) => c.id)).toEqual([first.id]);
    const invalid = await call("GET", "/contacts/?updated_since=yesterday");
    expect(invalid.status).toBe(400);
  });

  it("pages through 250 contacts with a cursor", async () => {
    for (let i = 0; i < 250; i++)
      sandbox.userCreateContact({ first_name: `n${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string =
        cursor === null
          ? "?limit=100"
          : `?limit=100&cursor=${encodeURIComponent(cursor)}`;
      const page = await call("GET", `/contacts/${query}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.contacts.map((c) => c.id));
      cursor = page.body.next_cursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(250);
    expect(new Set(seen).size).toBe(250);
  });

  it("defaults to 100 per page and rejects a limit over 500", async () => {
    for (let i = 0; i < 120; i++)
      sandbox.userCreateContact({ first_name: `n${i}` });
    const page = await call("GET", "/contacts/");
    expect(page.body.contacts).toHaveLength(100);
    expect(page.body.next_cursor).toEqual(expect.any(String));
    expect((await call("GET", "/contacts/?limit=501")).status).toBe(400);
    expect((await call("GET", "/contacts/?cursor=garbage")).status).toBe(400);
  });

  it("lists contacts of a business", async () => {
    const member = await createContact({
      first_name: "M",
      business_id: "biz-1",
    });
    await createContact({ first_name: "N", business_id: "biz-2" });
    const response = await call("GET", "/contacts/business/biz-1");
    expect(response.body.contacts.map((c) => c.id)).toEqual([member.id]);
  });

  it("adds and removes tags", async () => {
    const contact = await createContact({ first_name: "T", tags: ["a"] });
    const added = await call("POST", `/contacts/${contact.id}/tags`, {
      tags: ["b", "a", "東京"],
    });
    expect(added.status).toBe(200);
    expect(added.body.tags).toEqual(["a", "b", "東京"]);
    const removed = await call("DELETE", `/contacts/${contact.id}/tags`, {
      tags: ["a"],
    });
    expect(removed.body.tags).toEqual(["b", "東京"]);
    expect(sandbox.contacts.get(contact.id)?.tags).toEqual(["b", "東京"]);
    const invalid = await call("POST", `/contacts/${contact.id}/tags`, {
      tags: "a",
    });
    expect(invalid.status).toBe(400);
  });
});

describe("Coopel sandbox tasks, notes and appointments", () => {
  it("creates, updates, completes and deletes a task", async () => {
    const contact = await createContact({ first_name: "T" });
    const base = `/contacts/${contact.id}/tasks`;
    const created = await call("POST", base, {
      title: "Call back",
      due_date: "2026-01-02T10:00:00.000Z",
    });
    expect(created.status).toBe(201);
    expect(created.body.task.completed).toBe(false);
    const taskId = created.body.task.id;

    const renamed = await call("PUT", `${base}/${taskId}`, {
      title: "Call again",
    });
    expect(renamed.body.task.title).toBe("Call again");
    const completed = await call("PUT", `${base}/${taskId}/completed`, {
      completed: true,
    });
    expect(completed.body.task.completed).toBe(true);
    const invalid = await call("PUT", `${base}/${taskId}/completed`, {
      completed: "yes",
    });
    expect(invalid.status).toBe(400);

    expect((await call("GET", base)).body.tasks).toHaveLength(1);
    expect((await call("GET", `${base}/${taskId}`)).body.task.title).toBe(
      "Call again",
    );

    expect((await call("DELETE", `${base}/${taskId}`)).body).toEqual({
      deleted: true,
    });
    expect((await call("GET", `${base}/${taskId}`)).status).toBe(404);
    expect((await call("POST", base, { body: "no title" })).status).toBe(400);
  });

  it("creates, updates and deletes a note", async () => {
    const contact = await createContact({ first_name: "N" });
    const base = `/contacts/${contact.id}/notes`;
    const created = await call("POST", base, { body: "Prefers email" });
    expect(created.status).toBe(201);
    const noteId = created.body.note.id;
    expect(
      (await call("PUT", `${base}/${noteId}`, { body: "Prefers phone" })).body
        .note.body,
    ).toBe("Prefers phone");
    expect((await call("GET", base)).body.notes).toHaveLength(1);
    expect((await call("GET", `${base}/${noteId}`)).body.note.body).toBe(
      "Prefers phone",
    );
    expect((await call("DELETE", `${base}/${noteId}`)).status).toBe(200);
    expect(sandbox.notes.get(contact.id)?.size).toBe(0);
  });

  it("lists stored appointments", async () => {
    const contact = await createContact({ first_name: "A" });
    expect(
      (await call("GET", `/contacts/${contact.id}/appointments`)).body,
    ).toEqual({ appointments: [] });
    sandbox.appointments.set(contact.id, [{ id: "appt-1", title: "Demo" }]);
    expect(
      (await call("GET", `/contacts/${contact.id}/appointments`)).body
        .appointments,
    ).toHaveLength(1);
    expect((await call("GET", "/contacts/unknown/appointments")).status).toBe(
      404,
    );
  });
});

describe("Coopel sandbox openapi.json", () => {
  const expectedOperations = [
    "get /contacts/",
    "post /contacts/",
    "get /contacts/business/{businessId}",
    "get /contacts/{contactId}",
    "put /contacts/{contactId}",
    "delete /contacts/{contactId}",
    "get /contacts/{contactId}/tasks",
    "post /contacts/{contactId}/tasks",
    "get /contacts/{contactId}/tasks/{taskId}",
    "put /contacts/{contactId}/tasks/{taskId}",
    "delete /contacts/{contactId}/tasks/{taskId}",
    "put /contacts/{contactId}/tasks/{taskId}/completed",
    "get /contacts/{contactId}/notes",
    "post /contacts/{contactId}/notes",
    "get /contacts/{contactId}/notes/{id}",
    "put /contacts/{contactId}/notes/{id}",
    "delete /contacts/{contactId}/notes/{id}",
    "get /contacts/{contactId}/appointments",
    "post /contacts/{contactId}/tags",
    "delete /contacts/{contactId}/tags",
  ];

  it("describes every route with bearer security", async () => {
    const response = await fetch(`${sandbox.url}/openapi.json`);
    const document = (await response.json()) as OpenApiDocument;
    expect(document.openapi).toBe("3.1.0");
    expect(document.components.securitySchemes.bearer).toEqual({
      type: "http",
      scheme: "bearer",
    });
    expect(document.security).toEqual([{ bearer: [] }]);
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => key !== "parameters")
        .map((method) => `${method} ${path}`),
    );
    expect(operations.sort()).toEqual([...expectedOperations].sort());
  });

  it("describes only routes the sandbox serves", async () => {
    const contact = await createContact({ first_name: "R" });
    const task = (
      await call("POST", `/contacts/${contact.id}/tasks`, { title: "t" })
    ).body.task;
    const note = (
      await call("POST", `/contacts/${contact.id}/notes`, { body: "n" })
    ).body.note;
    // Deletes run last so that the records they remove stay available to the other routes.
    const deletesLast = [...expectedOperations].sort(
      (a, b) => Number(a.startsWith("delete")) - Number(b.startsWith("delete")),
    );
    for (const operation of deletesLast) {
      const [method = "", template = ""] = operation.split(" ");
      const path = template
        .replace("{businessId}", "biz")
        .replace("{contactId}", contact.id)
        .replace("{taskId}", task.id)
        .replace("{id}", note.id);
      if (method === "delete" && template === "/contacts/{contactId}") continue;
      const body = ["post", "put", "delete"].includes(method)
        ? { tags: ["x"], title: "t", body: "b", completed: true }
        : undefined;
      const response = await call(method.toUpperCase(), path, body);
      expect(response.status, operation).not.toBe(404);
    }
  });
});

describe("Coopel sandbox faults", () => {
  it("answers the configured status and stores nothing", async () => {
    sandbox.setFaults({
      routes: { "POST /contacts/": { errorRate: { 503: 1 } } },
    });
    const response = await call("POST", "/contacts/", { first_name: "F" });
    expect(response.status).toBe(503);
    expect(sandbox.contacts.size).toBe(0);
    const other = await call("GET", "/contacts/");
    expect(other.status).toBe(200);
    expect(sandbox.requests[0]?.fault).toBe("error");
  });

  it("sends Retry-After on 429 only when configured", async () => {
    sandbox.setFaults({
      routes: { "*": { errorRate: { 429: 1 }, retryAfterSeconds: 7 } },
    });
    const limited = await call("GET", "/contacts/");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    sandbox.setFaults({ routes: { "*": { errorRate: { 429: 1 } } } });
    expect(
      (await call("GET", "/contacts/")).headers.get("retry-after"),
    ).toBeNull();
  });

  it("stores the record and then never answers", async () => {
    sandbox.setFaults({
      routes: { "POST /contacts/": { afterHandlerTimeoutRate: 1 } },
    });
    const attempt = fetch(`${sandbox.url}/contacts/`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ first_name: "Stored" }),
      signal: AbortSignal.timeout(300),
    });
    await expect(attempt).rejects.toThrow();
    expect([...sandbox.contacts.values()].map((c) => c.first_name)).toEqual([
      "Stored",
    ]);
    expect(sandbox.requests.at(-1)).toMatchObject({
      method: "POST",
      status: null,
      fault: "after-handler-timeout",
    });
  });

  it("holds a timed-out request without storing it", async () => {
    sandbox.setFaults({ routes: { "POST /contacts/": { timeoutRate: 1 } } });
    const started = Date.now();
    const attempt = fetch(`${sandbox.url}/contacts/`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ first_name: "Lost" }),
      signal: AbortSignal.timeout(200),
    });
    await expect(attempt).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(sandbox.contacts.size).toBe(0);
  });

  it("resets the connection", async () => {
    sandbox.setFaults({
      routes: { "GET /contacts/:contactId": { resetRate: 1 } },
    });
    await expect(call("GET", "/contacts/any")).rejects.toThrow();
    expect((await call("GET", "/contacts/")).status).toBe(200);
  });

  it("adds latency", async () => {
    sandbox.setFaults({ routes: { "GET *": { latencyMs: 120 } } });
    const started = Date.now();
    await call("GET", "/contacts/");
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  it("repeats the same faults for the same seed", async () => {
    const statuses = async (): Promise<number[]> => {
      sandbox.setFaults({
        seed: 42,
        routes: { "*": { errorRate: { 500: 0.3, 503: 0.2 } } },
      });
      const result: number[] = [];
      for (let i = 0; i < 30; i++)
        result.push((await call("GET", "/contacts/")).status);
      return result;
    };
    const first = await statuses();
    const second = await statuses();
    expect(second).toEqual(first);
    expect(first).toContain(200);
    expect(first.some((status) => status >= 500)).toBe(true);
  });

  it("rejects rates that add up to more than 1", () => {
    expect(() =>
      sandbox.setFaults({
        routes: { "*": { errorRate: { 500: 0.7 }, timeoutRate: 0.5 } },
      }),
    ).toThrow(RangeError);
  });

  it("counts requests by method and route", async () => {
    const contact = await createContact({ first_name: "C" });
    await call("GET", `/contacts/${contact.id}`);
    await call("GET", `/contacts/${contact.id}`);
    expect(sandbox.countRequests("GET", "/contacts/:contactId")).toBe(2);
    expect(sandbox.countRequests("POST", "/contacts/")).toBe(1);
    expect(sandbox.countRequests("*")).toBe(3);
    expect(sandbox.requests[0]).toMatchObject({
      method: "POST",
      path: "/contacts/",
      status: 201,
      body: { first_name: "C" },
    });
  });
});
