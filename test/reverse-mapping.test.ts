import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import type { ConfigInput } from "../src/config/schema.js";
import { ContactMapping } from "../src/mapping/contact-mapping.js";
import { allowedFields } from "../src/mapping/ghl-allow-list.js";
import {
  comparableHashes,
  moneyFieldProblems,
  ReverseContactMapping,
} from "../src/mapping/reverse-mapping.js";

function mappingOf(mapping: ConfigInput["mapping"] = {}) {
  return parseConfig({
    coopel: { base_url: "http://127.0.0.1:9", token: "t" },
    mapping,
  }).mapping;
}

describe("ReverseContactMapping", () => {
  it("reads the field map from Coopel to GHL", async () => {
    const reverse = new ReverseContactMapping(
      mappingOf({ default_country: "US" }),
    );
    const mapped = await reverse.map({
      first_name: " Ana ",
      email: "Ana@Example.com",
      phone: "(415) 555-0100",
      postal_code: "",
      unmapped: "x",
      tags: ["vip"],
    });
    expect(mapped.fields).toEqual({
      firstName: "Ana",
      email: "ana@example.com",
      phone: "+14155550100",
      postalCode: null,
    });
    expect(mapped.tags).toEqual(["vip"]);
  });

  it("writes only fields the GHL create route accepts", () => {
    const reverse = new ReverseContactMapping(mappingOf());
    const create = allowedFields("create-contact");
    const outside = reverse.ghlFields().filter((field) => !create.has(field));
    expect(outside).toEqual([]);
  });

  it("writes only update fields except companyName", () => {
    const reverse = new ReverseContactMapping(mappingOf());
    const update = allowedFields("update-contact");
    const outside = reverse.ghlFields().filter((field) => !update.has(field));
    // UpdateContactDto has no companyName, so updates drop it.
    expect(outside).toEqual(["companyName"]);
  });

  it("rejects a transform without inverse", () => {
    expect(
      () =>
        new ReverseContactMapping(
          mappingOf({
            contact: {
              fields: {
                source: {
                  to: "source",
                  transforms: [{ name: "default", value: "ghl" }],
                },
              },
            },
          }),
        ),
    ).toThrow(/fields\.source .*default.*to_ghl_transforms/);
  });

  it("uses explicit to_ghl_transforms", async () => {
    const reverse = new ReverseContactMapping(
      mappingOf({
        contact: {
          fields: {
            source: {
              to: "origin",
              transforms: [{ name: "map", values: { web: "Website" } }],
              to_ghl_transforms: [{ name: "map", values: { Website: "web" } }],
            },
          },
        },
      }),
    );
    expect((await reverse.map({ origin: "Website" })).fields).toEqual({
      source: "web",
    });
  });

  it("maps custom fields by selector", async () => {
    const reverse = new ReverseContactMapping(
      mappingOf({
        contact: { custom_fields: { "contact.lead_score": "lead_score" } },
      }),
    );
    const mapped = await reverse.map({ lead_score: 70 });
    expect(mapped.customFields).toEqual({ "contact.lead_score": 70 });
  });
});

describe("moneyFieldProblems", () => {
  it("names a mapped GHL money field", () => {
    const reverse = new ReverseContactMapping(
      mappingOf({ contact: { custom_fields: { "contact.deal": "deal" } } }),
    );
    const problems = moneyFieldProblems(
      reverse,
      [
        {
          id: "f1",
          name: "Deal value",
          fieldKey: "contact.deal",
          dataType: "MONETORY",
        },
      ],
      "loc-1",
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("mapping.contact.custom_fields.contact.deal");
    expect(problems[0]).toContain("Deal value");
  });

  it("accepts other field types", () => {
    const reverse = new ReverseContactMapping(
      mappingOf({ contact: { custom_fields: { "contact.deal": "deal" } } }),
    );
    expect(
      moneyFieldProblems(
        reverse,
        [{ id: "f1", name: "D", fieldKey: "contact.deal", dataType: "TEXT" }],
        "loc-1",
      ),
    ).toEqual([]);
  });
});

describe("comparableHashes", () => {
  it("equal after normalisation on either side", async () => {
    const mapping = mappingOf({ default_country: "US" });
    const forward = new ContactMapping(mapping);
    const reverse = new ReverseContactMapping(mapping);
    const ghl = await comparableHashes(
      "ghl",
      { email: "ANA@example.com", phone: "+1 415-555-0100", firstName: "Ana" },
      forward,
      reverse,
    );
    const coopel = await comparableHashes(
      "coopel",
      { email: "ana@example.com", phone: "+14155550100", first_name: "Ana" },
      forward,
      reverse,
    );
    expect(coopel).toEqual(ghl);
  });
});

describe("direction config", () => {
  it("accepts every direction", () => {
    for (const direction of ["ghl_to_coopel", "coopel_to_ghl", "two_way"]) {
      const config = parseConfig({
        coopel: { base_url: "http://127.0.0.1:9", token: "t" },
        sync: { contacts: { direction } },
      });
      expect(config.sync.contacts.direction).toBe(direction);
    }
  });

  it("rejects an unknown direction by name", () => {
    expect(() =>
      parseConfig({
        coopel: { base_url: "http://127.0.0.1:9", token: "t" },
        sync: { contacts: { direction: "both" } },
      }),
    ).toThrow(/sync\.contacts\.direction: "both" is not allowed/);
  });
});
