import {
  parsePhoneNumberFromString,
  type CountryCode,
} from "libphonenumber-js";
import jsonata from "jsonata";
import type { Transform } from "../config/schema.js";

/** The result of one transform: the new value, and a warning when the input could not be converted. */
export interface TransformResult {
  value: unknown;
  warning?: string;
  /** Coopel fields to set alongside the mapped one, such as a flag for an unparsable phone. */
  extra?: Record<string, unknown>;
}

/** A compiled transform of one value; `record` is the whole GHL record, for expressions. */
export type TransformFn = (
  value: unknown,
  record: Record<string, unknown>,
) => TransformResult | Promise<TransformResult>;

/** Compiles a transform from the mapping file. `defaultCountry` applies to `e164` without its own country. */
export function compileTransform(
  transform: Transform,
  defaultCountry: string | undefined,
): TransformFn {
  if (typeof transform === "string") {
    switch (transform) {
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
      case "titlecase":
        return (value) => ({ value: toTitleCase(value) });
      case "e164":
        return (value) => toE164(value, defaultCountry);
      case "iso_date":
        return (value) => toIsoDate(value);
      case "number":
        return (value) => toNumber(value);
      case "boolean":
        return (value) => toBoolean(value);
    }
  }
  switch (transform.name) {
    case "e164": {
      const country = transform.country ?? defaultCountry;
      const flagField = transform.flag_field;
      return (value) => {
        const result = toE164(value, country);
        if (!flagField) return result;
        return {
          ...result,
          extra: { [flagField]: result.warning !== undefined },
        };
      };
    }
    case "date":
      return (value) => formatDate(value, transform.format);
    case "map":
      return mapValues(transform);
    case "default":
      return (value) => ({
        value:
          value === null || value === undefined || value === ""
            ? transform.value
            : value,
      });
    case "join":
      return (value) => ({
        value: Array.isArray(value)
          ? value
              .filter(
                (part) =>
                  part !== null &&
                  part !== undefined &&
                  String(part).trim() !== "",
              )
              .map((part) => String(part).trim())
              .join(transform.separator)
          : value,
      });
    case "split":
      return (value) => ({ value: splitName(value, transform.separator) });
    case "expression":
      return compileExpression(transform.expression);
  }
}

function toTitleCase(value: unknown): unknown {
  if (typeof value !== "string") return value;
  return value
    .toLowerCase()
    .replace(
      /(^|[\s\-'])(\p{L})/gu,
      (_match, before: string, letter: string) => before + letter.toUpperCase(),
    );
}

/** Converts numeric text (`"42"`, `"1,250.50"`) to a number; other text is kept, with a warning. */
export function toNumber(value: unknown): TransformResult {
  if (typeof value === "number") return { value };
  if (typeof value !== "string") return { value };
  const text = value
    .trim()
    .replace(/[,\s]/g, "")
    .replace(/^[$€£]/, "");
  if (text === "") return { value: null };
  const number = Number(text);
  if (Number.isFinite(number)) return { value: number };
  return { value, warning: "not a number; sent unchanged" };
}

/** Converts true/false, yes/no, 1/0 and on/off to a boolean; other values are kept, with a warning. */
export function toBoolean(value: unknown): TransformResult {
  if (typeof value === "boolean") return { value };
  const text = String(value).trim().toLowerCase();
  if (["true", "yes", "1", "on", "active"].includes(text))
    return { value: true };
  if (["false", "no", "0", "off", "inactive", ""].includes(text))
    return { value: false };
  return { value, warning: "not a boolean; sent unchanged" };
}

/**
 * Splits a full name at the first separator: `"Mary Ann Smith"` gives
 * `["Mary", "Ann Smith"]`. A single word gives `[word, null]`.
 */
export function splitName(value: unknown, separator: string): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim();
  const at = text.indexOf(separator);
  if (at < 0) return [text, null];
  return [text.slice(0, at).trim(), text.slice(at + separator.length).trim()];
}

function mapValues(transform: {
  values: Record<string, unknown>;
  default?: unknown;
  case_sensitive: boolean;
}): TransformFn {
  const table = new Map<string, unknown>();
  for (const [key, mapped] of Object.entries(transform.values))
    table.set(transform.case_sensitive ? key : key.toLowerCase(), mapped);
  const hasDefault = Object.hasOwn(transform, "default");
  return (value) => {
    if (typeof value !== "string" && typeof value !== "number")
      return { value };
    const text = String(value).trim();
    const key = transform.case_sensitive ? text : text.toLowerCase();
    if (table.has(key)) return { value: table.get(key) };
    return { value: hasDefault ? transform.default : value };
  };
}

function compileExpression(source: string): TransformFn {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(source);
  } catch (error) {
    throw new Error(
      `invalid JSONata expression ${JSON.stringify(source)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return async (value, record) => {
    try {
      const result: unknown = await expression.evaluate(record, { value });
      return { value: result === undefined ? null : result };
    } catch (error) {
      return {
        value,
        warning: `expression failed: ${(error as Error).message}; value sent unchanged`,
      };
    }
  };
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

const DATE_TOKENS = /YYYY|MM|DD/g;

/**
 * Reads a date in any layout `toIsoDate` accepts and writes it in `format`,
 * where YYYY, MM and DD stand for the year, month and day.
 */
export function formatDate(value: unknown, format: string): TransformResult {
  const iso = toIsoDate(value);
  if (iso.warning || typeof iso.value !== "string" || iso.value === "")
    return iso;
  const [year, month, day] = iso.value.split("-") as [string, string, string];
  const parts: Record<string, string> = { YYYY: year, MM: month, DD: day };
  return { value: format.replace(DATE_TOKENS, (token) => parts[token]!) };
}

const OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;
const LOCAL_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?$/;

/**
 * Converts a date-time to an ISO instant in UTC. A value with an offset keeps
 * its instant; a value without one is read as wall-clock time in `timeZone`
 * (an IANA name such as America/Chicago), never silently as UTC.
 * Throws on a value that is not a date-time.
 */
export function toInstant(value: string, timeZone: string): string {
  const text = value.trim();
  if (OFFSET.test(text)) {
    const time = Date.parse(text);
    if (Number.isNaN(time))
      throw new Error(`invalid date-time ${JSON.stringify(value)}`);
    return new Date(time).toISOString();
  }
  const match = LOCAL_DATE_TIME.exec(text);
  if (!match)
    throw new Error(
      `invalid date-time ${JSON.stringify(value)}; use ISO 8601 such as 2026-03-05T17:00:00`,
    );
  const [year, month, day, hour, minute, second, millis] = match
    .slice(1)
    .map((part) => Number(part ?? 0));
  const wall = Date.UTC(year!, month! - 1, day, hour, minute, second, millis);
  // Two passes find the offset in force at that wall-clock time, also across DST changes.
  let instant = wall - offsetMs(wall, timeZone);
  instant = wall - offsetMs(instant, timeZone);
  return new Date(instant).toISOString();
}

/** Milliseconds that `timeZone` is ahead of UTC at `instant`. */
function offsetMs(instant: number, timeZone: string): number {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
  } catch {
    throw new Error(
      `unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as America/Chicago`,
    );
  }
  const parts = Object.fromEntries(
    format
      .formatToParts(new Date(instant))
      .map((part) => [part.type, part.value]),
  );
  const asUtc = Date.UTC(
    Number(parts.year),
    Number(parts.month) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}
