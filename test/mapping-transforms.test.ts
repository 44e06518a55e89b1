import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import type { ConfigInput } from "../src/config/schema.js";
import { ContactMapping } from "../src/mapping/contact-mapping.js";
import { toE164, toInstant } from "../src/mapping/transforms.js";

const coopel = { base_url: "http://127.0.0.1:1", token: "t" };

function mappingOf(mapping: ConfigInput["mapping"]) {
  return new ContactMapping(parseConfig({ coopel, mapping }).mapping);
}

describe("dateOfBirth layouts", () => {
  const layouts = [
    "1990/09/25",
    "09/25/1990",
    "1990-09-25",
    "09-25-1990",
    "1990.09.25",
    "09.25.1990",
    "1990_09_25",
    "09_25_1990",
  ];
  it.each(layouts)(
    "%s gives the same date in the chosen layout",
    async (input) => {
      const mapping = mappingOf({
        contact: {
          fields: {
            dateOfBirth: {
              to: "birthday",
              transforms: [{ name: "date", format: "DD.MM.YYYY" }],
            },
          },
        },
      });
      const { fields } = await mapping.map({ dateOfBirth: input });
      expect(fields.birthday).toBe("25.09.1990");
    },
  );
});

describe("phones", () => {
  const numbers: [string, string, string][] = [
    ["(415) 555-0132", "US", "+14155550132"],
    ["020 7946 0958", "GB", "+442079460958"],
    ["030 1234567", "DE", "+49301234567"],
    ["01 42 68 53 00", "FR", "+33142685300"],
    ["0412 345 678", "AU", "+61412345678"],
  ];
  it.each(numbers)("%s with default country %s", (input, country, expected) => {
    expect(toE164(input, country).value).toBe(expected);
  });
  it.each(numbers)(
    "%s in international form needs no default",
    (_input, _country, e164) => {
      expect(toE164(e164.replace(/^\+(\d{2})/, "+$1 "), undefined).value).toBe(
        e164,
      );
    },
  );
  it("a national number without a default country is flagged, not dropped", () => {
    const result = toE164("(415) 555-0132", undefined);
    expect(result.value).toBe("(415) 555-0132");
    expect(result.warning).toMatch(/not a possible phone number/);
  });
  it("an unparsable phone sets the flag field on the record", async () => {
    const mapping = mappingOf({
      contact: {
        fields: {
          phone: {
            to: "phone",
            transforms: [
              { name: "e164", country: "US", flag_field: "phone_invalid" },
            ],
          },
        },
      },
    });
    const bad = await mapping.map({ phone: "call me maybe" });
    expect(bad.fields).toEqual({ phone: "call me maybe", phone_invalid: true });
    expect(bad.warnings[0]).toMatch(/^phone: not a possible phone number/);
    const good = await mapping.map({ phone: "415 555 0132" });
    expect(good.fields).toEqual({
      phone: "+14155550132",
      phone_invalid: false,
    });
  });
});

describe("value maps, defaults, case, join, split, expressions", () => {
  it("maps GHL sources to Coopel categories with a default", async () => {
    const mapping = mappingOf({
      contact: {
        fields: {
          source: {
            to: "category",
            transforms: [
              {
                name: "map",
                values: { "facebook ads": "paid", "xyz form": "web" },
                default: "other",
              },
            ],
          },
        },
      },
    });
    expect((await mapping.map({ source: "XYZ Form" })).fields.category).toBe(
      "web",
    );
    expect((await mapping.map({ source: "walk-in" })).fields.category).toBe(
      "other",
    );
  });

  it("fills a default for an empty value", async () => {
    const mapping = mappingOf({
      contact: {
        fields: {
          country: {
            to: "country",
            transforms: ["trim", { name: "default", value: "US" }],
          },
        },
      },
    });
    expect((await mapping.map({ country: " " })).fields.country).toBe("US");
    expect((await mapping.map({ country: null })).fields.country).toBe("US");
    expect((await mapping.map({ country: "de" })).fields.country).toBe("de");
  });

  it("title-cases names", async () => {
    const mapping = mappingOf({
      contact: {
        fields: { firstName: { to: "first_name", transforms: ["titlecase"] } },
      },
    });
    expect(
      (await mapping.map({ firstName: "mary-ANN o'neil" })).fields.first_name,
    ).toBe("Mary-Ann O'Neil");
  });

  it("joins first and last name and splits a full name", async () => {
    const mapping = mappingOf({
      contact: {
        fields: {
          fullName: {
            from: ["firstName", "lastName"],
            to: "full_name",
            transforms: [{ name: "join", separator: " " }],
          },
          name: {
            to: ["given_name", "family_name"],
            transforms: ["trim", { name: "split", separator: " " }],
          },
        },
      },
    });
    const { fields } = await mapping.map({
      firstName: "Mary",
      lastName: "Ann Smith",
      name: " Mary Ann Smith ",
    });
    expect(fields.full_name).toBe("Mary Ann Smith");
    expect(fields.given_name).toBe("Mary");
    expect(fields.family_name).toBe("Ann Smith");
    const single = await mapping.map({ name: "Cher" });
    expect(single.fields).toEqual({ given_name: "Cher", family_name: null });
  });

  it("evaluates an expression over the value and the contact", async () => {
    const mapping = mappingOf({
      contact: {
        fields: {
          email: {
            to: "email_domain",
            transforms: [
              {
                name: "expression",
                expression: "$substringAfter($value, '@') & '/' & country",
              },
            ],
          },
        },
      },
    });
    const { fields } = await mapping.map({
      email: "a@example.com",
      country: "DE",
    });
    expect(fields.email_domain).toBe("example.com/DE");
  });

  it("rejects an invalid expression at start, naming it", () => {
    expect(() =>
      mappingOf({
        contact: {
          fields: {
            email: {
              to: "x",
              transforms: [{ name: "expression", expression: "$$(" }],
            },
          },
        },
      }),
    ).toThrow(/invalid JSONata expression "\$\$\("/);
  });
});

describe("toInstant", () => {
  it("reads a time without offset in the given time zone", () => {
    expect(toInstant("2026-03-05T17:00:00", "America/Chicago")).toBe(
      "2026-03-05T23:00:00.000Z",
    );
  });
  it("follows daylight saving time", () => {
    expect(toInstant("2026-07-05T17:00:00", "America/Chicago")).toBe(
      "2026-07-05T22:00:00.000Z",
    );
  });
  it("keeps the instant of a value with an offset", () => {
    const instant = toInstant("2026-03-05T17:00:00-06:00", "Europe/Berlin");
    expect(instant).toBe("2026-03-05T23:00:00.000Z");
    expect(toInstant(instant, "America/Chicago")).toBe(instant);
  });
  it("rejects an unknown time zone with its name", () => {
    expect(() => toInstant("2026-03-05T17:00:00", "Mars/Olympus")).toThrow(
      /unknown time zone "Mars\/Olympus"/,
    );
  });
  it("rejects text that is not a date-time", () => {
    expect(() => toInstant("next tuesday", "UTC")).toThrow(/invalid date-time/);
  });
});
