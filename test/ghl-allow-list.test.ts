import { describe, expect, it } from "vitest";
import { DEFAULT_CONTACT_FIELDS } from "../src/mapping/contact-mapping.js";
import {
  allowedFields,
  stripToAllowList,
} from "../src/mapping/ghl-allow-list.js";

describe("GHL allow-lists from the official spec", () => {
  it("update-contact rejects locationId, gender, companyName and read-only fields", () => {
    const { body, stripped } = stripToAllowList("update-contact", {
      firstName: "Ana",
      locationId: "loc",
      gender: "female",
      companyName: "Acme",
      id: "c1",
      dateAdded: "2026-01-01",
      additionalEmails: [],
    });
    expect(body).toEqual({ firstName: "Ana" });
    expect(stripped.sort()).toEqual(
      [
        "additionalEmails",
        "companyName",
        "dateAdded",
        "gender",
        "id",
        "locationId",
      ].sort(),
    );
  });

  it("covers every mapped contact field on create", () => {
    const create = allowedFields("create-contact");
    const outside = Object.keys(DEFAULT_CONTACT_FIELDS).filter(
      (field) => !create.has(field),
    );
    expect(outside).toEqual([]);
  });

  it("covers every mapped contact field on update except companyName", () => {
    const update = allowedFields("update-contact");
    const outside = Object.keys(DEFAULT_CONTACT_FIELDS).filter(
      (field) => !update.has(field),
    );
    // The spec's UpdateContactDto has no companyName, so a write back to GHL must drop it.
    expect(outside).toEqual(["companyName"]);
  });

  it("covers task and note fields", () => {
    expect([...allowedFields("create-task")].sort()).toEqual(
      ["assignedTo", "body", "completed", "dueDate", "title"].sort(),
    );
    expect(allowedFields("create-note").has("body")).toBe(true);
    expect(allowedFields("create-note").has("contactId")).toBe(false);
  });
});
