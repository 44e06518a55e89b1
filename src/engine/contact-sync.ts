import type { Config } from "../config/schema.js";
import type {
  ContactMapping,
  MappedContact,
} from "../mapping/contact-mapping.js";
import { changedFields, mergeHashes } from "../mapping/contact-mapping.js";
import { ApiError, AttemptError } from "./errors.js";
import type { ContactReconciler } from "./two-way-merge.js";
import {
  hashFields,
  identityKeys,
  matchEcho,
  type TwoWayOptions,
} from "./two-way.js";
import type {
  CallContext,
  Completion,
  CoopelClient,
  CoopelLookup,
  Job,
  Link,
  Store,
} from "./ports.js";

export type DeletePolicy = Config["sync"]["contacts"]["delete"];

export interface ContactSyncOptions {
  store: Store;
  coopel: CoopelClient;
  mapping: ContactMapping;
  deletePolicy: DeletePolicy;
  /**
   * Set when contacts sync both ways: GHL events are then checked for
   * echoes of the sync's own writes, and linked contacts are reconciled
   * against Coopel's current record instead of written blindly.
   */
  twoWay?: { reconciler: ContactReconciler; options: TwoWayOptions };
  /**
   * Tells whether the first sync put the GHL contact on the review list.
   * Such a contact's events wait for a person's decision instead of
   * matching by email or phone. Absent means no contact is under review.
   */
  underReview?: (locationId: string, ghlId: string) => Promise<boolean>;
  now?: () => number;
}

/**
 * Turns GHL contact events into Coopel writes. Creates and updates send only
 * the fields whose value differs from what the sync last wrote; deletes
 * follow the configured policy and leave a tombstone so that a late update
 * does not bring the contact back.
 */
export class ContactSync {
  private readonly now: () => number;

  constructor(private readonly options: ContactSyncOptions) {
    this.now = options.now ?? Date.now;
  }

  async handle(job: Job): Promise<Completion> {
    const { event } = job;
    const ghlId = event.payload.id;
    if (typeof ghlId !== "string" || ghlId === "") {
      return done("skipped", "missing_contact_id", [], { requests: [] });
    }
    const context: CallContext = { requests: [] };
    const link = await this.options.store.getLink(
      "contact",
      event.accountId,
      ghlId,
    );

    try {
      if (event.type === "ContactDelete")
        return await this.delete(event.accountId, ghlId, link, context);
      return await this.upsert(job, ghlId, link, context);
    } catch (error) {
      throw new AttemptError(error, context.requests);
    }
  }

