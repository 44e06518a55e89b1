import {
  parsePhoneNumberFromString,
  type CountryCode,
} from "libphonenumber-js";
import type { Transform } from "../config/schema.js";

/** The result of one transform: the new value, and a warning when the input could not be converted. */
export interface TransformResult {
  value: unknown;
  warning?: string;
}

/** A compiled transform: a pure function of one value. */
export type TransformFn = (value: unknown) => TransformResult;

/** Compiles a transform from the mapping file. `defaultCountry` applies to `e164` without its own country. */
export function compileTransform(
  transform: Transform,
  defaultCountry: string | undefined,
): TransformFn {
  const name = typeof transform === "string" ? transform : transform.name;
  switch (name) {
    case "trim":
      return (value) => ({
        value: typeof value === "string" ? value.trim() : value,
      });
    case "lowercase":
      return (value) => ({
        value: typeof value === "string" ? value.toLowerCase() : value,
      });
    case "uppercase":
      return (value) => ({
        value: typeof value === "string" ? value.toUpperCase() : value,
      });
    case "e164": {
      const country =
        (typeof transform === "object" ? transform.country : undefined) ??
        defaultCountry;
      return (value) => toE164(value, country);
    }
    case "iso_date":
      return (value) => toIsoDate(value);
  }
}

/** Converts a phone number to E.164; a number that does not parse is kept as given, with a warning. */
export function toE164(
  value: unknown,
  defaultCountry: string | undefined,
): TransformResult {
  if (typeof value !== "string" && typeof value !== "number") return { value };
  const text = String(value).trim();
  if (text === "") return { value: text };
  const parsed = parsePhoneNumberFromString(
    text,
    defaultCountry as CountryCode | undefined,
  );
  if (parsed?.isPossible()) return { value: parsed.number };
  const country = defaultCountry ?? "none";
  return {
    value: text,
    warning: `not a possible phone number with default country ${country}; sent unchanged`,
  };
}

const YEAR_FIRST = /^(\d{4})[-/._](\d{1,2})[-/._](\d{1,2})$/;
const MONTH_FIRST = /^(\d{1,2})[-/._](\d{1,2})[-/._](\d{4})$/;
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Converts a date to `YYYY-MM-DD`. Accepts the layouts GHL accepts for
 * dateOfBirth (YYYY/MM/DD, MM/DD/YYYY with `-`, `/`, `.` or `_` between
 * parts) and ISO date-times, whose calendar date is kept as written.
 */
export function toIsoDate(value: unknown): TransformResult {
  if (typeof value !== "string") return { value };
  const text = value.trim();
  if (text === "") return { value: text };

  let parts: [string, string, string] | null = null;
  const yearFirst = YEAR_FIRST.exec(text) ?? ISO_DATE_TIME.exec(text);
  if (yearFirst) parts = [yearFirst[1]!, yearFirst[2]!, yearFirst[3]!];
  const monthFirst = MONTH_FIRST.exec(text);
  if (monthFirst) parts = [monthFirst[3]!, monthFirst[1]!, monthFirst[2]!];

  if (parts) {
    const [year, month, day] = parts.map(Number) as [number, number, number];
    const date = new Date(Date.UTC(year, month - 1, day));
    if (
      date.getUTCFullYear() === year &&
      date.getUTCMonth() === month - 1 &&
      date.getUTCDate() === day
    ) {
      return { value: date.toISOString().slice(0, 10) };
    }
  }
  return {
    value: text,
    warning: "not a recognised date layout; sent unchanged",
  };
}
