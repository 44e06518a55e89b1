import type { Config } from "../config/schema.js";
import type {
  ContactMapping,
  MappedContact,
} from "../mapping/contact-mapping.js";
import { changedFields, mergeHashes } from "../mapping/contact-mapping.js";
import { ApiError, AttemptError } from "./errors.js";
import type {
  CallContext,
  Completion,
  CoopelClient,
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

    if (link?.deletedAt != null)
      return done("skipped", "deleted_in_ghl", [], context, mapped.warnings);

    if (link?.coopelId != null) {
      // A create that arrives after an update made the contact carries older
      // content, so it only fills fields that no event has set yet.
      const fields =
        event.type === "ContactCreate"
          ? unsetFields(mapped.fields, link.fieldHashes)
          : mapped.fields;
      if (event.type === "ContactCreate" && Object.keys(fields).length === 0)
        return done("skipped", "already_linked", [], context, mapped.warnings);
      try {
        return await this.update(
          link,
          link.coopelId,
          fields,
          context,
          mapped.warnings,
        );
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        // Someone deleted the contact on Coopel; GHL still has it, so the sync creates it again.
        return this.create(
          event.accountId,
          ghlId,
          mapped,
          context,
          "recreated",
        );
      }
    }

    const existing =
      job.attempt > 1 ? await this.findCreatedEarlier(ghlId, context) : null;
    if (existing) {
      const adopted = this.link(event.accountId, ghlId, existing, {});
      return this.update(
        adopted,
        existing,
        mapped.fields,
        context,
        mapped.warnings,
      );
    }

    return this.create(event.accountId, ghlId, mapped, context, "created");
  }

  private async create(
    locationId: string,
    ghlId: string,
    mapped: MappedContact,
    context: CallContext,
    reason: string,
  ): Promise<Completion> {
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

    const created = await this.options.coopel.createContact(body, context);
    const newLink = this.link(
      locationId,
      ghlId,
      created.id,
      mergeHashes({}, mapped.fields),
    );
    return done("synced", reason, [newLink], context, mapped.warnings);
  }

  private async update(
    link: Link,
    coopelId: string,
    fields: Record<string, unknown>,
    context: CallContext,
    warnings: string[],
  ): Promise<Completion> {
    const changed = changedFields(fields, link.fieldHashes);
    if (Object.keys(changed).length === 0)
      return done("skipped", "no_change", [], context, warnings);
    await this.options.coopel.updateContact(coopelId, changed, context);
    const updated = {
      ...link,
      fieldHashes: mergeHashes(link.fieldHashes, changed),
      updatedAt: this.now(),
    };
    return done("synced", "updated", [updated], context, warnings);
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
    if (link?.coopelId == null)
      return done("skipped", "unknown_contact", [tombstone(link)], context);

    const policy = this.options.deletePolicy;
    if (policy.policy === "ignore")
      return done("skipped", "delete_ignored", [tombstone(link)], context);
    if (policy.policy === "mark") {
      await this.options.coopel.updateContact(
        link.coopelId,
        { [policy.mark_field]: policy.mark_value },
        context,
      );
      return done("synced", "marked_deleted", [tombstone(link)], context);
    }
    try {
      await this.options.coopel.deleteContact(link.coopelId, context);
    } catch (error) {
      // Already gone on Coopel: the goal of the delete is met.
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    return done("synced", "deleted", [tombstone(link)], context);
  }

  /** Looks for a contact that an earlier attempt may have created before its answer was lost. */
  private async findCreatedEarlier(
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
      (candidate) => candidate.record[externalIdField] === ghlId,
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

/** The fields for which no value has been written yet. */
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
