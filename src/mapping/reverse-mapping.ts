import type { Config, FieldMapping, Transform } from "../config/schema.js";
import type {
  GhlContactWrite,
  GhlCustomFieldDefinition,
} from "../engine/ports.js";
import {
  customFieldKey,
  DEFAULT_CONTACT_FIELDS,
  hashValue,
  type ContactMapping,
} from "./contact-mapping.js";
import { findDefinition } from "./contact-enrichment.js";
import { compileTransform, type TransformFn } from "./transforms.js";

/** Transforms that only normalise a value, so the same transform serves both directions. */
const NORMALISERS: ReadonlySet<string> = new Set([
  "trim",
  "lowercase",
  "uppercase",
  "titlecase",
  "e164",
  "iso_date",
  "number",
  "boolean",
]);

/** One Coopel field written back to a GHL field or custom field. */
interface ReverseField {
  /** The Coopel field read. */
  coopel: string;
  /** The GHL contact field written, or null for a custom field. */
  ghl: string | null;
  /** The custom field selector (id, key or name), for custom fields. */
  customField: string | null;
  transforms: TransformFn[];
}

/** A Coopel contact mapped for a GHL write. */
export interface ReverseMappedContact {
  /** Standard GHL fields, by GHL name. */
  fields: Record<string, unknown>;
  /** Custom field values by the selector the mapping names them with. */
  customFields: Record<string, unknown>;
  /** Tags of the Coopel record, or null when it carried none. */
  tags: string[] | null;
  /** Each mapped field with the Coopel field it came from. */
  entries: {
    coopel: string;
    ghl: string | null;
    customField: string | null;
    value: unknown;
  }[];
  warnings: string[];
}

function transformName(transform: Transform): string {
  return typeof transform === "string" ? transform : transform.name;
}

/** The mapping problem of one field that cannot be written back to GHL. */
export class ReverseMappingError extends Error {
  override name = "ReverseMappingError";
}

/**
 * The contact field map read from Coopel to GHL. Each single-field entry
 * of `mapping.contact.fields` and `custom_fields` is read the other way:
 * the Coopel field is written to the GHL field it comes from. Its
 * `to_ghl_transforms` apply when set; otherwise its own transforms, which
 * must all be normalisers. Fields that `join` or `split`, DND channels and
 * business fields are not written back.
 */
export class ReverseContactMapping {
  private readonly fields: ReverseField[] = [];

  constructor(mapping: Config["mapping"]) {
    const contact = mapping.contact;
    const add = (
      from: string,
      spec: FieldMapping,
      customField: string | null,
    ): void => {
      if (spec === null) return;
      const target =
        typeof spec === "string" ? { to: spec, transforms: [] } : spec;
      if (Array.isArray(target.to)) return;
      if ("from" in target && target.from && target.from.length > 1) return;
      const explicit =
        "to_ghl_transforms" in target ? target.to_ghl_transforms : undefined;
      const transforms = explicit ?? target.transforms;
      if (explicit === undefined) {
        const lossy = transforms.filter(
          (t) => !NORMALISERS.has(transformName(t)),
        );
        if (lossy.length > 0)
          throw new ReverseMappingError(
            `mapping field ${customField ? `custom_fields.${customField}` : `fields.${from}`} (to ${target.to}) uses ${lossy.map(transformName).join(", ")}, which has no inverse; set to_ghl_transforms on it, or set the field to null, to sync it from Coopel to GHL`,
          );
      }
      const source = "from" in target && target.from ? target.from[0]! : from;
      this.fields.push({
        coopel: target.to,
        ghl: customField === null ? source : null,
        customField,
        transforms: transforms.map((t) =>
          compileTransform(t, mapping.default_country),
        ),
      });
    };
    const merged: Record<string, FieldMapping> = {
      ...DEFAULT_CONTACT_FIELDS,
      ...contact.fields,
    };
    for (const [from, spec] of Object.entries(merged)) add(from, spec, null);
    for (const [selector, spec] of Object.entries(contact.custom_fields))
      add(selector, spec, selector);
  }

  /** Custom field selectors written to GHL. */
  customFieldSelectors(): string[] {
    return this.fields.flatMap((f) => (f.customField ? [f.customField] : []));
  }

