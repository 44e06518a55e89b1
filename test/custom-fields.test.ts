import { afterEach, describe, expect, it } from "vitest";
import { convertByType } from "../src/mapping/contact-enrichment.js";
import {
  fixture,
  GHL_TOKEN,
  LOCATION_ID,
  startHarness,
  type Harness,
} from "./helpers/harness.js";

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

const LOCATION_B = "locationB0000000000B";
const TOKEN_B = "token-of-location-b";

function coopelContact(h: Harness, ghlId: string) {
  return [...h.coopel.contacts.values()].find((c) => c.external_id === ghlId);
}

function customFieldReads(h: Harness, locationId: string) {
  return h.ghl.countRequests("GET", `/locations/${locationId}/customFields`);
}

async function send(h: Harness, payload: Record<string, unknown>) {
  const response = await h.post(payload);
  expect(response.status).toBe(200);
  await h.waitForIdle();
}

describe("custom fields by location", () => {
  it("resolves ids through each location's own definitions; an unknown id costs one refresh and is skipped", async () => {
    harness = await startHarness(
      {
        ghl: {
          locations: [
            { id: LOCATION_ID, token: GHL_TOKEN },
            { id: LOCATION_B, token: TOKEN_B },
          ],
        },
        mapping: {
          contact: { custom_fields: { "contact.lead_score": "score" } },
        },
      },
      [{ id: LOCATION_B, token: TOKEN_B }],
    );
    harness.ghl.addCustomField(LOCATION_ID, {
      id: "cfA1",
      name: "Lead score",
      fieldKey: "contact.lead_score",
      dataType: "NUMERICAL",
    });
    harness.ghl.addCustomField(LOCATION_B, {
      id: "cfB7",
      name: "Lead score",
      fieldKey: "contact.lead_score",
      dataType: "NUMERICAL",
    });

    const update = {
      ...fixture("ContactUpdate"),
      type: "ContactCreate",
      locationId: LOCATION_B,
      id: "contactInB",
      customFields: [
        { id: "cfB7", value: "42" },
        { id: "cfBnew", value: "x" },
      ],
    };
    await send(harness, update);
    const contact = coopelContact(harness, "contactInB");
    expect(contact?.score).toBe(42);
    expect(contact?.first_name).toBe("John");
    expect(customFieldReads(harness, LOCATION_B)).toBe(2);
    expect(customFieldReads(harness, LOCATION_ID)).toBe(0);

    const writesBefore = harness.coopel.requests.filter(
      (r) => r.method !== "GET",
    ).length;
    await send(harness, {
      ...update,
      type: "ContactUpdate",
      webhookId: "again",
    });
    expect(
      harness.coopel.requests.filter((r) => r.method !== "GET").length,
    ).toBe(writesBefore);
    expect(customFieldReads(harness, LOCATION_B)).toBe(2);

    await send(harness, {
      ...fixture("ContactCreate"),
      customFields: [{ id: "cfA1", value: "7" }],
    });
    expect(coopelContact(harness, "nmFmQEsNgz6AVpgLVUJ0")?.score).toBe(7);
  });

  it("a mapped field the location lacks is reported once, and the rest syncs", async () => {
    harness = await startHarness({
      mapping: {
        contact: { custom_fields: { "contact.missing_one": "gone" } },
      },
    });
    for (const webhookId of ["a", "b", "c"])
      await send(harness, {
        ...fixture("ContactUpdate"),
        webhookId,
        customFields: [{ id: "zzz", value: "1" }],
      });
    const contact = coopelContact(harness, "nmFmQEsNgz6AVpgLVUJ0");
    expect(contact?.first_name).toBe("John");
    expect(contact).not.toHaveProperty("gone");
    const reports = harness.logLines.filter((l) =>
      String(l.msg).includes("contact.missing_one"),
    );
    expect(reports).toHaveLength(1);
  });

  it("maps each data type, by id, by key and by name", async () => {
    harness = await startHarness({
      mapping: {
        default_country: "US",
        contact: {
          custom_fields: {
            cfText: "text_field",
            "contact.amount": "amount",
            Budget: "budget",
            "contact.agree": "agree",
            interests: "interests",
            "contact.renewal": "renewal",
            "contact.mobile": "mobile",
          },
        },
      },
    });
    const fields: [string, string, string][] = [
      ["cfText", "contact.notes_text", "TEXT"],
      ["cfAmount", "contact.amount", "NUMERICAL"],
      ["cfBudget", "contact.budget", "MONETORY"],
      ["cfAgree", "contact.agree", "CHECKBOX"],
      ["cfInterests", "contact.interests", "MULTIPLE_OPTIONS"],
      ["cfRenewal", "contact.renewal", "DATE"],
      ["cfMobile", "contact.mobile", "PHONE"],
    ];
    for (const [id, fieldKey, dataType] of fields)
      harness.ghl.addCustomField(LOCATION_ID, {
        id,
        name: id === "cfBudget" ? "Budget" : fieldKey,
        fieldKey,
        dataType,
      });
    await send(harness, {
      ...fixture("ContactCreate"),
      customFields: [
        { id: "cfText", value: "hello" },
        { id: "cfAmount", value: "12.5" },
        { id: "cfBudget", value: "1,250.00" },
        { id: "cfAgree", value: ["Yes"] },
        { id: "cfInterests", value: "golf, sailing" },
        { id: "cfRenewal", value: "03/05/2026" },
        { id: "cfMobile", value: "(415) 555-0132" },
      ],
    });
    expect(coopelContact(harness, "nmFmQEsNgz6AVpgLVUJ0")).toMatchObject({
      text_field: "hello",
      amount: 12.5,
      budget: 1250,
      agree: ["Yes"],
      interests: ["golf", "sailing"],
      renewal: "2026-03-05",
      mobile: "+14155550132",
    });
  });
});

