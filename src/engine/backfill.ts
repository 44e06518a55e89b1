import type {
  ContactMapping,
  MappedContact,
} from "../mapping/contact-mapping.js";
import {
  contactLink,
  createBody,
  fillBody,
  tagsToAdd,
  updatedAtOf,
  withRetries,
  writeFill,
} from "./contact-apply.js";
import {
  matchContact,
  summariseCoopel,
  summariseGhl,
  type Candidate,
  type MatchDecision,
} from "./contact-match.js";
import { CoopelIndex } from "./coopel-index.js";
import { idText, normaliseValue } from "./field-compare.js";
import { scanGhlContacts } from "./ghl-scan.js";
import type {
  CallContext,
  CoopelClient,
  CoopelRecord,
  GhlApi,
  GhlContactWrite,
  GhlRecord,
  Link,
  Logger,
  NewReviewItem,
  SyncState,
} from "./ports.js";

/** Adds enriched keys (custom fields, DND, business) to a GHL record before mapping. */
export type Enrich = (
  locationId: string,
  record: GhlRecord,
  context: CallContext,
) => Promise<Record<string, unknown>>;

export interface BackfillOptions {
  ghl: GhlApi;
  coopel: CoopelClient;
  state: SyncState;
  mapping: ContactMapping;
  enrich: Enrich;
  logger: Logger;
  locationId: string;
  /** GHL search page size, 1 to 500. */
  pageLimit: number;
  /** Coopel list page size. */
  coopelPageSize: number;
  /** Most GHL requests this run may send; the run stops, resumable, when the next page would pass it. */
  ghlRequestLimit: number;
  /** Coopel writes in flight at once. */
  concurrency: number;
  /** Send tags with a create (mapping.contact.tags_on_create) and add missing tags on a link. */
  syncTags: boolean;
  dryRun: boolean;
  /** Called after each page. */
  onPage?: (progress: BackfillProgress) => void;
  /** Waits before an empty GHL page is asked for again. */
  confirmEmptyAfterMs?: number;
  /**
   * Maps a Coopel contact to a GHL body, for contacts that only Coopel has;
   * null leaves that contact out. Absent means Coopel-only contacts stay on
   * Coopel, as in a GHL-to-Coopel sync.
   */
  createOnGhl?: CreateOnGhl;
  now?: () => number;
}

/** The GHL create of a Coopel-only contact. */
export interface GhlContactCreate extends GhlContactWrite {
  /** Tags added after the create, because GHL's create body takes none. */
  tags?: string[];
}

/** Maps a Coopel-only contact to its GHL create, or null to leave it out. */
export type CreateOnGhl = (
  record: CoopelRecord,
  context: CallContext,
) => Promise<GhlContactCreate | null> | GhlContactCreate | null;

/** Counts of one backfill run. */
export interface BackfillSummary {
  locationId: string;
  dryRun: boolean;
  /** True when the run started from a cursor an earlier run saved. */
  resumed: boolean;
  /** `done`, or `budget` when the run stopped at its share of the GHL budget. */
  status: "done" | "budget";
  pages: number;
  read: number;
  /** Linked before this run; fields that drifted are filled in. */
  alreadyLinked: number;
  linkedByExternalId: number;
  linkedByEmail: number;
  linkedByPhone: number;
  created: number;
  /** Coopel contacts that got at least one field or tag written. */
  updated: number;
  review: number;
  /** GHL contacts deleted earlier, whose tombstone keeps them out of Coopel. */
  skippedDeleted: number;
  /** GHL contacts whose review item was rejected with "leave unlinked". */
  leftUnlinked: number;
  /** Coopel-only contacts created on GHL (with `createOnGhl`). */
  createdOnGhl: number;
  /** Coopel-only contacts that GHL reported as duplicates of an existing contact; left unlinked. */
  ghlDuplicates: number;
  failed: number;
  ghlRequests: number;
  coopelRequests: number;
  coopelContacts: number;
  durationMs: number;
}

/** Progress after one page. */
export interface BackfillProgress {
  read: number;
  /** The location's total as GHL reports it, an estimate only. */
  reportedTotal: number | null;
  summary: BackfillSummary;
}

