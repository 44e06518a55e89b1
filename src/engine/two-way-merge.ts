import type { ContactEnricher } from "../mapping/contact-enrichment.js";
import type { ContactMapping } from "../mapping/contact-mapping.js";
import { allowedFields } from "../mapping/ghl-allow-list.js";
import {
  buildGhlWrite,
  comparableHashes,
  type ReverseContactMapping,
} from "../mapping/reverse-mapping.js";
import type {
  CallContext,
  CoopelClient,
  CoopelRecord,
  GhlApi,
  GhlContactWrite,
  GhlRecord,
  Link,
} from "./ports.js";
import {
  hashFields,
  logConflict,
  planMerge,
  timeOf,
  type TwoWayOptions,
} from "./two-way.js";

export interface ContactReconcilerOptions extends TwoWayOptions {
  ghl: GhlApi;
  coopel: CoopelClient;
  forward: ContactMapping;
  reverse: ReverseContactMapping;
  enricher: ContactEnricher;
  /** Coopel field with the record's update time. */
  coopelUpdatedAtField: string;
  now?: () => number;
}

/** The result of reconciling one linked contact. */
export interface ReconcileResult {
  link: Link;
  /** Coopel fields sent to GHL. */
  sentToGhl: string[];
  /** Coopel fields sent to Coopel. */
  sentToCoopel: string[];
  conflicts: number;
  warnings: string[];
}

/**
 * Brings a linked contact's two records together field by field, against
 * what the link stored as each side's last content: a change on one side goes to the
 * other, and a change on both sides is a conflict that the policy settles.
 * Before each write it stores the content it is about to set as a write
 * intent, so that the echo of that write is recognised even when it comes
 * back before the response.
 */
export class ContactReconciler {
  private readonly now: () => number;

