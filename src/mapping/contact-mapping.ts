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
  /** GHL payload keys read; several for `join`. */
  from: string[];
  /** Coopel fields written; several for `split`. */
  to: string[];
  transforms: TransformFn[];
  /** The transforms as written, for display: `e164` or `e164(GB)`. */
  transformNames: string[];
}

/** One mapped field as the dashboard shows it. */
export interface FieldRule {
  /** GHL fields read; several for `join`. */
  from: string[];
  /** Coopel fields written; several for `split`. */
  to: string[];
  transforms: string[];
}

/** Payload key under which the contact enricher puts a resolved custom field value. */
export function customFieldKey(selector: string): string {
  return `customFields.${selector}`;
}

/** Payload key under which the contact enricher puts a DND channel's status as a boolean. */
export function dndKey(channel: string): string {
  return `dndSettings.${channel}`;
}

/** Payload key under which the contact enricher puts a field of the contact's business. */
export function businessKey(field: string): string {
  return `business.${field}`;
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
  /** Custom field selectors (id, `contact.xxx` key or name) that the mapping reads. */
  readonly customFieldSelectors: string[];
  /** DND channels that the mapping reads. */
  readonly dndChannels: string[];
  /** Business fields that the mapping reads; empty when no business is mapped. */
  readonly businessFields: string[];

  constructor(mapping: Config["mapping"]) {
    const contact = mapping.contact;
    const compile = (from: string, spec: FieldMapping): void => {
      if (spec === null) return;
      const target =
        typeof spec === "string" ? { to: spec, transforms: [] } : spec;
      this.fields.push({
        from: "from" in target && target.from ? target.from : [from],
        to: Array.isArray(target.to) ? target.to : [target.to],
        transforms: target.transforms.map((t) =>
          compileTransform(t, mapping.default_country),
        ),
        transformNames: target.transforms.map((t) =>
          typeof t === "string"
            ? t
            : t.name === "e164" && t.country
              ? `e164(${t.country})`
              : t.name,
        ),
      });
    };
    this.fields = [];
    const merged: Record<string, FieldMapping> = {
      ...DEFAULT_CONTACT_FIELDS,
      ...contact.fields,
    };
    for (const [from, spec] of Object.entries(merged)) compile(from, spec);
    for (const [selector, spec] of Object.entries(contact.custom_fields))
      compile(customFieldKey(selector), spec);
    for (const [channel, to] of Object.entries(contact.dnd))
      if (to) compile(dndKey(channel), to);
    for (const [field, spec] of Object.entries(contact.business))
      compile(businessKey(field), spec);

    this.customFieldSelectors = Object.keys(contact.custom_fields);
    this.dndChannels = Object.keys(contact.dnd);
    this.businessFields = Object.keys(contact.business);
    this.ignoreEmpty = contact.ignore_empty;
    this.tagsOnCreate = contact.tags_on_create;
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
    return this.fields.flatMap((f) => f.to);
  }

  /**
   * Maps a GHL contact payload. A field absent from the payload is unknown
   * and left out; null or an empty string clears the field unless
   * `ignore_empty` is set, in which case it is left out too. Transforms run
   * on empty values as well, so a `default` can fill them. A `join` field is
   * mapped when any of its sources is present.
   */
  async map(payload: Record<string, unknown>): Promise<MappedContact> {
    const fields: Record<string, unknown> = {};
    const warnings: string[] = [];
    const put = (to: string, value: unknown): void => {
      if (isEmpty(value)) {
        if (!this.ignoreEmpty) fields[to] = null;
        return;
      }
      fields[to] = value;
    };
    for (const field of this.fields) {
      const present = field.from.filter(
        (from) => Object.hasOwn(payload, from) && payload[from] !== undefined,
      );
      if (present.length === 0) continue;
      let value: unknown =
        field.from.length > 1
          ? field.from.map((from) => payload[from] ?? null)
          : payload[field.from[0]!];
      for (const transform of field.transforms) {
        const result = await transform(value, payload);
        value = result.value;
        if (result.warning)
          warnings.push(`${field.from.join("+")}: ${result.warning}`);
        if (result.extra) Object.assign(fields, result.extra);
      }
      if (field.to.length === 1) {
        put(field.to[0]!, value);
        continue;
      }
      const parts = Array.isArray(value) ? value : [value];
      field.to.forEach((to, index) => put(to, parts[index] ?? null));
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

/** Hashes one field value to the short form stored in a link. */
export function hashValue(value: unknown): string {
  return createHash("sha256")
    .update(JSON.stringify(value ?? null))
    .digest("base64url")
    .slice(0, 22);
}

/** Returns the fields whose value differs from the hash stored for them. */
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

/** Returns the stored hashes updated with the values just written. */
export function mergeHashes(
  stored: Record<string, string>,
  written: Record<string, unknown>,
): Record<string, string> {
  const merged = { ...stored };
  for (const [key, value] of Object.entries(written))
    merged[key] = hashValue(value);
  return merged;
}