describe("DND", () => {
  it("maps the channels of the official example", async () => {
    harness = await startHarness({
      mapping: {
        contact: {
          dnd: { SMS: "dnd_sms", Email: "dnd_email", WhatsApp: "dnd_whatsapp" },
        },
      },
    });
    await send(harness, {
      ...fixture("ContactDndUpdate"),
      type: "ContactCreate",
    });
    expect(coopelContact(harness, "nmFmQEsNgz6AVpgLVUJ0")).toMatchObject({
      dnd_sms: false,
      dnd_email: true,
      dnd_whatsapp: true,
    });
  });

  it("a channel the payload lacks leaves Coopel as it is", async () => {
    harness = await startHarness({
      mapping: { contact: { dnd: { SMS: "dnd_sms", Email: "dnd_email" } } },
    });
    await send(harness, {
      ...fixture("ContactDndUpdate"),
      type: "ContactCreate",
    });
    const settings = {
      SMS: { status: "active", message: "", code: "" },
    };
    await send(harness, {
      ...fixture("ContactDndUpdate"),
      dndSettings: settings,
    });
    const put = harness.coopel.requests.find((r) => r.method === "PUT");
    expect(put?.body).toEqual({ dnd_sms: true });
    expect(coopelContact(harness, "nmFmQEsNgz6AVpgLVUJ0")).toMatchObject({
      dnd_sms: true,
      dnd_email: true,
    });
  });
});

describe("businesses", () => {
  it("resolves businessId to the mapped company fields, cached", async () => {
    harness = await startHarness({
      mapping: {
        contact: {
          business: { name: "company", website: "company_website" },
        },
      },
    });
    const business = harness.ghl.addBusiness({
      name: "Acme Inc",
      website: "acme.example",
      locationId: LOCATION_ID,
    });
    await send(harness, {
      ...fixture("ContactCreate"),
      businessId: business.id,
    });
    await send(harness, {
      ...fixture("ContactUpdate"),
      businessId: business.id,
      firstName: "Jo",
    });
    expect(coopelContact(harness, "nmFmQEsNgz6AVpgLVUJ0")).toMatchObject({
      company: "Acme Inc",
      company_website: "acme.example",
    });
    expect(harness.ghl.countRequests("GET", "/businesses/:businessId")).toBe(1);
  });
});

describe("convertByType", () => {
  it.each([
    ["NUMERICAL", "42", 42],
    ["MONETORY", "$1,000.50", 1000.5],
    ["CHECKBOX", "a,b", ["a", "b"]],
    ["MULTIPLE_OPTIONS", ["x"], ["x"]],
    ["DATE", "2026-03-05T00:00:00.000Z", "2026-03-05"],
    ["TEXT", "plain", "plain"],
    ["LARGE_TEXT", "", null],
  ])("%s %j gives %j", (dataType, input, expected) => {
    expect(convertByType(input, dataType, "US").value).toEqual(expected);
  });
});
