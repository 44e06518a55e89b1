import { mergeHashes, type MappedContact } from "../mapping/contact-mapping.js";
import { ApiError } from "./errors.js";
import { diffFields, diffTags, idText } from "./field-compare.js";
import type { CallContext, CoopelClient, CoopelRecord, Link } from "./ports.js";

/** Builds the Coopel body that creates a GHL contact: every non-empty mapped field, its tags and the external id. */
export function createBody(
  mapped: MappedContact,
  ghlId: string,
  coopel: CoopelClient,
  withTags: boolean,
): CoopelRecord {
  const body: CoopelRecord = {};
  for (const [key, value] of Object.entries(mapped.fields))
    if (value !== null) body[key] = value;
  if (withTags && mapped.tags && mapped.tags.length > 0)
    body.tags = mapped.tags;
  if (coopel.externalIdField) body[coopel.externalIdField] = ghlId;
  return body;
}

/**
 * Returns the fields to write when a GHL contact is linked to an existing Coopel
 * contact: non-empty mapped values that differ from Coopel's. Empty GHL
 * values do not clear Coopel fields here, so a first sync never erases data
 * that only Coopel has. The external id is set when it is missing.
 */
export function fillBody(
  mapped: MappedContact,
  ghlId: string,
  record: CoopelRecord,
  coopel: CoopelClient,
): CoopelRecord {
  const body: CoopelRecord = {};
  for (const drift of diffFields(mapped.fields, record))
    if (drift.ghl !== null) body[drift.field] = drift.ghl;
  const field = coopel.externalIdField;
  if (field && idText(record[field]) !== ghlId) body[field] = ghlId;
  return body;
}

/** Builds a contact link whose hashes record the mapped fields that now equal Coopel's. */
export function contactLink(options: {
  locationId: string;
  ghlId: string;
  coopelAccountId: string;
  coopelId: string;
  mapped: MappedContact;
  /** The Coopel record after the write. */
  record: CoopelRecord;
  sourceUpdatedAt: number | null;
  now: number;
}): Link {
  const equal: Record<string, unknown> = {};
  const drifted = new Set(
    diffFields(options.mapped.fields, options.record).map((d) => d.field),
  );
  for (const [key, value] of Object.entries(options.mapped.fields))
    if (!drifted.has(key)) equal[key] = value;
  return {
    entity: "contact",
    ghlLocationId: options.locationId,
    ghlId: options.ghlId,
    coopelAccountId: options.coopelAccountId,
    coopelId: options.coopelId,
    fieldHashes: mergeHashes({}, equal),
    deletedAt: null,
    sourceUpdatedAt: options.sourceUpdatedAt,
    updatedAt: options.now,
    tags: options.mapped.tags,
  };
}

/** Epoch milliseconds of a GHL record's `dateUpdated`, or null. */
export function updatedAtOf(record: Record<string, unknown>): number | null {
  const value = record.dateUpdated;
  if (typeof value !== "string") return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : time;
}

/** Tags GHL has that Coopel lacks; tags only Coopel has stay. */
export function tagsToAdd(
  mapped: MappedContact,
  record: CoopelRecord,
): string[] {
  if (!mapped.tags) return [];
  return diffTags(mapped.tags, record.tags).missingOnCoopel;
}

/**
 * Runs `work` up to `attempts` times while it fails with a retryable API
 * error (no response, 408, 429, 5xx), waiting longer each time and honouring
 * Retry-After.
 */
export async function withRetries<T>(
  work: () => Promise<T>,
  attempts = 4,
  baseMs = 200,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (
        attempt >= attempts ||
        !(error instanceof ApiError) ||
        !error.retryable
      )
        throw error;
      const waitMs =
        error.retryAfterSeconds !== null
          ? error.retryAfterSeconds * 1000
          : baseMs * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/** Applies a contact's writes to Coopel: the field update, then the missing tags. */
export async function writeFill(
  coopel: CoopelClient,
  coopelId: string,
  body: CoopelRecord,
  addTags: string[],
  context: CallContext,
): Promise<CoopelRecord | null> {
  let updated: CoopelRecord | null = null;
  if (Object.keys(body).length > 0)
    updated = await withRetries(() =>
      coopel.updateContact(coopelId, body, context),
    );
  if (addTags.length > 0 && coopel.supports("add_tags"))
    await withRetries(() => coopel.addTags(coopelId, addTags, context));
  return updated;
}