/** A planned or sent write for one GHL contact. */
interface Action {
  record: GhlRecord;
  mapped: MappedContact;
  decision: MatchDecision | { kind: "linked"; coopel: Candidate };
}

/** Name of the cursor that a backfill of `locationId` saves after each page. */
export function backfillCursorName(locationId: string): string {
  return `backfill:${locationId}`;
}

/**
 * The first sync of one GHL location into Coopel. It reads every GHL
 * contact by cursor and reads Coopel once into an index. Per contact, it
 * links the one-to-one match (external id, then email, then E.164 phone),
 * creates the contact when nothing matches, and puts every doubtful match
 * on the review list. After each page the links and the cursor are saved in one
 * transaction, so a killed run resumes at the next page; a create whose link
 * was lost is found again by its external id in the next run's index.
 */
export class Backfill {
  private readonly now: () => number;
  private readonly summary: BackfillSummary;
  private readonly linkedTo = new Map<string, string>();
  private readonly index: CoopelIndex;
  private readonly sharedEmails = new Set<string>();
  private readonly sharedPhones = new Set<string>();
  private readonly keepUnlinked = new Set<string>();
  /** Coopel contacts that this run put on the review list as candidates. */
  private readonly reviewCandidates = new Set<string>();
  private readonly ghlRequests: CallContext["requests"] = [];
  private readonly coopelRequests: CallContext["requests"] = [];
  /** Requests already counted and dropped from the lists above, which would otherwise grow with every write. */
  private ghlCounted = 0;
  private coopelCounted = 0;

  constructor(private readonly options: BackfillOptions) {
    this.now = options.now ?? Date.now;
    this.index = new CoopelIndex(options.coopel.externalIdField);
    this.summary = {
      locationId: options.locationId,
      dryRun: options.dryRun,
      resumed: false,
      status: "done",
      pages: 0,
      read: 0,
      alreadyLinked: 0,
      linkedByExternalId: 0,
      linkedByEmail: 0,
      linkedByPhone: 0,
      created: 0,
      updated: 0,
      review: 0,
      skippedDeleted: 0,
      leftUnlinked: 0,
      createdOnGhl: 0,
      ghlDuplicates: 0,
      failed: 0,
      ghlRequests: 0,
      coopelRequests: 0,
      coopelContacts: 0,
      durationMs: 0,
    };
  }

  async run(): Promise<BackfillSummary> {
    const started = this.now();
    const { options } = this;
    const cursorName = backfillCursorName(options.locationId);
    const saved = await options.state.getCursor(cursorName);
    this.summary.resumed = saved !== null;
    const ghlContext = (): CallContext => ({
      requests: this.ghlRequests,
      priority: "background",
    });
    const coopelContext = (): CallContext => ({
      requests: this.coopelRequests,
      priority: "background",
    });

    await this.index.load(
      options.coopel,
      options.coopelPageSize,
      coopelContext,
    );
    this.summary.coopelContacts = this.index.size;
    await this.loadLinks();
    for (const item of await options.state.listReviewItems("rejected"))
      if (
        item.ghlLocationId === options.locationId &&
        item.resolvedCoopelId === null
      )
        this.keepUnlinked.add(item.ghl.id);

    // The first pass finds emails and phones that several GHL contacts
    // share; it costs one read per page and no writes.
    const counted = await this.countShared(ghlContext);
    if (!counted) return this.finish(started, "budget");

    for await (const page of scanGhlContacts(options.ghl, {
      locationId: options.locationId,
      pageLimit: options.pageLimit,
      startAfter: saved,
      context: ghlContext,
      confirmEmptyAfterMs: options.confirmEmptyAfterMs,
    })) {
      await this.handlePage(page.contacts, page.cursor, cursorName);
      this.summary.pages++;
      this.summary.read += page.contacts.length;
      this.count();
      options.onPage?.({
        read: this.summary.read,
        reportedTotal: page.reportedTotal,
        summary: { ...this.summary },
      });
      if (this.summary.ghlRequests + 2 > options.ghlRequestLimit)
        return this.finish(started, "budget");
    }
    if (!options.dryRun) await options.state.saveCursor(cursorName, null);
    if (options.createOnGhl)
      await this.createCoopelOnly(options.createOnGhl, ghlContext);
    return this.finish(started, "done");
  }

