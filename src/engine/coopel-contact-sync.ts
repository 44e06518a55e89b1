import type { ContactEnricher } from "../mapping/contact-enrichment.js";
import type { ReverseContactMapping } from "../mapping/reverse-mapping.js";
import { finish } from "./completion.js";
import { AttemptError } from "./errors.js";
import type {
  CallContext,
  Completion,
  CoopelClient,
  CoopelRecord,
  GhlApi,
  GhlRecord,
  Job,
  Link,
  Store,
} from "./ports.js";
import type { ContactReconciler } from "./two-way-merge.js";
import { identityKeys, matchEcho, type TwoWayOptions } from "./two-way.js";

/** Event types of Coopel contacts, as the Coopel webhook and the poller name them. */
export const COOPEL_CONTACT_EVENT_TYPES = [
  "contact.created",
  "contact.updated",
  "contact.deleted",
] as const;

export interface CoopelContactSyncOptions extends TwoWayOptions {
  /** The link table, to check that a GHL contact found by lookup is not linked to another Coopel contact. */
  links: Store;
  coopel: CoopelClient;
  ghl: GhlApi;
  reverse: ReverseContactMapping;
  enricher: ContactEnricher;
  reconciler: ContactReconciler;
  /** The GHL location that contacts first seen on Coopel are created in. */
  locationId: string;
  /** Whether tags go from Coopel to GHL. */
  syncTags: boolean;
  /** `sync.contacts.delete.policy`; only `delete` deletes GHL contacts. */
  deletePolicy: "delete" | "mark" | "ignore";
  now?: () => number;
}

/** Returns the contact an event carries: `payload.contact`, or the payload itself. */
export function coopelContactOf(
  payload: Record<string, unknown>,
): CoopelRecord {
  const inner = payload.contact;
  return inner !== null && typeof inner === "object"
    ? (inner as CoopelRecord)
    : payload;
}

/**
 * Turns Coopel contact events into GHL writes. The event only names the
 * contact: the handler reads its current state from Coopel, so a late or
 * repeated event cannot roll GHL back. A contact seen for the first time is
 * looked up in GHL (by the external id it carries, then email, then E.164
 * phone) before one is created. A failed lookup fails the job, so it never
 * falls through to a create.
 */
export class CoopelContactSync {
  private readonly now: () => number;

  constructor(private readonly options: CoopelContactSyncOptions) {
    this.now = options.now ?? Date.now;
  }

  async handle(job: Job): Promise<Completion> {
    const context: CallContext = { requests: [] };
    try {
      return await this.run(job, context);
    } catch (error) {
      throw new AttemptError(error, context.requests);
    }
  }

  private async run(job: Job, context: CallContext): Promise<Completion> {
    const { coopel, store } = this.options;
    const contact = coopelContactOf(job.event.payload);
    const coopelId = typeof contact.id === "string" ? contact.id : "";
    if (coopelId === "")
      return finish("skipped", "missing_contact_id", [], context);
    const account = coopel.accountId;
    const link = await store.getLinkByCoopelId("contact", account, coopelId);
    if (link?.deletedAt != null)
      return finish("skipped", "already_deleted", [], context);
    if (job.event.type === "contact.deleted")
      return this.delete(link, coopelId, context);

    const current = await coopel.getContact(coopelId, context);
    if (current === null)
      return finish("skipped", "deleted_in_coopel", [], context);
    const incoming = await this.options.reconciler.coopelHashes(current);

    const keys = [coopelId];
    const externalId = coopel.externalIdField
      ? current[coopel.externalIdField]
      : undefined;
    if (typeof externalId === "string" && externalId !== "")
      keys.push(`from:${externalId}`);
    const intents = await store.getWriteIntents("coopel", account, keys);
    // Intents cover fields only, so a record whose tags changed is never an echo.
    const echo = this.tagsChanged(link, current)
      ? null
      : matchEcho(incoming, link?.fieldHashes ?? {}, intents, this.now());
    if (echo) {
      await store.clearWriteIntents("coopel", account, [echo.recordKey]);
      this.options.onEcho?.("coopel");
      const links = link
        ? [
            {
              ...link,
              fieldHashes: { ...link.fieldHashes, ...incoming },
              updatedAt: this.now(),
            },
          ]
        : [];
      return finish("skipped", "echo", links, context);
    }
    if (intents.length > 0)
      await store.clearWriteIntents(
        "coopel",
        account,
        intents.map((intent) => intent.recordKey),
      );

    if (link?.coopelId != null) return this.update(link, current, context);
    return this.createOrLink(coopelId, current, incoming, context);
  }