  constructor(private readonly options: ContactReconcilerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Returns per-field hashes of a Coopel record in the comparable form. */
  coopelHashes(record: CoopelRecord): Promise<Record<string, string>> {
    return comparableHashes(
      "coopel",
      record,
      this.options.forward,
      this.options.reverse,
    );
  }

  /** Reads a GHL contact as it is now; null when GHL reports it missing. */
  readGhl(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    return this.options.ghl.getContact(locationId, contactId, context);
  }

  /** Returns per-field hashes of an enriched GHL contact in the comparable form. */
  async ghlHashes(
    payload: Record<string, unknown>,
  ): Promise<Record<string, string>> {
    return hashFields((await this.options.forward.map(payload)).fields);
  }

  /**
   * Reconciles the contact. `ghlPayload` is the GHL contact with the
   * enricher's keys already added, or a raw GHL record when `enrich` is set.
   */
  async reconcile(
    link: Link,
    ghlRecord: GhlRecord,
    coopelRecord: CoopelRecord,
    context: CallContext,
    enrich: boolean,
  ): Promise<ReconcileResult> {
    const { forward, enricher, coopel, policy } = this.options;
    const locationId = link.ghlLocationId;
    const warnings: string[] = [];
    const enriched = enrich
      ? await enricher.enrich(locationId, ghlRecord, context)
      : { payload: ghlRecord, warnings: [] };
    warnings.push(...enriched.warnings);
    const ghlMapped = await forward.map(enriched.payload);
    warnings.push(...ghlMapped.warnings);
    const ghlNow = hashFields(ghlMapped.fields);
    const coopelNow = await this.coopelHashes(coopelRecord);
    const ghlUpdatedAt = timeOf(ghlRecord.dateUpdated);
    const coopelUpdatedAt = timeOf(
      coopelRecord[this.options.coopelUpdatedAtField],
    );
    const ghlKnown = link.ghlFieldHashes ?? link.fieldHashes;
    const plan = planMerge({
      coopelKnown: link.fieldHashes,
      ghlKnown,
      coopelNow,
      ghlNow,
      policy,
      ghlUpdatedAt,
      coopelUpdatedAt,
    });

    const coopelView = await this.options.reverse.map(coopelRecord);
    const coopelValues = new Map(
      coopelView.entries.map((entry) => [entry.coopel, entry.value]),
    );
    for (const conflict of plan.conflicts)
      await logConflict(this.options, {
        entity: "contact",
        ghlLocationId: locationId,
        ghlId: link.ghlId,
        coopelAccountId: link.coopelAccountId,
        coopelId: link.coopelId!,
        field: conflict.field,
        ghlValue: ghlMapped.fields[conflict.field] ?? null,
        coopelValue: coopelValues.get(conflict.field) ?? null,
        ghlUpdatedAt,
        coopelUpdatedAt,
        winner: conflict.winner,
        rule: conflict.rule,
        detectedAt: this.now(),
      });

    let newestGhlTime = ghlUpdatedAt;
    const sentToGhl: string[] = [];
    const updatable = allowedFields("update-contact");
    const toGhl = coopelView.entries.filter((entry) => {
      if (!plan.toGhl.includes(entry.coopel)) return false;
      if (entry.ghl === null || updatable.has(entry.ghl)) return true;
      warnings.push(
        `${entry.coopel}: GHL's update route does not accept ${entry.ghl}, so the change stays on Coopel`,
      );
      return false;
    });
    if (toGhl.length > 0) {
      const write = await this.ghlWrite(locationId, toGhl, context, warnings);
      const fields = toGhl
        .filter(
          (entry) =>
            entry.ghl !== null ||
            Object.keys(write.customFields ?? {}).length > 0,
        )
        .map((entry) => entry.coopel);
      if (Object.keys(write.fields).length > 0 || write.customFields) {
        const hashes = pick(coopelNow, fields);
        await this.options.store.recordWriteIntent({
          side: "ghl",
          accountId: locationId,
          recordKey: link.ghlId,
          hashes,
          createdAt: this.now(),
        });
        const updated = await this.options.ghl.updateContact(
          locationId,
          link.ghlId,
          write,
          context,
        );
        newestGhlTime = maxTime(newestGhlTime, timeOf(updated.dateUpdated));
        sentToGhl.push(...fields);
      }
    }

    const sentToCoopel: string[] = [];
    if (plan.toCoopel.length > 0) {
      const body: Record<string, unknown> = {};
      for (const field of plan.toCoopel)
        body[field] = ghlMapped.fields[field] ?? null;
      await this.options.store.recordWriteIntent({
        side: "coopel",
        accountId: link.coopelAccountId,
        recordKey: link.coopelId!,
        hashes: pick(ghlNow, plan.toCoopel),
        createdAt: this.now(),
      });
      await coopel.updateContact(link.coopelId!, body, context);
      sentToCoopel.push(...plan.toCoopel);
    }

    const next: Link = {
      ...link,
      fieldHashes: {
        ...link.fieldHashes,
        ...coopelNow,
        ...pick(ghlNow, sentToCoopel),
      },
      ghlFieldHashes: {
        ...ghlKnown,
        ...ghlNow,
        ...pick(coopelNow, sentToGhl),
      },
      sourceUpdatedAt: maxTime(link.sourceUpdatedAt ?? null, newestGhlTime),
      updatedAt: this.now(),
    };
    return {
      link: next,
      sentToGhl,
      sentToCoopel,
      conflicts: plan.conflicts.length,
      warnings,
    };
  }

  /**
   * Builds a GHL write from reverse-mapped entries, resolving custom field
   * selectors to ids through the location's definitions. A selector that
   * matches no definition is left out with a warning.
   */
  async ghlWrite(
    locationId: string,
    entries: {
      ghl: string | null;
      customField: string | null;
      value: unknown;
    }[],
    context: CallContext,
    warnings: string[],
  ): Promise<GhlContactWrite> {
    const custom = entries.filter((entry) => entry.customField !== null);
    const definitions =
      custom.length > 0
        ? await this.options.enricher.definitionsFor(locationId, context)
        : [];
    return buildGhlWrite(locationId, entries, definitions, warnings);
  }
}

function pick(
  hashes: Record<string, string>,
  fields: string[],
): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const field of fields)
    if (hashes[field] !== undefined) picked[field] = hashes[field];
  return picked;
}

function maxTime(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