  /** Lists the GHL standard fields written, by name. */
  ghlFields(): string[] {
    return this.fields.flatMap((f) => (f.ghl ? [f.ghl] : []));
  }

  /**
   * Maps a Coopel contact. A field absent from the record is left out; null
   * or an empty string clears the GHL field.
   */
  async map(record: Record<string, unknown>): Promise<ReverseMappedContact> {
    const fields: Record<string, unknown> = {};
    const customFields: Record<string, unknown> = {};
    const warnings: string[] = [];
    const entries: ReverseMappedContact["entries"] = [];
    for (const field of this.fields) {
      if (!Object.hasOwn(record, field.coopel)) continue;
      let value: unknown = record[field.coopel];
      if (value === "" || value === undefined) value = null;
      if (value !== null)
        for (const transform of field.transforms) {
          const result = await transform(value, record);
          value = result.value;
          if (result.warning)
            warnings.push(`${field.coopel}: ${result.warning}`);
        }
      if (field.customField) customFields[field.customField] = value;
      else fields[field.ghl!] = value;
      entries.push({
        coopel: field.coopel,
        ghl: field.ghl,
        customField: field.customField,
        value,
      });
    }
    const rawTags = record.tags;
    const tags = Array.isArray(rawTags)
      ? rawTags.filter((t): t is string => typeof t === "string")
      : null;
    return { fields, customFields, tags, entries, warnings };
  }
}

/**
 * Builds a GHL write from reverse-mapped entries, resolving custom field
 * selectors to ids through the location's definitions. A selector that
 * matches no definition is left out with a warning.
 */
export function buildGhlWrite(
  locationId: string,
  entries: { ghl: string | null; customField: string | null; value: unknown }[],
  definitions: GhlCustomFieldDefinition[],
  warnings: string[],
): GhlContactWrite {
  const write: GhlContactWrite = { fields: {} };
  for (const entry of entries) {
    if (entry.ghl !== null) {
      write.fields[entry.ghl] = entry.value;
      continue;
    }
    const definition = findDefinition(definitions, entry.customField!);
    if (definition === undefined) {
      warnings.push(
        `custom field ${entry.customField} not found in GHL location ${locationId}; its value was not written`,
      );
      continue;
    }
    write.customFields ??= {};
    write.customFields[definition.id] = entry.value;
  }
  return write;
}

/**
 * Rejects a mapping that writes a GHL money (MONETORY) custom field, because
 * GHL's API does not write money fields. Returns the problems, naming each
 * field, for the start-up error.
 */
export function moneyFieldProblems(
  reverse: ReverseContactMapping,
  definitions: GhlCustomFieldDefinition[],
  locationId: string,
): string[] {
  const problems: string[] = [];
  for (const selector of reverse.customFieldSelectors()) {
    const definition = findDefinition(definitions, selector);
    if (definition?.dataType === "MONETORY")
      problems.push(
        `mapping.contact.custom_fields.${selector} maps to the GHL money field "${definition.name}" (${definition.fieldKey}) of location ${locationId}, which GHL's API cannot write; map it one way (direction ghl_to_coopel) or remove it`,
      );
  }
  return problems;
}

/**
 * Hashes each mapped field of a contact in one comparable form, keyed by
 * Coopel field. GHL records go through the forward mapping. Coopel records
 * go through the reverse and then the forward mapping, so a value that one
 * side normalised (phone to E.164, email to lower case) compares equal.
 */
export async function comparableHashes(
  side: "ghl" | "coopel",
  record: Record<string, unknown>,
  forward: ContactMapping,
  reverse: ReverseContactMapping,
): Promise<Record<string, string>> {
  let ghlShaped = record;
  if (side === "coopel") {
    const mapped = await reverse.map(record);
    ghlShaped = { ...mapped.fields };
    for (const [selector, value] of Object.entries(mapped.customFields))
      ghlShaped[customFieldKey(selector)] = value;
  }
  const { fields } = await forward.map(ghlShaped);
  const hashes: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields))
    hashes[key] = hashValue(value);
  return hashes;
}