  private async upsert(
    job: Job,
    ghlId: string,
    link: Link | null,
    context: CallContext,
  ): Promise<Completion> {
    const { event } = job;
    const mapped = await this.options.mapping.map(event.payload);

    const sourceUpdatedAt = event.sourceUpdatedAt ?? null;

    if (link?.deletedAt != null)
      return done("skipped", "deleted_in_ghl", [], context, mapped.warnings);

    if (
      link?.sourceUpdatedAt != null &&
      sourceUpdatedAt !== null &&
      sourceUpdatedAt < link.sourceUpdatedAt
    )
      return done("skipped", "stale", [], context, mapped.warnings);

    if (this.options.twoWay) {
      const handled = await this.twoWay(
        job,
        ghlId,
        link,
        mapped,
        sourceUpdatedAt,
        context,
      );
      if (handled !== null) return handled;
    }

    if (link?.coopelId != null) {
      // A create that arrives after an update made the contact carries older
      // content, so it only fills fields that no event has set yet.
      const fields =
        event.type === "ContactCreate"
          ? unsetFields(mapped.fields, link.fieldHashes)
          : mapped.fields;
      if (event.type === "ContactCreate" && Object.keys(fields).length === 0)
        return done("skipped", "already_linked", [], context, mapped.warnings);
      // An earlier attempt may have written fields without recording them
      // in the link, so the link's hashes no longer match Coopel; a repeat
      // sends every mapped field. TODO: a job that ends dead after such a
      // write leaves the hashes stale for the next event of the record.
      const trusted = job.attempt > 1 ? { ...link, fieldHashes: {} } : link;
      try {
        return await this.update(
          trusted,
          link.coopelId,
          fields,
          sourceUpdatedAt,
          context,
          mapped.warnings,
        );
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        // Someone deleted the contact on Coopel; GHL still has it, so the sync creates it again.
        return this.create(
          job,
          ghlId,
          mapped,
          sourceUpdatedAt,
          context,
          "recreated",
        );
      }
    }

    // A repeated attempt may follow a create whose outcome was unknown (a
    // timeout, a reset, a crash after sending), and an update without a link
    // may follow a create that gave up after sending, so both look first. A
    // failed lookup throws, so the job is retried and never falls through to
    // a create.
    // A contact on the review list may match another person by email or
    // phone, so it is neither matched nor created until a person decides.
    if (await this.options.underReview?.(event.accountId, ghlId))
      return done("skipped", "awaiting_review", [], context, mapped.warnings);

    const mayExist = job.attempt > 1 || event.type !== "ContactCreate";
    const existing = mayExist
      ? await this.findCreatedEarlier(ghlId, mapped.fields, context)
      : null;
    if (existing) {
      const adopted = this.link(event.accountId, ghlId, existing, {});
      return this.update(
        adopted,
        existing,
        mapped.fields,
        sourceUpdatedAt,
        context,
        mapped.warnings,
        "adopted",
      );
    }

    return this.create(job, ghlId, mapped, sourceUpdatedAt, context, "created");
  }

  /**
   * Handles a GHL event of a contact that syncs both ways: drops it as an
   * echo when it carries what the sync itself wrote, and reconciles a
   * linked contact with Coopel's current record. Returns null when the
   * one-way path should go on (a contact without a link, or missing on
   * Coopel), after recording the intent of the create it may send.
   */
  private async twoWay(
    job: Job,
    ghlId: string,
    link: Link | null,
    mapped: MappedContact,
    sourceUpdatedAt: number | null,
    context: CallContext,
  ): Promise<Completion | null> {
    const { reconciler, options } = this.options.twoWay!;
    const { event } = job;
    const locationId = event.accountId;
    const incoming = hashFields(mapped.fields);
    const keys = [ghlId, ...identityKeys(mapped.fields)];
    const intents = await options.store.getWriteIntents(
      "ghl",
      locationId,
      keys,
    );
    const known = link?.ghlFieldHashes ?? link?.fieldHashes ?? {};
    const echo = matchEcho(incoming, known, intents, this.now());
    if (echo) {
      await options.store.clearWriteIntents("ghl", locationId, [
        echo.recordKey,
      ]);
      options.onEcho?.("ghl");
      const links = link
        ? [
            {
              ...link,
              ghlFieldHashes: { ...known, ...incoming },
              sourceUpdatedAt: newestTime(
                link.sourceUpdatedAt ?? null,
                sourceUpdatedAt,
              ),
              updatedAt: this.now(),
            },
          ]
        : [];
      return done("skipped", "echo", links, context, mapped.warnings);
    }
    if (intents.length > 0)
      await options.store.clearWriteIntents(
        "ghl",
        locationId,
        intents.map((intent) => intent.recordKey),
      );

    if (link?.coopelId != null) {
      // Webhooks carry no update time and may be stale, so both records are
      // read as they are now; GHL's `dateUpdated` decides last-writer conflicts.
      const ghlRecord = await reconciler.readGhl(locationId, ghlId, context);
      const coopelRecord = await this.options.coopel.getContact(
        link.coopelId,
        context,
      );
      if (ghlRecord === null)
        return done("skipped", "missing_in_ghl", [], context, mapped.warnings);
      if (coopelRecord !== null) {
        const result = await reconciler.reconcile(
          link,
          ghlRecord,
          coopelRecord,
          context,
          true,
        );
        const wrote =
          result.sentToGhl.length > 0 || result.sentToCoopel.length > 0;
        const next = {
          ...result.link,
          sourceUpdatedAt: newestTime(
            result.link.sourceUpdatedAt ?? null,
            sourceUpdatedAt,
          ),
        };
        return done(
          wrote ? "synced" : "skipped",
          wrote ? "updated" : "no_change",
          [next],
          context,
          [...mapped.warnings, ...result.warnings],
        );
      }
    }
    // The one-way path creates the Coopel contact with the GHL id as its
    // external id, which is how the echo of that create is recognised.
    await options.store.recordWriteIntent({
      side: "coopel",
      accountId: this.options.coopel.accountId,
      recordKey: `from:${ghlId}`,
      hashes: incoming,
      createdAt: this.now(),
    });
    return null;
  }