  /** Returns whether the record's tags differ from the Coopel tag list the link last saw. */
  private tagsChanged(link: Link | null, current: CoopelRecord): boolean {
    const coopelTags = tagList(current.tags);
    const baseline = link ? coopelBaseline(link) : null;
    if (!this.options.syncTags || baseline === null || coopelTags === null)
      return false;
    return !sameTags(coopelTags, baseline);
  }

  /**
   * Follows a Coopel delete on GHL by `sync.contacts.delete.policy`:
   * `delete` deletes the linked GHL contact, `mark` and `ignore` leave it,
   * because the mark field is a Coopel field. Each leaves a tombstone, so
   * GHL's webhook for the delete and later Coopel events are skipped.
   */
  private async delete(
    link: Link | null,
    coopelId: string,
    context: CallContext,
  ): Promise<Completion> {
    // A contact deleted before it was linked was never written to GHL by the sync.
    if (link === null) return finish("skipped", "unknown_contact", [], context);
    const current = await this.options.coopel.getContact(coopelId, context);
    if (current !== null)
      return finish("skipped", "not_deleted_in_coopel", [], context);
    const tombstone: Link = {
      ...link,
      deletedAt: this.now(),
      updatedAt: this.now(),
    };
    if (this.options.deletePolicy !== "delete")
      return finish("skipped", "delete_ignored", [tombstone], context);
    await this.options.ghl.deleteContact(
      link.ghlLocationId,
      link.ghlId,
      context,
    );
    return finish("synced", "deleted_in_ghl", [tombstone], context);
  }

  private async update(
    link: Link,
    current: CoopelRecord,
    context: CallContext,
  ): Promise<Completion> {
    // TODO: a job deferred by the GHL budget runs again from the start and
    // repeats this read, so with more workers than may wait for the budget
    // the reads use it up and updates starve.
    const ghlRecord = await this.options.ghl.getContact(
      link.ghlLocationId,
      link.ghlId,
      context,
    );
    // TODO: a contact deleted in GHL is not created again from Coopel.
    if (ghlRecord === null)
      return finish("skipped", "missing_in_ghl", [], context);
    const result = await this.options.reconciler.reconcile(
      link,
      ghlRecord,
      current,
      context,
      true,
    );
    const tagged = await this.syncTags(
      result.link,
      ghlRecord,
      current,
      context,
    );
    const wrote =
      result.sentToGhl.length > 0 ||
      result.sentToCoopel.length > 0 ||
      tagged.wrote;
    return finish(
      wrote ? "synced" : "skipped",
      wrote ? "updated" : "no_change",
      [tagged.link],
      context,
      result.warnings,
    );
  }

