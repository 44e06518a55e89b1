import { parsePhoneNumberFromString } from "libphonenumber-js";
import type { CoopelRecord } from "./ports.js";

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** One field whose mapped GHL value and Coopel value differ after normalisation. */
export interface FieldDrift {
  field: string;
  ghl: unknown;
  coopel: unknown;
}

/**
 * Brings a value to the form in which two systems' copies compare equal:
 * empty values become null, text is trimmed, phone numbers become E.164,
 * emails lower case, dates an instant (date-only values a calendar day),
 * and lists sorted sets.
 */
export function normaliseValue(field: string, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) {
    const items = value.map((item) => normaliseValue(field, item));
    return [...new Set(items.map((item) => JSON.stringify(item)))].sort();
  }
  if (typeof value !== "string") return value;
  const text = value.trim();
  if (text === "") return null;
  if (/phone/i.test(field)) {
    const parsed = parsePhoneNumberFromString(text);
    return parsed?.isPossible() ? parsed.number : text;
  }
  if (/email/i.test(field)) return text.toLowerCase();
  if (DATE_ONLY.test(text)) return text;
  if (DATE_TIME.test(text)) {
    const instant = Date.parse(text);
    if (!Number.isNaN(instant)) {
      const iso = new Date(instant).toISOString();
      // A midnight UTC date-time is a calendar date written as an instant.
      return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso;
    }
  }
  return text;
}

/** True when both values are the same after normalisation. */
export function sameValue(
  field: string,
  left: unknown,
  right: unknown,
): boolean {
  return (
    JSON.stringify(normaliseValue(field, left)) ===
    JSON.stringify(normaliseValue(field, right))
  );
}

/** Returns the mapped fields whose value differs from the Coopel record's. */
export function diffFields(
  mapped: Record<string, unknown>,
  coopel: CoopelRecord,
): FieldDrift[] {
  const drift: FieldDrift[] = [];
  for (const [field, value] of Object.entries(mapped)) {
    if (!sameValue(field, value, coopel[field]))
      drift.push({ field, ghl: value ?? null, coopel: coopel[field] ?? null });
  }
  return drift;
}

/** Tags of a record as a set of trimmed strings, compared without regard to case. */
export function tagSet(tags: unknown): Map<string, string> {
  const set = new Map<string, string>();
  if (!Array.isArray(tags)) return set;
  for (const tag of tags)
    if (typeof tag === "string" && tag.trim() !== "")
      set.set(tag.trim().toLowerCase(), tag.trim());
  return set;
}

/** Tags that GHL has and Coopel lacks, and the reverse. */
export function diffTags(
  ghlTags: unknown,
  coopelTags: unknown,
): { missingOnCoopel: string[]; extraOnCoopel: string[] } {
  const ghl = tagSet(ghlTags);
  const coopel = tagSet(coopelTags);
  return {
    missingOnCoopel: [...ghl].filter(([k]) => !coopel.has(k)).map(([, v]) => v),
    extraOnCoopel: [...coopel].filter(([k]) => !ghl.has(k)).map(([, v]) => v),
  };
}

/** Returns a string or number id as text, or null for an empty or non-scalar value. */
export function idText(value: unknown): string | null {
  if (typeof value === "string") return value === "" ? null : value;
  if (typeof value === "number") return String(value);
  return null;
}
