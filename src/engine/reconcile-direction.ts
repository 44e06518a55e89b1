import type { MappedContact } from "../mapping/contact-mapping.js";
import type { CoopelContactSync } from "./coopel-contact-sync.js";
import type { FieldDrift } from "./field-compare.js";
import type {
  CallContext,
  CoopelRecord,
  GhlRecord,
  Job,
  Link,
  Side,
} from "./ports.js";
import type { ContactReconciler } from "./two-way-merge.js";
import {
  hashFields,
  planMerge,
  timeOf,
  type ConflictPolicy,
} from "./two-way.js";

/** The parts reconcile needs when contacts sync toward GHL too. */
export interface TowardGhlOptions {
  direction: "two_way" | "coopel_to_ghl";
  reconciler: ContactReconciler;
  coopelContacts: CoopelContactSync;
  policy: ConflictPolicy;
  /** Coopel field with the record's update time, for `last_writer`. */
  coopelUpdatedAtField: string;
  coopelAccountId: string;
}

/** A drifted field with the side its repair writes. */
export type DirectedDrift = FieldDrift & { toward: Side };

/** The outcome of sending a Coopel-only contact toward GHL. */
export type CoopelOnlyOutcome = {
  result: "created" | "linked" | "not_repaired";
  links: Link[];
  requests: CallContext["requests"];
  warnings: string[];
};

/**
 * Decides and writes repairs in the direction `sync.contacts` gives, with
 * the same three-way comparison and write path as the live two-way sync:
 * a field changed on one side since the link last stored it goes to the
 * other side, and a field changed on both (or without a stored value) goes
 * the way the conflict policy decides. With `coopel_to_ghl`, every field goes
 * to GHL.
 */
export class TowardGhlRepair {
  constructor(private readonly options: TowardGhlOptions) {}

  /** Returns the link as the comparison should see it: for `coopel_to_ghl`, GHL counts as unchanged. */
  private baseline(link: Link, ghlNow: Record<string, string>): Link {
    if (this.options.direction === "two_way") return link;
    return { ...link, fieldHashes: ghlNow, ghlFieldHashes: ghlNow };
  }

  /** Gives each drifted field the side its repair writes. */
  async direct(
    drift: FieldDrift[],
    link: Link,
    record: GhlRecord,
    mapped: MappedContact,
    coopelRecord: CoopelRecord,
  ): Promise<DirectedDrift[]> {
    const ghlNow = hashFields(mapped.fields);
    const known = this.baseline(link, ghlNow);
    const plan = planMerge({
      coopelKnown: known.fieldHashes,
      ghlKnown: known.ghlFieldHashes ?? known.fieldHashes,
      coopelNow: await this.options.reconciler.coopelHashes(coopelRecord),
      ghlNow,
      policy: this.options.policy,
      ghlUpdatedAt: timeOf(record.dateUpdated),
      coopelUpdatedAt: timeOf(coopelRecord[this.options.coopelUpdatedAtField]),
    });
    return drift.map((field) => ({
      ...field,
      toward: plan.toGhl.includes(field.field) ? "ghl" : "coopel",
    }));
  }

  /**
   * Writes the pair's differing fields to the side each belongs on, storing
   * write intents first so that the echoes of these writes are dropped, and
   * returns the link to save.
   */
  async repair(
    link: Link,
    enrichedRecord: GhlRecord,
    mapped: MappedContact,
    coopelRecord: CoopelRecord,
    context: CallContext,
  ): Promise<{ link: Link; warnings: string[] }> {
    const known = this.baseline(link, hashFields(mapped.fields));
    const result = await this.options.reconciler.reconcile(
      known,
      enrichedRecord,
      coopelRecord,
      context,
      false,
    );
    return { link: result.link, warnings: result.warnings };
  }

  /**
   * Links a Coopel contact that no link points at to its GHL contact, found
   * by external id, email, then phone, or creates it in GHL, through the
   * same handler as a Coopel webhook.
   */
  async createOrLink(
    coopelId: string,
    now: number,
  ): Promise<CoopelOnlyOutcome> {
    const job: Job = {
      id: `reconcile-${coopelId}`,
      attempt: 1,
      event: {
        source: "coopel",
        accountId: this.options.coopelAccountId,
        type: "contact.updated",
        orderingKey: `coopel:${this.options.coopelAccountId}:${coopelId}`,
        deliveryId: null,
        receivedAt: now,
        payload: { contact: { id: coopelId } },
      },
    };
    const completion = await this.options.coopelContacts.handle(job);
    const result =
      completion.reason === "created_in_ghl"
        ? "created"
        : completion.reason === "linked" ||
            completion.reason === "linked_duplicate"
          ? "linked"
          : "not_repaired";
    return {
      result,
      links: completion.links,
      requests: completion.requests,
      warnings: completion.warnings,
    };
  }
}