  private async create(
    job: Job,
    ghlId: string,
    mapped: MappedContact,
    sourceUpdatedAt: number | null,
    context: CallContext,
    reason: string,
  ): Promise<Completion> {
    const { event } = job;
    const body: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(mapped.fields))
      if (value !== null) body[key] = value;
    if (
      this.options.mapping.tagsOnCreate &&
      mapped.tags &&
      mapped.tags.length > 0
    )
      body.tags = mapped.tags;
    const externalIdField = this.options.coopel.externalIdField;
    if (externalIdField) body[externalIdField] = ghlId;

    let createdId: string;
    try {
      createdId = (await this.options.coopel.createContact(body, context)).id;
    } catch (error) {
      // A 422 may come after the record was stored (a validation of a
      // secondary write, for example); look before treating it as final.
      if (!(error instanceof ApiError && error.status === 422)) throw error;
      const found = await this.findCreatedEarlier(
        ghlId,
        mapped.fields,
        context,
      );
      if (found === null) throw error;
      const adopted = this.link(event.accountId, ghlId, found, {});
      return this.update(
        adopted,
        found,
        mapped.fields,
        sourceUpdatedAt,
        context,
        mapped.warnings,
        "adopted",
      );
    }
    const newLink: Link = {
      ...this.link(
        event.accountId,
        ghlId,
        createdId,
        mergeHashes({}, mapped.fields),
      ),
      sourceUpdatedAt,
    };
    return done("synced", reason, [newLink], context, mapped.warnings);
  }

  /**
   * Sends the fields that differ from what the sync last wrote. The link
   * keeps the newest source update time even when nothing changed, so that
   * an older event arriving later is recognised as stale.
   */
  private async update(
    link: Link,
    coopelId: string,
    fields: Record<string, unknown>,
    sourceUpdatedAt: number | null,
    context: CallContext,
    warnings: string[],
    reason = "updated",
  ): Promise<Completion> {
    const newest =
      sourceUpdatedAt === null
        ? (link.sourceUpdatedAt ?? null)
        : Math.max(sourceUpdatedAt, link.sourceUpdatedAt ?? -Infinity);
    const changed = changedFields(fields, link.fieldHashes);
    if (Object.keys(changed).length === 0) {
      const links =
        newest !== (link.sourceUpdatedAt ?? null) || reason === "adopted"
          ? [{ ...link, sourceUpdatedAt: newest, updatedAt: this.now() }]
          : [];
      return done(
        links.length > 0 && reason === "adopted" ? "synced" : "skipped",
        reason === "adopted" ? "adopted" : "no_change",
        links,
        context,
        warnings,
      );
    }
    await this.options.coopel.updateContact(coopelId, changed, context);
    const updated: Link = {
      ...link,
      fieldHashes: mergeHashes(link.fieldHashes, changed),
      sourceUpdatedAt: newest,
      updatedAt: this.now(),
    };
    return done("synced", reason, [updated], context, warnings);
  }

  private async delete(
    locationId: string,
    ghlId: string,
    link: Link | null,
    context: CallContext,
  ): Promise<Completion> {
    const tombstone = (base: Link | null): Link => ({
      ...(base ?? this.link(locationId, ghlId, null, {})),
      deletedAt: this.now(),
      updatedAt: this.now(),
    });
    if (link?.deletedAt != null)
      return done("skipped", "already_deleted", [], context);
    let coopelId = link?.coopelId ?? null;
    if (coopelId === null) {
      // A create that gave up after sending may have stored the contact
      // without a link; only a match on the external id is deleted.
      coopelId = await this.findByExternalId(ghlId, context);
      if (coopelId === null)
        return done("skipped", "unknown_contact", [tombstone(link)], context);
      link = this.link(locationId, ghlId, coopelId, {});
    }

    const policy = this.options.deletePolicy;
    if (policy.policy === "ignore")
      return done("skipped", "delete_ignored", [tombstone(link)], context);
    if (policy.policy === "mark") {
      await this.options.coopel.updateContact(
        coopelId,
        { [policy.mark_field]: policy.mark_value },
        context,
      );
      return done("synced", "marked_deleted", [tombstone(link)], context);
    }
    try {
      await this.options.coopel.deleteContact(coopelId, context);
    } catch (error) {
      // Already gone on Coopel: the goal of the delete is met.
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    return done("synced", "deleted", [tombstone(link)], context);
  }

  /**
   * Looks for a contact that an earlier attempt may have created before its
   * response was lost: by the external id field, then by email, then by E.164
   * phone. A contact found by email or phone counts only when it carries no
   * other GHL id. Lookup failures propagate, because "lookup failed" must
   * never be read as "not found".
   */
  private async findCreatedEarlier(
    ghlId: string,
    fields: Record<string, unknown>,
    context: CallContext,
  ): Promise<string | null> {
    const { coopel } = this.options;
    const externalIdField = coopel.externalIdField;
    const byExternalId = await this.findByExternalId(ghlId, context);
    if (byExternalId !== null) return byExternalId;
    const unclaimed = (record: Record<string, unknown>): boolean => {
      if (!externalIdField) return true;
      const value = record[externalIdField];
      return value === undefined || value === null || value === "";
    };
    const lookups: CoopelLookup[] = [];
    if (typeof fields.email === "string" && fields.email !== "")
      lookups.push({ email: fields.email });
    if (typeof fields.phone === "string" && fields.phone.startsWith("+"))
      lookups.push({ phone: fields.phone });
    for (const lookup of lookups) {
      const found = await coopel.findContacts(lookup, context);
      const match = found.find((candidate) => unclaimed(candidate.record));
      if (match) return match.id;
    }
    return null;
  }

  /** Returns the Coopel contact whose external id field is `ghlId`, or null; null also when no such field is configured. */
  private async findByExternalId(
    ghlId: string,
    context: CallContext,
  ): Promise<string | null> {
    const externalIdField = this.options.coopel.externalIdField;
    if (!externalIdField) return null;
    const found = await this.options.coopel.findContacts(
      { externalId: ghlId },
      context,
    );
    const match = found.find(
      (candidate) => String(candidate.record[externalIdField]) === ghlId,
    );
    return match?.id ?? null;
  }

  private link(
    locationId: string,
    ghlId: string,
    coopelId: string | null,
    fieldHashes: Record<string, string>,
  ): Link {
    return {
      entity: "contact",
      ghlLocationId: locationId,
      ghlId,
      coopelAccountId: this.options.coopel.accountId,
      coopelId,
      fieldHashes,
      deletedAt: null,
      updatedAt: this.now(),
    };
  }
}

/** Returns the fields for which no value has been written yet. */
function unsetFields(
  fields: Record<string, unknown>,
  stored: Record<string, string>,
): Record<string, unknown> {
  const unset: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields))
    if (!Object.hasOwn(stored, key)) unset[key] = value;
  return unset;
}

function done(
  outcome: Completion["outcome"],
  reason: string,
  links: Link[],
  context: CallContext,
  warnings: string[] = [],
): Completion {
  return { outcome, reason, links, requests: context.requests, warnings };
}

function newestTime(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
