import type {
  CallContext,
  GhlApi,
  GhlCustomFieldDefinition,
  GhlRecord,
  Logger,
} from "../engine/ports.js";
import {
  businessKey,
  customFieldKey,
  dndKey,
  type ContactMapping,
} from "./contact-mapping.js";
import { toE164, toIsoDate, toNumber } from "./transforms.js";

export interface ContactEnricherOptions {
  ghl: GhlApi;
  mapping: ContactMapping;
  logger: Logger;
  defaultCountry?: string;
  /** How long field definitions and businesses stay cached; default 10 minutes. */
  cacheMs?: number;
  now?: () => number;
}

interface DefinitionCache {
  definitions: GhlCustomFieldDefinition[];
  fetchedAt: number;
  /** Ids that already caused a refresh, so each unknown id costs at most one. */
  refreshedFor: Set<string>;
}

/**
 * Adds to a GHL contact payload what the mapping needs and the payload does
 * not carry directly: custom field values resolved through the location's
 * own field definitions and converted by data type, per-channel DND status,
 * and the fields of the contact's business. Each lands under its own key
 * (see `customFieldKey`, `dndKey`, `businessKey`), so the mapping can read it.
 */
export class ContactEnricher {
  private readonly definitions = new Map<string, DefinitionCache>();
  private readonly businesses = new Map<
    string,
    { record: GhlRecord | null; fetchedAt: number }
  >();
  /** `location/selector` pairs already reported missing, so each is logged once. */
  private readonly reported = new Set<string>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(private readonly options: ContactEnricherOptions) {
    this.cacheMs = options.cacheMs ?? 600_000;
    this.now = options.now ?? Date.now;
  }

  async enrich(
    locationId: string,
    payload: Record<string, unknown>,
    context: CallContext,
  ): Promise<{ payload: Record<string, unknown>; warnings: string[] }> {
    const enriched = { ...payload };
    const warnings: string[] = [];
    const { mapping } = this.options;
    if (
      mapping.customFieldSelectors.length > 0 &&
      Array.isArray(payload.customFields)
    )
      await this.addCustomFields(locationId, enriched, warnings, context);
    if (mapping.dndChannels.length > 0) addDnd(enriched, mapping.dndChannels);
    if (mapping.businessFields.length > 0)
      await this.addBusiness(locationId, enriched, context);
    return { payload: enriched, warnings };
  }

  /** The location's definitions, fetched when missing, stale, or when `unknownIds` holds ids not refreshed for yet. */
  async definitionsFor(
    locationId: string,
    context: CallContext,
    unknownIds: string[] = [],
  ): Promise<GhlCustomFieldDefinition[]> {
    let cache = this.definitions.get(locationId);
    const stale = !cache || this.now() - cache.fetchedAt > this.cacheMs;
    const fresh = unknownIds.filter((id) => !cache?.refreshedFor.has(id));
    if (stale || fresh.length > 0) {
      const definitions = await this.options.ghl.listCustomFields(
        locationId,
        context,
      );
      cache = {
        definitions,
        fetchedAt: this.now(),
        refreshedFor: new Set([...(cache?.refreshedFor ?? []), ...fresh]),
      };
      this.definitions.set(locationId, cache);
    }
    return cache!.definitions;
  }

  private async addCustomFields(
    locationId: string,
    payload: Record<string, unknown>,
    warnings: string[],
    context: CallContext,
  ): Promise<void> {
    const values = new Map<string, unknown>();
    for (const item of payload.customFields as unknown[]) {
      if (item === null || typeof item !== "object") continue;
      const { id, value } = item as { id?: unknown; value?: unknown };
      if (typeof id === "string") values.set(id, value);
    }
    let definitions = await this.definitionsFor(locationId, context);
    const known = new Set(definitions.map((d) => d.id));
    const unknown = [...values.keys()].filter((id) => !known.has(id));
    const selectors = this.options.mapping.customFieldSelectors;
    const unresolved = selectors.filter(
      (selector) => findDefinition(definitions, selector) === undefined,
    );
    if (unknown.length > 0 || unresolved.length > 0) {
      definitions = await this.definitionsFor(locationId, context, [
        ...unknown,
        ...unresolved.map((selector) => `selector:${selector}`),
      ]);
    }
    for (const selector of selectors) {
      const definition = findDefinition(definitions, selector);
      if (definition === undefined) {
        this.reportOnce(
          locationId,
          selector,
          warnings,
          `custom field ${JSON.stringify(selector)} is mapped but location ${locationId} has no such field; it is skipped for this location`,
        );
        continue;
      }
      // A field the payload does not list is unknown, never cleared.
      if (!values.has(definition.id)) continue;
      const converted = convertByType(
        values.get(definition.id),
        definition.dataType,
        this.options.defaultCountry,
      );
      if (converted.warning)
        warnings.push(`custom field ${selector}: ${converted.warning}`);
      payload[customFieldKey(selector)] = converted.value;
    }
    for (const id of unknown) {
      if (definitions.some((d) => d.id === id)) continue;
      this.options.logger.debug(
        { locationId, customFieldId: id },
        "custom field id not in the location's definitions; skipped",
      );
    }
  }