  /**
   * Creates on GHL the Coopel contacts that no GHL contact claims, once the
   * scan has linked everything it could. Contacts without email and phone
   * are left out, because nothing could find them again after a crash, and
   * so are candidates of open review items. A contact that GHL reports as a
   * duplicate stays unlinked, for a person or the next backfill to match.
   */
  private async createCoopelOnly(
    toGhl: CreateOnGhl,
    ghlContext: () => CallContext,
  ): Promise<void> {
    const { options } = this;
    const reviewed = new Set(this.reviewCandidates);
    for (const item of await options.state.listReviewItems("open"))
      for (const candidate of item.candidates) reviewed.add(candidate.id);
    const external = options.coopel.externalIdField;
    const pending = this.index
      .all()
      .filter(
        (c) =>
          !this.linkedTo.has(c.id) &&
          !reviewed.has(c.id) &&
          (external === null || idText(c.record[external]) === null) &&
          (idText(c.record.email) !== null || idText(c.record.phone) !== null),
      );
    await runPool(pending, options.concurrency, async (candidate) => {
      let write: GhlContactCreate | null;
      try {
        write = await toGhl(candidate.record, ghlContext());
      } catch (error) {
        this.summary.failed++;
        options.logger.error(
          { err: error, coopelId: candidate.id },
          "backfill: mapping the Coopel-only contact for GHL failed; the next run tries again",
        );
        return;
      }
      if (write === null) return;
      if (options.dryRun) {
        this.summary.createdOnGhl++;
        options.logger.info(
          {
            coopelId: candidate.id,
            plan: "create on GHL",
            fields: Object.keys(write.fields),
          },
          "backfill plan: create in GHL",
        );
        return;
      }
      try {
        const created = await withRetries(() =>
          options.ghl.createContact(options.locationId, write, ghlContext()),
        );
        if (created.duplicate) {
          this.summary.ghlDuplicates++;
          options.logger.warn(
            { coopelId: candidate.id, ghlId: created.id },
            "backfill: GHL already has this Coopel-only contact as a duplicate; it stays unlinked",
          );
          return;
        }
        const tags = write.tags ?? [];
        if (tags.length > 0)
          await withRetries(() =>
            options.ghl.addTags(
              options.locationId,
              created.id,
              tags,
              ghlContext(),
            ),
          );
        const context: CallContext = {
          requests: this.coopelRequests,
          priority: "background",
        };
        if (external)
          await withRetries(() =>
            options.coopel.updateContact(
              candidate.id,
              { [external]: created.id },
              context,
            ),
          );
        // The link records the fields on which both records agree, which
        // two-way sync compares later changes of either side against.
        const mapped = created.record
          ? await options.mapping.map(
              await options.enrich(
                options.locationId,
                created.record,
                ghlContext(),
              ),
            )
          : null;
        const link: Link = mapped
          ? contactLink({
              locationId: options.locationId,
              ghlId: created.id,
              coopelAccountId: options.coopel.accountId,
              coopelId: candidate.id,
              mapped,
              record: external
                ? { ...candidate.record, [external]: created.id }
                : candidate.record,
              sourceUpdatedAt: updatedAtOf(created.record!),
              now: this.now(),
            })
          : {
              entity: "contact",
              ghlLocationId: options.locationId,
              ghlId: created.id,
              coopelAccountId: options.coopel.accountId,
              coopelId: candidate.id,
              fieldHashes: {},
              deletedAt: null,
              sourceUpdatedAt: null,
              updatedAt: this.now(),
            };
        await options.state.saveLinks([
          { ...link, ...(tags.length > 0 ? { tags, coopelTags: tags } : {}) },
        ]);
        this.linkedTo.set(candidate.id, created.id);
        this.summary.createdOnGhl++;
      } catch (error) {
        this.summary.failed++;
        options.logger.error(
          { err: error, coopelId: candidate.id },
          "backfill: creating the Coopel-only contact on GHL failed; the next run tries again",
        );
      }
    });
  }

