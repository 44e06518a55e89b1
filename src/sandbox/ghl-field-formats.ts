/** Normalisation of contact values the way GHL stores them: tags, phones, custom fields and birth dates. */
import {
  isSupportedCountry,
  parsePhoneNumberFromString,
  type CountryCode,
} from "libphonenumber-js";
import type { GhlContact, GhlCustomFieldValue } from "./ghl-contact-fields.js";
import { unprocessable } from "./ghl-errors.js";

export function normaliseTags(tags: string[]): string[] {
  return [
    ...new Set(tags.map((tag) => tag.trim()).filter((tag) => tag !== "")),
  ];
}

/**
 * Returns a phone number in E.164. Numbers without `+` are read as national numbers of `country`.
 * NOTE: the real API's reply to an unparseable phone is not documented; the sandbox returns 422.
 */
export function normalisePhone(
  phone: string,
  country: string | undefined,
): string {
  const region =
    country !== undefined && isSupportedCountry(country.toUpperCase())
      ? country.toUpperCase()
      : "US";
  const parsed = parsePhoneNumberFromString(phone, region as CountryCode);
  if (parsed === undefined || !parsed.isPossible()) {
    throw unprocessable([`phone must be a valid phone number, got "${phone}"`]);
  }
  return parsed.number;
}

export function mergeCustomFields(
  current: GhlCustomFieldValue[],
  written: unknown[],
): GhlCustomFieldValue[] {
  const merged = new Map(current.map((field) => [field.id, field.value]));
  for (const item of written) {
    const field = (
      typeof item === "object" && item !== null ? item : {}
    ) as Record<string, unknown>;
    const id =
      typeof field.id === "string"
        ? field.id
        : typeof field.key === "string"
          ? field.key
          : undefined;
    if (id === undefined) {
      throw unprocessable([
        "each value in customFields must have an id or a key",
      ]);
    }
    // Write format is {id|key, field_value}; read format {id, value} is accepted too.
    const value = "field_value" in field ? field.field_value : field.value;
    if (value === null || value === "" || value === undefined)
      merged.delete(id);
    else merged.set(id, value);
  }
  return [...merged].map(([id, value]) => ({ id, value }));
}

const YEAR_FIRST = /^(\d{4})[-/._](\d{1,2})[-/._](\d{1,2})(T[\d:.]+Z?)?$/;
const MONTH_FIRST = /^(\d{1,2})[-/._](\d{1,2})[-/._](\d{4})$/;

/** Accepts the documented input formats (YYYY-MM-DD, MM/DD/YYYY, ... with - / . or _) and ISO date-times. */
export function applyDateOfBirth(contact: GhlContact, value: unknown): void {
  if (value === null || value === "") {
    delete contact.dateOfBirth;
    delete contact.birthMonth;
    delete contact.birthDay;
    return;
  }
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const yearFirst = YEAR_FIRST.exec(text);
  const monthFirst = MONTH_FIRST.exec(text);
  const [year, month, day] = yearFirst
    ? [yearFirst[1], yearFirst[2], yearFirst[3]]
    : monthFirst
      ? [monthFirst[3], monthFirst[1], monthFirst[2]]
      : [];
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (
    year === undefined ||
    Number.isNaN(date.getTime()) ||
    date.getUTCDate() !== Number(day)
  ) {
    throw unprocessable([
      `dateOfBirth must be a date such as 1990-09-25, got "${text}"`,
    ]);
  }
  contact.dateOfBirth = date.toISOString();
  contact.birthMonth = date.getUTCMonth();
  contact.birthDay = date.getUTCDate();
}
