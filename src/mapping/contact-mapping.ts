import { createHash } from "node:crypto";
import type { Config, FieldMapping, Transform } from "../config/schema.js";
import { compileTransform, type TransformFn } from "./transforms.js";

/** The default contact field map, GHL field name to Coopel field and transforms. */
export const DEFAULT_CONTACT_FIELDS: Record<
  string,
  { to: string; transforms: Transform[] }
> = {
  firstName: { to: "first_name", transforms: ["trim"] },
  lastName: { to: "last_name", transforms: ["trim"] },
  email: { to: "email", transforms: ["trim", "lowercase"] },
  phone: { to: "phone", transforms: ["e164"] },
  companyName: { to: "company_name", transforms: ["trim"] },
  address1: { to: "address1", transforms: ["trim"] },
  city: { to: "city", transforms: ["trim"] },
  state: { to: "state", transforms: ["trim"] },
  postalCode: { to: "postal_code", transforms: ["trim"] },
  country: { to: "country", transforms: ["trim", "uppercase"] },
  website: { to: "website", transforms: ["trim"] },
  dateOfBirth: { to: "date_of_birth", transforms: ["iso_date"] },
  source: { to: "source", transforms: ["trim"] },
};

interface CompiledField {
  from: string;
  to: string;
  transforms: TransformFn[];
  /** The transforms as written, for display: `e164` or `e164(GB)`. */
  transformNames: string[];
}

/** One mapped field as the dashboard shows it. */
export interface FieldRule {
  from: string;
  to: string;
  transforms: string[];
}

/** A GHL contact mapped to Coopel fields. */
export interface MappedContact {
  /** Fields for an update: only those present in the payload; null clears a field. */
  fields: Record<string, unknown>;
  /** Tags from the payload, or null when the payload carried none. */
  tags: string[] | null;
  /** One line per field that could not be converted, naming the field. */
  warnings: string[];
}

/** Compiled contact mapping from GHL webhook payloads to Coopel bodies. */
export class ContactMapping {
  private readonly fields: CompiledField[];
  private readonly ignoreEmpty: boolean;
  readonly tagsOnCreate: boolean;

  constructor(mapping: Config["mapping"]) {
    const merged: Record<string, FieldMapping> = {
      ...DEFAULT_CONTACT_FIELDS,
      ...mapping.contact.fields,
    };
    this.fields = [];
    for (const [from, spec] of Object.entries(merged)) {
      if (spec === null) continue;
      const target =
        typeof spec === "string" ? { to: spec, transforms: [] } : spec;
      this.fields.push({
        from,
        to: target.to,
        transforms: target.transforms.map((t) =>
          compileTransform(t, mapping.default_country),
        ),
        transformNames: target.transforms.map((t) =>
          typeof t === "string"
            ? t
            : `${t.name}${t.country ? `(${t.country})` : ""}`,
        ),
      });
    }
    this.ignoreEmpty = mapping.contact.ignore_empty;
    this.tagsOnCreate = mapping.contact.tags_on_create;
  }

  /** The field rules in force, defaults merged with the config, in order. */
  rules(): FieldRule[] {
    return this.fields.map((f) => ({
      from: f.from,
      to: f.to,
      transforms: [...f.transformNames],
    }));
  }

  /** Names of the Coopel fields this mapping writes. */
  targetFields(): string[] {
    return this.fields.map((f) => f.to);
  }

  /**
   * Maps a GHL contact payload. A field absent from the payload is unknown
   * and left out; null or an empty string clears the field unless
   * `ignore_empty` is set, in which case it is left out too.
   */
  map(payload: Record<string, unknown>): MappedContact {
    const fields: Record<string, unknown> = {};
    const warnings: string[] = [];
    for (const field of this.fields) {
      if (!Object.hasOwn(payload, field.from)) continue;
      let value = payload[field.from];
      if (value === undefined) continue;
      if (isEmpty(value)) {
        if (!this.ignoreEmpty) fields[field.to] = null;
        continue;
      }
      for (const transform of field.transforms) {
        const result = transform(value);
        value = result.value;
        if (result.warning) warnings.push(`${field.from}: ${result.warning}`);
      }
      if (isEmpty(value)) {
        if (!this.ignoreEmpty) fields[field.to] = null;
        continue;
      }
      fields[field.to] = value;
    }
    const rawTags = payload.tags;
    const tags = Array.isArray(rawTags)
      ? rawTags.filter((t): t is string => typeof t === "string")
      : null;
    return { fields, tags, warnings };
  }
}

function isEmpty(value: unknown): boolean {
  return value === null || (typeof value === "string" && value.trim() === "");
}

/** A short hash of one field value, as stored in a link. */
export function hashValue(value: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify(value ?? null))
    .digest("base64url")
    .slice(0, 22);
}

/** The fields whose value differs from the hash stored for them. */
export function changedFields(
  fields: Record<string, unknown>,
  stored: Record<string, string>,
): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (stored[key] !== hashValue(value)) changed[key] = value;
  }
  return changed;
}

/** The stored hashes updated with the values just written. */
export function mergeHashes(
  stored: Record<string, string>,
  written: Record<string, unknown>,
): Record<string, string> {
  const merged = { ...stored };
  for (const [key, value] of Object.entries(written))
    merged[key] = hashValue(value);
  return merged;
}