  /**
   * Sends Coopel's tag changes to GHL through the tags routes, diffed
   * against the Coopel tag list the link last saw. Tags that tag rules own
   * stay on Coopel only, and a tag GHL already has (or lacks) is not sent.
   */
  private async syncTags(
    link: Link,
    ghlRecord: GhlRecord,
    current: CoopelRecord,
    context: CallContext,
  ): Promise<{ link: Link; wrote: boolean }> {
    const coopelTags = tagList(current.tags);
    const baseline = coopelBaseline(link) ?? tagList(ghlRecord.tags);
    if (!this.options.syncTags || coopelTags === null || baseline === null)
      return { link, wrote: false };
    const ghlTags = tagList(ghlRecord.tags) ?? [];
    const ruleTags = new Set(link.ruleTags ?? []);
    const add = coopelTags.filter(
      (tag) => !baseline.includes(tag) && !ruleTags.has(tag),
    );
    const remove = baseline.filter((tag) => !coopelTags.includes(tag));
    const toAdd = add.filter((tag) => !ghlTags.includes(tag));
    const toRemove = remove.filter((tag) => ghlTags.includes(tag));
    const { ghl } = this.options;
    if (toAdd.length > 0)
      await ghl.addTags(link.ghlLocationId, link.ghlId, toAdd, context);
    if (toRemove.length > 0)
      await ghl.removeTags(link.ghlLocationId, link.ghlId, toRemove, context);
    // The GHL list last seen changes only by what this diff sends, because
    // GHL changes whose webhooks are still queued must still look new to them.
    const seen = link.tags ?? ghlTags;
    const tags = [
      ...seen.filter((tag) => !remove.includes(tag)),
      ...add.filter((tag) => !seen.includes(tag)),
    ];
    return {
      link: { ...link, tags, coopelTags },
      wrote: toAdd.length > 0 || toRemove.length > 0,
    };
  }

  /**
   * Links a Coopel contact that has no link to its GHL contact, found by
   * the external id it carries, then email, then E.164 phone. Creates the
   * GHL contact when none is found. A duplicate-contact 400 links to the
   * existing contact.
   */
  private async createOrLink(
    coopelId: string,
    current: CoopelRecord,
    incoming: Record<string, string>,
    context: CallContext,
  ): Promise<Completion> {
    const { ghl, coopel, reverse, store, locationId } = this.options;
    const mapped = await reverse.map(current);
    const found = await this.lookup(current, mapped.fields, context);
    const base: Link = {
      entity: "contact",
      ghlLocationId: locationId,
      ghlId: "",
      coopelAccountId: coopel.accountId,
      coopelId,
      fieldHashes: {},
      deletedAt: null,
      updatedAt: this.now(),
    };
    if (found !== null) {
      const existingLink = await this.options.links.getLink(
        "contact",
        locationId,
        found.id,
      );
      if (existingLink?.coopelId != null && existingLink.coopelId !== coopelId)
        return finish("skipped", "ghl_contact_linked_elsewhere", [], context, [
          `GHL contact ${found.id} matches Coopel contact ${coopelId} but is linked to Coopel contact ${existingLink.coopelId}; merge the two Coopel contacts or change one's email and phone`,
        ]);
      return this.adopt(
        { ...base, ghlId: found.id },
        found.record,
        current,
        context,
        "linked",
      );
    }

    const keys = identityKeys(mapped.fields);
    for (const recordKey of keys)
      await store.recordWriteIntent({
        side: "ghl",
        accountId: locationId,
        recordKey,
        hashes: incoming,
        createdAt: this.now(),
      });
    const warnings = [...mapped.warnings];
    const write = await this.options.reconciler.ghlWrite(
      locationId,
      mapped.entries.filter((entry) => entry.value !== null),
      context,
      warnings,
    );
    const created = await ghl.createContact(locationId, write, context);
    if (created.duplicate) {
      const existing = await ghl.getContact(locationId, created.id, context);
      if (existing === null)
        throw new Error(
          `GHL reported contact ${created.id} as a duplicate of Coopel contact ${coopelId} but does not return it; the job is retried`,
        );
      return this.adopt(
        { ...base, ghlId: created.id },
        existing,
        current,
        context,
        "linked_duplicate",
      );
    }
    const tags = (mapped.tags ?? []).filter((tag) => tag !== "");
    if (this.options.syncTags && tags.length > 0)
      await ghl.addTags(locationId, created.id, tags, context);
    const link: Link = {
      ...base,
      ghlId: created.id,
      fieldHashes: incoming,
      ghlFieldHashes: incoming,
      tags: this.options.syncTags ? tags : null,
      coopelTags: mapped.tags,
      sourceUpdatedAt:
        typeof created.record?.dateUpdated === "string"
          ? Date.parse(created.record.dateUpdated)
          : null,
    };
    return finish("synced", "created_in_ghl", [link], context, warnings);
  }

