import { describe, expect, it } from "vitest";
import { ContactMapping } from "../src/mapping/contact-mapping.js";
import { toE164, toIsoDate } from "../src/mapping/transforms.js";
import { parseConfig } from "../src/config/load.js";

const baseConfig = { coopel: { base_url: "http://127.0.0.1:1", token: "t" } };

describe("toIsoDate", () => {
  it.each([
    "1990/09/25",
    "09/25/1990",
    "1990-09-25",
    "09-25-1990",
    "1990.09.25",
    "09.25.1990",
    "1990_09_25",
    "09_25_1990",
    "1990-09-25T00:00:00.000Z",
  ])("reads %s as 1990-09-25", (input) => {
    expect(toIsoDate(input)).toEqual({ value: "1990-09-25" });
  });

  it("flags an impossible date and keeps it", () => {
    const result = toIsoDate("1990-02-31");
    expect(result.value).toBe("1990-02-31");
    expect(result.warning).toMatch(/not a recognised date/);
  });
});

describe("toE164", () => {
  it.each([
    ["(415) 555-0132", "US", "+14155550132"],
    ["415.555.0199", "US", "+14155550199"],
    ["+44 20 7946 0958", "US", "+442079460958"],
    ["+49 30 1234567", undefined, "+49301234567"],
    ["030 1234567", "DE", "+49301234567"],
  ])("converts %s with default %s", (input, country, expected) => {
    expect(toE164(input, country)).toEqual({ value: expected });
  });

  it("flags a phone that does not parse", () => {
    const result = toE164("call me", "US");
    expect(result.value).toBe("call me");
    expect(result.warning).toMatch(/not a possible phone number/);
  });
});

describe("ContactMapping", () => {
  it("maps the default fields and leaves absent ones out", async () => {
    const mapping = new ContactMapping(parseConfig(baseConfig).mapping);
    const mapped = await mapping.map({
      firstName: " Ana ",
      email: "Ana@Example.COM",
      tags: ["a"],
    });
    expect(mapped.fields).toEqual({
      first_name: "Ana",
      email: "ana@example.com",
    });
    expect(mapped.tags).toEqual(["a"]);
  });

  it("clears on null and empty string", async () => {
    const mapping = new ContactMapping(parseConfig(baseConfig).mapping);
    expect((await mapping.map({ lastName: null, city: "" })).fields).toEqual({
      last_name: null,
      city: null,
    });
  });

  it("skips empties when ignore_empty is set", async () => {
    const config = parseConfig({
      ...baseConfig,
      mapping: { contact: { ignore_empty: true } },
    });
    expect(
      (
        await new ContactMapping(config.mapping).map({
          lastName: null,
          city: "",
        })
      ).fields,
    ).toEqual({});
  });

  it("renames, drops and adds transforms", async () => {
    const config = parseConfig({
      ...baseConfig,
      mapping: {
        contact: {
          fields: {
            companyName: "company",
            website: null,
            source: { to: "origin", transforms: ["uppercase"] },
          },
        },
      },
    });
    const { fields } = await new ContactMapping(config.mapping).map({
      companyName: "Acme",
      website: "x",
      source: "form",
    });
    expect(fields).toEqual({ company: "Acme", origin: "FORM" });
  });
});