  private finish(
    started: number,
    status: BackfillSummary["status"],
  ): BackfillSummary {
    this.summary.status = status;
    this.summary.durationMs = this.now() - started;
    this.count();
    return { ...this.summary };
  }

  private count(): void {
    this.ghlCounted += this.ghlRequests.splice(0).length;
    this.coopelCounted += this.coopelRequests.splice(0).length;
    this.summary.ghlRequests = this.ghlCounted;
    this.summary.coopelRequests = this.coopelCounted;
  }

  /** Reads which Coopel contact each existing link of the location claims. */
  private async loadLinks(): Promise<void> {
    let after: string | null = null;
    for (;;) {
      const links = await this.options.state.listLinksAfter(
        "contact",
        this.options.locationId,
        after,
        5000,
      );
      for (const link of links)
        if (link.coopelId !== null && link.deletedAt === null)
          this.linkedTo.set(link.coopelId, link.ghlId);
      if (links.length < 5000) return;
      after = links[links.length - 1]!.ghlId;
    }
  }

  /** Reads every GHL contact once and keeps the emails and phones seen more than once. Returns false when the budget ran out. */
  private async countShared(ghlContext: () => CallContext): Promise<boolean> {
    const emails = new Set<string>();
    const phones = new Set<string>();
    for await (const page of scanGhlContacts(this.options.ghl, {
      locationId: this.options.locationId,
      pageLimit: this.options.pageLimit,
      startAfter: null,
      context: ghlContext,
      confirmEmptyAfterMs: this.options.confirmEmptyAfterMs,
    })) {
      for (const record of page.contacts) {
        const email = normaliseValue("email", record.email);
        if (typeof email === "string") {
          if (emails.has(email)) this.sharedEmails.add(email);
          emails.add(email);
        }
        const phone = normaliseValue("phone", record.phone);
        if (typeof phone === "string") {
          if (phones.has(phone)) this.sharedPhones.add(phone);
          phones.add(phone);
        }
      }
      this.count();
      if (this.summary.ghlRequests + 2 > this.options.ghlRequestLimit)
        return false;
    }
    return true;
  }

  private async handlePage(
    contacts: GhlRecord[],
    cursor: string,
    cursorName: string,
  ): Promise<void> {
    const { options } = this;
    const ids = contacts.map((c) => String(c.id));
    const links = new Map(
      (await options.state.getLinks("contact", options.locationId, ids)).map(
        (link) => [link.ghlId, link],
      ),
    );
    const actions: Action[] = [];
    const reviews: NewReviewItem[] = [];
    for (const record of contacts) {
      const ghlId = String(record.id);
      if (this.keepUnlinked.has(ghlId)) {
        this.summary.leftUnlinked++;
        continue;
      }
      const enriched = await options.enrich(options.locationId, record, {
        requests: this.ghlRequests,
        priority: "background",
      });
      const mapped = await options.mapping.map(enriched);
      const link = links.get(ghlId);
      if (link?.deletedAt != null) {
        this.summary.skippedDeleted++;
        continue;
      }
      if (link?.coopelId != null) {
        const existing = this.index.get(link.coopelId);
        if (existing) {
          this.summary.alreadyLinked++;
          actions.push({
            record,
            mapped,
            decision: { kind: "linked", coopel: existing },
          });
          continue;
        }
        // The linked Coopel contact is gone; the contact is matched again.
      }
      const decision = await matchContact(
        {
          ghlId,
          fields: mapped.fields,
          emailSharedInGhl: this.isShared(this.sharedEmails, "email", mapped),
          phoneSharedInGhl: this.isShared(this.sharedPhones, "phone", mapped),
          linkedTo: (coopelId) => this.linkedTo.get(coopelId) ?? null,
          externalIdField: options.coopel.externalIdField,
        },
        this.index,
      );
      if (decision.kind === "review") {
        reviews.push({
          ghlLocationId: options.locationId,
          ghl: summariseGhl(record),
          reason: decision.reason,
          candidates: decision.candidates.map(summariseCoopel),
        });
        this.summary.review++;
        for (const candidate of decision.candidates)
          this.reviewCandidates.add(candidate.id);
        options.logger.info(
          {
            ghlId,
            reason: decision.reason,
            candidates: decision.candidates.map((c) => c.id),
          },
          "backfill: match needs review",
        );
        continue;
      }
      if (decision.kind === "link") {
        // Claimed now, so a later contact of the same page cannot take it too.
        this.linkedTo.set(decision.coopel.id, ghlId);
        if (decision.by === "external_id") this.summary.linkedByExternalId++;
        if (decision.by === "email") this.summary.linkedByEmail++;
        if (decision.by === "phone") this.summary.linkedByPhone++;
      }
      actions.push({ record, mapped, decision });
    }

    const newLinks: Link[] = [];
    await runPool(actions, options.concurrency, async (action) => {
      try {
        const link = await this.apply(action);
        if (link) newLinks.push(link);
      } catch (error) {
        this.summary.failed++;
        options.logger.error(
          { err: error, ghlId: String(action.record.id) },
          "backfill: writing the contact to Coopel failed; it is left unlinked for the next run or reconcile",
        );
      }
    });
    if (options.dryRun) return;
    if (reviews.length > 0) await options.state.addReviewItems(reviews);
    await options.state.saveLinks(newLinks, {
      name: cursorName,
      value: cursor,
    });
  }