  /** Links to an existing GHL contact and sends it only the fields and tags that differ. */
  private async adopt(
    link: Link,
    ghlRecord: GhlRecord,
    current: CoopelRecord,
    context: CallContext,
    reason: string,
  ): Promise<Completion> {
    const { reconciler } = this.options;
    const enriched = await this.options.enricher.enrich(
      link.ghlLocationId,
      ghlRecord,
      context,
    );
    // The GHL side is taken as last known, so every field where Coopel differs counts as a Coopel change.
    const ghlHashes = await reconciler.ghlHashes(enriched.payload);
    const known: Link = {
      ...link,
      fieldHashes: ghlHashes,
      ghlFieldHashes: ghlHashes,
      tags: tagList(ghlRecord.tags),
    };
    const result = await reconciler.reconcile(
      known,
      enriched.payload,
      current,
      context,
      false,
    );
    const tagged = await this.addMissingTags(
      result.link,
      ghlRecord,
      current,
      context,
    );
    return finish("synced", reason, [tagged], context, result.warnings);
  }

  private async addMissingTags(
    link: Link,
    ghlRecord: GhlRecord,
    current: CoopelRecord,
    context: CallContext,
  ): Promise<Link> {
    const coopelTags = tagList(current.tags);
    if (!this.options.syncTags || coopelTags === null) return link;
    const ghlTags = tagList(ghlRecord.tags) ?? [];
    const missing = coopelTags.filter((tag) => !ghlTags.includes(tag));
    if (missing.length > 0)
      await this.options.ghl.addTags(
        link.ghlLocationId,
        link.ghlId,
        missing,
        context,
      );
    return { ...link, tags: [...ghlTags, ...missing], coopelTags };
  }

  private async lookup(
    current: CoopelRecord,
    fields: Record<string, unknown>,
    context: CallContext,
  ): Promise<{ id: string; record: GhlRecord } | null> {
    const { ghl, coopel, locationId } = this.options;
    const externalId = coopel.externalIdField
      ? current[coopel.externalIdField]
      : undefined;
    if (typeof externalId === "string" && externalId !== "") {
      const byId = await ghl.getContact(locationId, externalId, context);
      if (byId !== null) return { id: externalId, record: byId };
    }
    const lookups: { email?: string; phone?: string }[] = [];
    if (typeof fields.email === "string" && fields.email !== "")
      lookups.push({ email: fields.email });
    if (typeof fields.phone === "string" && fields.phone.startsWith("+"))
      lookups.push({ phone: fields.phone });
    for (const lookup of lookups) {
      const match = await ghl.findDuplicate(locationId, lookup, context);
      if (match !== null && typeof match.id === "string")
        return { id: match.id, record: match };
    }
    return null;
  }
}

/**
 * Returns the Coopel tag list a link last saw. Links written before it was
 * kept fall back to the GHL list without the rule tags, which Coopel then
 * had as well.
 */
function coopelBaseline(link: Link): string[] | null {
  if (link.coopelTags != null) return link.coopelTags;
  if (link.tags == null) return null;
  return [...link.tags, ...(link.ruleTags ?? [])];
}

function sameTags(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((tag) => b.includes(tag));
}

function tagList(value: unknown): string[] | null {
  return Array.isArray(value)
    ? value.filter((tag): tag is string => typeof tag === "string")
    : null;
}