  private reportOnce(
    locationId: string,
    selector: string,
    warnings: string[],
    message: string,
  ): void {
    const key = `${locationId}/${selector}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    warnings.push(message);
    this.options.logger.warn({ locationId, customField: selector }, message);
  }

  /** The business, from the cache while it is fresh; null when GHL has none with that id. */
  async businessFor(
    locationId: string,
    businessId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    const key = `${locationId}/${businessId}`;
    const cached = this.businesses.get(key);
    if (cached && this.now() - cached.fetchedAt <= this.cacheMs)
      return cached.record;
    const record = await this.options.ghl.getBusiness(
      locationId,
      businessId,
      context,
    );
    this.businesses.set(key, { record, fetchedAt: this.now() });
    return record;
  }

  private async addBusiness(
    locationId: string,
    payload: Record<string, unknown>,
    context: CallContext,
  ): Promise<void> {
    const businessId = payload.businessId;
    if (!Object.hasOwn(payload, "businessId")) return;
    const business =
      typeof businessId === "string" && businessId !== ""
        ? await this.businessFor(locationId, businessId, context)
        : null;
    // No business (or a deleted one) clears the mapped business fields.
    for (const field of this.options.mapping.businessFields)
      payload[businessKey(field)] = business?.[field] ?? null;
  }
}

export function findDefinition(
  definitions: GhlCustomFieldDefinition[],
  selector: string,
): GhlCustomFieldDefinition | undefined {
  return (
    definitions.find((d) => d.id === selector) ??
    definitions.find((d) => d.fieldKey === selector) ??
    definitions.find((d) => d.fieldKey === `contact.${selector}`) ??
    definitions.find((d) => d.name === selector)
  );
}

function addDnd(payload: Record<string, unknown>, channels: string[]): void {
  const settings = payload.dndSettings;
  if (settings === null || typeof settings !== "object") return;
  for (const channel of channels) {
    const entry = (settings as Record<string, unknown>)[channel];
    // A channel the payload lacks leaves the Coopel field as it is.
    if (entry === null || typeof entry !== "object") continue;
    const status = (entry as { status?: unknown }).status;
    if (typeof status !== "string") continue;
    payload[dndKey(channel)] = status === "active" || status === "permanent";
  }
}

/**
 * Converts a custom field value as read from GHL by the field's data type:
 * numbers for NUMERICAL and MONETORY, lists for CHECKBOX and
 * MULTIPLE_OPTIONS, `YYYY-MM-DD` for DATE, E.164 for PHONE, text otherwise.
 */
export function convertByType(
  value: unknown,
  dataType: string,
  defaultCountry: string | undefined,
): { value: unknown; warning?: string } {
  if (value === null || value === undefined || value === "")
    return { value: null };
  switch (dataType) {
    case "NUMERICAL":
    case "MONETORY":
      return toNumber(value);
    case "CHECKBOX":
    case "MULTIPLE_OPTIONS":
    case "TEXTBOX_LIST":
      if (Array.isArray(value)) return { value: value.map(String) };
      return {
        value: (typeof value === "string" ? value : JSON.stringify(value))
          .split(",")
          .map((part) => part.trim())
          .filter((part) => part !== ""),
      };
    case "DATE":
      if (typeof value === "number")
        return { value: new Date(value).toISOString().slice(0, 10) };
      return toIsoDate(value);
    case "PHONE":
      return toE164(value, defaultCountry);
    default:
      return { value: typeof value === "string" ? value : value };
  }
}