  private isShared(
    shared: Set<string>,
    field: "email" | "phone",
    mapped: MappedContact,
  ): boolean {
    const value = normaliseValue(field, mapped.fields[field]);
    return typeof value === "string" && shared.has(value);
  }

  /** Sends the writes of one contact (or logs them in a dry run) and returns its link. */
  private async apply(action: Action): Promise<Link | null> {
    const { options } = this;
    const { record, mapped, decision } = action;
    const ghlId = String(record.id);
    const context: CallContext = {
      requests: this.coopelRequests,
      priority: "background",
    };
    const link = (coopelId: string, after: CoopelRecord): Link =>
      contactLink({
        locationId: options.locationId,
        ghlId,
        coopelAccountId: options.coopel.accountId,
        coopelId,
        mapped,
        record: after,
        sourceUpdatedAt: updatedAtOf(record),
        now: this.now(),
      });

    if (decision.kind === "create") {
      const body = createBody(
        mapped,
        ghlId,
        options.coopel,
        options.syncTags && options.mapping.tagsOnCreate,
      );
      if (options.dryRun) {
        this.summary.created++;
        options.logger.info(
          { ghlId, plan: "create", fields: Object.keys(body) },
          "backfill plan: create in Coopel",
        );
        return null;
      }
      const created = await withRetries(() =>
        options.coopel.createContact(body, context),
      );
      this.summary.created++;
      this.index.add({ id: created.id, record: created.record });
      this.linkedTo.set(created.id, ghlId);
      return link(created.id, { ...body, ...created.record });
    }
    if (decision.kind === "review") return null;

    const target = decision.coopel;
    const body = fillBody(mapped, ghlId, target.record, options.coopel);
    const tags = options.syncTags ? tagsToAdd(mapped, target.record) : [];
    if (Object.keys(body).length > 0 || tags.length > 0) {
      this.summary.updated++;
      if (options.dryRun) {
        options.logger.info(
          {
            ghlId,
            coopelId: target.id,
            plan:
              decision.kind === "linked" ? "update" : `link by ${decision.by}`,
            fields: Object.keys(body),
            addTags: tags,
          },
          "backfill plan: update in Coopel",
        );
        return null;
      }
      await writeFill(options.coopel, target.id, body, tags, context);
    }
    const after = { ...target.record, ...body };
    this.index.add({ id: target.id, record: after });
    return link(target.id, after);
  }
}

/** Runs `work` over `items` with at most `limit` running at once. */
export async function runPool<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const runners = Array.from(
    { length: Math.min(limit, items.length) },
    async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await work(item);
      }
    },
  );
  await Promise.all(runners);
}
