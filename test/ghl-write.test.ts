import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GhlRestApi, writeBody } from "../src/connectors/ghl/api.js";
import {
  GhlHttpClient,
  StaticTokenSource,
} from "../src/connectors/ghl/client.js";
import type { CallContext } from "../src/engine/ports.js";
import { allowedFields } from "../src/mapping/ghl-allow-list.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";

const LOCATION = "loc-write-test";
let ghl: GhlSandbox;
let api: GhlRestApi;

beforeEach(async () => {
  ghl = await startGhlSandbox({
    locations: [{ id: LOCATION, token: "pit-write" }],
    logger: false,
  });
  api = new GhlRestApi(
    new GhlHttpClient({
      baseUrl: ghl.url,
      apiVersion: "2021-07-28",
      timeoutMs: 2000,
      tokens: new StaticTokenSource([{ id: LOCATION, token: "pit-write" }]),
    }),
  );
});

afterEach(async () => {
  await ghl?.close();
});

function context(): CallContext {
  return { requests: [] };
}

function bodiesOf(method: string, route: string): Record<string, unknown>[] {
  return ghl.requests
    .filter((entry) => entry.method === method && entry.route === route)
    .map((entry) => entry.body as Record<string, unknown>);
}

describe("GhlRestApi writes", () => {
  it("createContact sends the allow-listed body", async () => {
    const field = ghl.addCustomField(LOCATION, {
      name: "Lead score",
      fieldKey: "contact.lead_score",
      dataType: "NUMERICAL",
    });
    const result = await api.createContact(
      LOCATION,
      {
        fields: {
          firstName: "Ana",
          email: "ana@example.com",
          id: "not-writable",
          dateAdded: "2026-01-01T00:00:00.000Z",
          tags: ["vip"],
        },
        customFields: { [field.id]: 42 },
      },
      context(),
    );
    expect(result.duplicate).toBe(false);
    expect(result.stripped.sort()).toEqual(["dateAdded", "id"]);
    const [body] = bodiesOf("POST", "/contacts/");
    expect(body).toEqual({
      firstName: "Ana",
      email: "ana@example.com",
      locationId: LOCATION,
      customFields: [{ id: field.id, field_value: 42 }],
    });
    const stored = ghl.contacts.get(LOCATION)?.get(result.id);
    expect(stored?.firstName).toBe("Ana");
    expect(stored?.customFields).toEqual([{ id: field.id, value: 42 }]);
  });

  it("updateContact uses PUT by id without tags", async () => {
    const contact = ghl.userCreateContact(LOCATION, {
      firstName: "Ana",
      tags: ["keep"],
    });
    await api.updateContact(
      LOCATION,
      contact.id,
      {
        fields: {
          firstName: "Ann",
          tags: ["replace-all"],
          locationId: LOCATION,
          gender: "female",
          companyName: "Acme",
        },
      },
      context(),
    );
    const [body] = bodiesOf("PUT", "/contacts/:contactId");
    expect(body).toEqual({ firstName: "Ann" });
    expect(ghl.countRequests("POST", "/contacts/upsert")).toBe(0);
    const stored = ghl.contacts.get(LOCATION)?.get(contact.id);
    expect(stored?.firstName).toBe("Ann");
    expect(stored?.tags).toEqual(["keep"]);
  });

  it("addTags and removeTags use the tags routes", async () => {
    const contact = ghl.userCreateContact(LOCATION, { tags: ["a"] });
    expect(await api.addTags(LOCATION, contact.id, ["b"], context())).toEqual([
      "a",
      "b",
    ]);
    expect(
      await api.removeTags(LOCATION, contact.id, ["a"], context()),
    ).toEqual(["b"]);
    expect(ghl.countRequests("POST", "/contacts/:contactId/tags")).toBe(1);
    expect(ghl.countRequests("DELETE", "/contacts/:contactId/tags")).toBe(1);
  });

  it("createContact returns the existing id on a duplicate 400", async () => {
    const existing = ghl.userCreateContact(LOCATION, {
      email: "dup@example.com",
      firstName: "Old",
    });
    const result = await api.createContact(
      LOCATION,
      { fields: { email: "dup@example.com", firstName: "New" } },
      context(),
    );
    expect(result).toMatchObject({
      id: existing.id,
      duplicate: true,
      record: null,
    });
    expect(ghl.contacts.get(LOCATION)?.size).toBe(1);
    expect(ghl.contacts.get(LOCATION)?.get(existing.id)?.firstName).toBe("Old");
  });

  it("createContact throws other errors", async () => {
    await expect(
      api.createContact(LOCATION, { fields: { firstName: 7 } }, context()),
    ).rejects.toThrow(/HTTP 422/);
    expect(ghl.contacts.get(LOCATION)?.size ?? 0).toBe(0);
  });

  it("deleteContact deletes, and accepts a missing contact", async () => {
    const contact = ghl.userCreateContact(LOCATION, { firstName: "Del" });
    await api.deleteContact(LOCATION, contact.id, context());
    expect(ghl.contacts.get(LOCATION)?.has(contact.id)).toBe(false);
    await api.deleteContact(LOCATION, contact.id, context());
    expect(ghl.countRequests("DELETE", "/contacts/:contactId")).toBe(2);
  });

  it("findDuplicate looks up by email and phone", async () => {
    const contact = ghl.userCreateContact(LOCATION, {
      email: "find@example.com",
      phone: "+14155550100",
    });
    const byEmail = await api.findDuplicate(
      LOCATION,
      { email: "find@example.com" },
      context(),
    );
    expect(byEmail?.id).toBe(contact.id);
    const byPhone = await api.findDuplicate(
      LOCATION,
      { phone: "+14155550100" },
      context(),
    );
    expect(byPhone?.id).toBe(contact.id);
    expect(
      await api.findDuplicate(
        LOCATION,
        { email: "none@example.com" },
        context(),
      ),
    ).toBeNull();
  });
});

describe("writeBody", () => {
  it("keeps only fields the route accepts", () => {
    const wide = Object.fromEntries(
      ["firstName", "id", "dateUpdated", "locationId", "tags", "ssn"].map(
        (key) => [key, "x"],
      ),
    );
    for (const operation of ["create-contact", "update-contact"] as const) {
      const { body } = writeBody(operation, { fields: wide });
      const allowed = allowedFields(operation);
      for (const key of Object.keys(body)) expect(allowed.has(key)).toBe(true);
      expect(body.tags).toBeUndefined();
    }
  });
});
