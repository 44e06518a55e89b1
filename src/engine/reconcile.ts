import type { Config } from "../config/schema.js";
import type {
  ContactMapping,
  MappedContact,
} from "../mapping/contact-mapping.js";
import { mergeHashes } from "../mapping/contact-mapping.js";
import { runPool, type Enrich } from "./backfill.js";
import {
  contactLink,
  createBody,
  updatedAtOf,
  withRetries,
} from "./contact-apply.js";
import {
  matchContact,
  summariseCoopel,
  summariseGhl,
} from "./contact-match.js";
import { CoopelLookupSource } from "./coopel-index.js";
import { ApiError } from "./errors.js";
import { diffFields, diffTags, normaliseValue } from "./field-compare.js";
import { scanGhlContacts } from "./ghl-scan.js";
import type { DirectedDrift, TowardGhlRepair } from "./reconcile-direction.js";
import type {
  CallContext,
  CoopelClient,
  CoopelRecord,
  GhlApi,
  GhlRecord,
  Link,
  Logger,
  SeenContact,
  SyncState,
} from "./ports.js";

/** One difference that reconcile found. */
export type Finding =
  | {
      kind: "field_drift";
      ghlId: string;
      coopelId: string;
      fields: DirectedDrift[];
    }
  | {
      kind: "tag_drift";
      ghlId: string;
      coopelId: string;
      missingOnCoopel: string[];
      extraOnCoopel: string[];
    }
  /** A GHL contact without a Coopel record: never linked, or its linked record is gone. */
  | { kind: "missing_on_coopel"; ghlId: string; coopelId: string | null }
  /** A Coopel contact that no link of any location points at; a difference only when contacts sync toward GHL. */
  | { kind: "coopel_only"; coopelId: string }
  /** A link whose GHL contact no longer exists; `survivor` is the contact it was merged into, when found. */
  | {
      kind: "stale_link";
      ghlId: string;
      coopelId: string;
      survivor: string | null;
    };

/** The action reconcile took on a finding. */
export type Repair =
  | "updated"
  | "tags_fixed"
  | "created"
  | "linked"
  | "sent_to_review"
  | "link_moved"
  | "delete_policy_applied"
  | "planned"
  | "not_repaired";

export interface ReconcileSummary {
  locationId: string;
  repair: boolean;
  dryRun: boolean;
  ghlContacts: number;
  coopelContacts: number;
  /** Linked pairs compared field by field. */
  compared: number;
  inSync: number;
  findings: Record<Finding["kind"], number>;
  /** Findings that break the sync direction; Coopel-only contacts count only when contacts sync toward GHL. */
  differences: number;
  repaired: number;
  failed: number;
  ghlRequests: number;
  coopelRequests: number;
  durationMs: number;
}

export interface ReconcileOptions {
  ghl: GhlApi;
  coopel: CoopelClient;
  state: SyncState;
  mapping: ContactMapping;
  enrich: Enrich;
  logger: Logger;
  locationId: string;
  deletePolicy: Config["sync"]["contacts"]["delete"];
  syncTags: boolean;
  repair: boolean;
  dryRun: boolean;
  pageLimit: number;
  coopelPageSize: number;
  concurrency: number;
  /**
   * Repairs toward GHL, when `sync.contacts.direction` is `two_way` or
   * `coopel_to_ghl`; without it every repair goes to Coopel.
   */
  towardGhl?: TowardGhlRepair;
  /** Called for each finding as it is found, with the repair made, so output can stream. */
  onFinding: (finding: Finding, repair: Repair | null) => void;
  confirmEmptyAfterMs?: number;
  now?: () => number;
}

/**
 * Compares every linked contact pair of one location after mapping and
 * normalisation, and reports records missing on either side, links whose
 * GHL contact is gone, and drift per field and in tag sets. It streams:
 * GHL search pages go to the store with the Coopel id of each contact's
 * link, and Coopel's list pages are then joined with them by Coopel id,
 * so memory does not grow with the number of contacts. Single reads are
 * left for records that one list missed. Findings are handed to
 * `onFinding` as they are found. With `repair`, each difference is fixed in
 * the GHL-to-Coopel direction; with `dryRun` as well, fixes are only
 * logged as a plan.
 */
export class Reconcile {
  private readonly now: () => number;
  private readonly ghlRequests: CallContext["requests"] = [];
  private readonly coopelRequests: CallContext["requests"] = [];
  /** Requests of repairs that write both sides, split by API when counted. */
  private readonly bothRequests: CallContext["requests"] = [];
  private ghlCounted = 0;
  private coopelCounted = 0;
  private readonly summary: ReconcileSummary;

  constructor(private readonly options: ReconcileOptions) {
    this.now = options.now ?? Date.now;
    this.summary = {
      locationId: options.locationId,
      repair: options.repair,
      dryRun: options.dryRun,
      ghlContacts: 0,
      coopelContacts: 0,
      compared: 0,
      inSync: 0,
      findings: {
        field_drift: 0,
        tag_drift: 0,
        missing_on_coopel: 0,
        coopel_only: 0,
        stale_link: 0,
      },
      differences: 0,
      repaired: 0,
      failed: 0,
      ghlRequests: 0,
      coopelRequests: 0,
      durationMs: 0,
    };
  }

  private ghlContext = (): CallContext => ({
    requests: this.ghlRequests,
    priority: "background",
  });

  private coopelContext = (): CallContext => ({
    requests: this.coopelRequests,
    priority: "background",
  });

  async run(): Promise<ReconcileSummary> {
    const started = this.now();
    const runId = `reconcile-${started}-${Math.random().toString(36).slice(2, 10)}`;
    try {
      await this.keepGhlPages(runId);
      await this.compareCoopelPages(runId);
      await this.checkUnmatchedPairs(runId);
      await this.checkUnseenLinks(runId);
      // Unlinked contacts come after stale links, so that a merge survivor
      // gets its link moved before it is matched.
      await this.handleUnlinkedSeen(runId);
    } finally {
      await this.options.state.clearSeen(runId);
    }
    this.count();
    this.summary.durationMs = this.now() - started;
    return { ...this.summary };
  }

  /**
   * Checks and repairs one GHL contact, as a full run would: compares a
   * linked pair, matches an unlinked contact.
   */
  async syncOne(ghlId: string): Promise<"not_found" | "done" | "failed"> {
    const { options } = this;
    const record = await options.ghl.getContact(
      options.locationId,
      ghlId,
      this.ghlContext(),
    );
    if (record === null) return "not_found";
    const failedBefore = this.summary.failed;
    const [link] = await options.state.getLinks("contact", options.locationId, [
      ghlId,
    ]);
    if (link?.deletedAt != null) return "done";
    try {
      if (link?.coopelId != null) await this.comparePair(record, link);
      else await this.handleUnlinked(ghlId);
    } catch (error) {
      this.fail(error, ghlId);
    }
    this.count();
    return this.summary.failed > failedBefore ? "failed" : "done";
  }

  private count(): void {
    this.ghlCounted += this.ghlRequests.splice(0).length;
    this.coopelCounted += this.coopelRequests.splice(0).length;
    for (const request of this.bothRequests.splice(0))
      if (request.api === "GHL") this.ghlCounted++;
      else this.coopelCounted++;
    this.summary.ghlRequests = this.ghlCounted;
    this.summary.coopelRequests = this.coopelCounted;
  }

  private report(finding: Finding, repair: Repair | null): void {
    this.summary.findings[finding.kind]++;
    if (finding.kind !== "coopel_only" || this.options.towardGhl)
      this.summary.differences++;
    if (
      repair !== null &&
      repair !== "not_repaired" &&
      repair !== "planned" &&
      repair !== "sent_to_review"
    )
      this.summary.repaired++;
    this.options.logger.info(
      { ...finding, repair },
      `reconcile: ${finding.kind.replaceAll("_", " ")}`,
    );
    this.options.onFinding(finding, repair);
  }

  /**
   * Streams GHL contacts page by page into the store, each with the Coopel
   * id of its live link, so that Coopel's list can be joined with them
   * without holding either side in memory.
   */
  private async keepGhlPages(runId: string): Promise<void> {
    const { options } = this;
    for await (const page of scanGhlContacts(options.ghl, {
      locationId: options.locationId,
      pageLimit: options.pageLimit,
      startAfter: null,
      context: this.ghlContext,
      confirmEmptyAfterMs: options.confirmEmptyAfterMs,
    })) {
      const ids = page.contacts.map((c) => String(c.id));
      this.summary.ghlContacts += ids.length;
      const links = new Map(
        (await options.state.getLinks("contact", options.locationId, ids)).map(
          (link) => [link.ghlId, link],
        ),
      );
      const kept: SeenContact[] = [];
      const tombstoned: string[] = [];
      for (const record of page.contacts) {
        const ghlId = String(record.id);
        const link = links.get(ghlId);
        if (link?.deletedAt != null) tombstoned.push(ghlId);
        else
          kept.push({
            ghlId,
            coopelId: link?.coopelId ?? null,
            record: JSON.stringify(record),
          });
      }
      await options.state.keepSeen(runId, kept);
      await options.state.markSeen(runId, tombstoned);
      this.count();
    }
  }

  /**
   * Streams Coopel's list page by page. Each Coopel contact is compared
   * with the GHL contact kept for it, and one that no link points at is
   * reported as Coopel-only.
   */
  private async compareCoopelPages(runId: string): Promise<void> {
    const { coopel, state } = this.options;
    let cursor: string | null = null;
    do {
      const page = await coopel.listContacts(
        { cursor, limit: this.options.coopelPageSize },
        this.coopelContext(),
      );
      this.summary.coopelContacts += page.contacts.length;
      const coopelIds = page.contacts.map((c) => c.id);
      const linked = new Set(
        (
          await state.getLinksByCoopelIds(
            "contact",
            coopel.accountId,
            coopelIds,
          )
        ).map((l) => l.coopelId),
      );
      const records = new Map(page.contacts.map((c) => [c.id, c.record]));
      const pairs = await state.takeSeenByCoopelIds(runId, coopelIds);
      const links = new Map(
        (
          await state.getLinks(
            "contact",
            this.options.locationId,
            pairs.map((pair) => pair.ghlId),
          )
        ).map((link) => [link.ghlId, link]),
      );
      await runPool(pairs, this.options.concurrency, async (pair) => {
        const link = links.get(pair.ghlId);
        // The link changed after the GHL page was read, so the next run compares it.
        if (link?.coopelId !== pair.coopelId || link.deletedAt !== null) return;
        try {
          await this.comparePair(
            JSON.parse(pair.record) as GhlRecord,
            link,
            records.get(pair.coopelId!) ?? null,
          );
        } catch (error) {
          this.fail(error, pair.ghlId);
        }
      });
      for (const contact of page.contacts)
        if (!linked.has(contact.id)) await this.handleCoopelOnly(contact.id);
      cursor = page.nextCursor;
      this.count();
    } while (cursor !== null);
  }

  /**
   * Compares, page by page, the linked GHL contacts whose Coopel record the
   * list did not return. A direct read decides, because the list may have
   * missed a record that changed during the run.
   */
  private async checkUnmatchedPairs(runId: string): Promise<void> {
    const { options } = this;
    let after: string | null = null;
    for (;;) {
      const pairs = await options.state.listUnmatchedSeen(
        runId,
        true,
        after,
        200,
      );
      if (pairs.length === 0) return;
      after = pairs[pairs.length - 1]!.ghlId;
      const links = new Map(
        (
          await options.state.getLinks(
            "contact",
            options.locationId,
            pairs.map((pair) => pair.ghlId),
          )
        ).map((link) => [link.ghlId, link]),
      );
      await runPool(pairs, options.concurrency, async (pair) => {
        const link = links.get(pair.ghlId);
        if (link?.coopelId == null || link.deletedAt !== null) return;
        try {
          await this.comparePair(JSON.parse(pair.record) as GhlRecord, link);
        } catch (error) {
          this.fail(error, pair.ghlId);
        }
      });
      this.count();
    }
  }

  /** Matches, page by page, the GHL contacts the scan found without a link. */
  private async handleUnlinkedSeen(runId: string): Promise<void> {
    let after: string | null = null;
    for (;;) {
      const contacts = await this.options.state.listUnmatchedSeen(
        runId,
        false,
        after,
        200,
      );
      if (contacts.length === 0) return;
      after = contacts[contacts.length - 1]!.ghlId;
      for (const contact of contacts) await this.handleUnlinked(contact.ghlId);
      this.count();
    }
  }

  private fail(error: unknown, ghlId: string): void {
    this.summary.failed++;
    this.options.logger.error(
      { err: error, ghlId },
      "reconcile: checking or repairing the contact failed",
    );
  }

  private async mapRecord(record: GhlRecord): Promise<MappedContact> {
    return (await this.enrichAndMap(record)).mapped;
  }

  private async enrichAndMap(
    record: GhlRecord,
  ): Promise<{ enriched: GhlRecord; mapped: MappedContact }> {
    const enriched = await this.options.enrich(
      this.options.locationId,
      record,
      this.ghlContext(),
    );
    return { enriched, mapped: await this.options.mapping.map(enriched) };
  }

  /**
   * Reports a Coopel contact that no link points at. When contacts sync
   * toward GHL, the repair links it to its GHL contact or creates one.
   */
  private async handleCoopelOnly(coopelId: string): Promise<void> {
    const finding: Finding = { kind: "coopel_only", coopelId };
    const { towardGhl } = this.options;
    if (!towardGhl) {
      this.report(finding, null);
      return;
    }
    if (!this.writes) {
      this.report(finding, this.plan());
      return;
    }
    try {
      const outcome = await towardGhl.createOrLink(coopelId, this.now());
      this.bothRequests.push(...outcome.requests);
      if (outcome.links.length > 0)
        await this.options.state.saveLinks(outcome.links);
      for (const warning of outcome.warnings)
        this.options.logger.warn({ coopelId }, `reconcile: ${warning}`);
      this.report(finding, outcome.result);
    } catch (error) {
      this.summary.failed++;
      this.options.logger.error(
        { err: error, coopelId },
        "reconcile: linking or creating the Coopel-only contact in GHL failed",
      );
      this.report(finding, "not_repaired");
    }
  }

  /**
   * Compares a linked pair and repairs it. `listed` is the Coopel record as
   * the list returned it; without one, the record is read.
   */
  private async comparePair(
    record: GhlRecord,
    link: Link,
    listed: CoopelRecord | null = null,
  ): Promise<void> {
    const { options } = this;
    const ghlId = String(record.id);
    const coopelId = link.coopelId!;
    const { enriched, mapped } = await this.enrichAndMap(record);
    const coopelRecord =
      listed ??
      (await options.coopel.getContact(coopelId, this.coopelContext()));
    if (coopelRecord === null) {
      const finding: Finding = { kind: "missing_on_coopel", ghlId, coopelId };
      this.report(finding, await this.recreate(record, mapped, link));
      return;
    }
    this.summary.compared++;
    const fields = diffFields(mapped.fields, coopelRecord);
    const ruleTags = new Set((link.ruleTags ?? []).map((t) => t.toLowerCase()));
    const tags =
      options.syncTags && mapped.tags !== null
        ? diffTags(mapped.tags, coopelRecord.tags)
        : { missingOnCoopel: [], extraOnCoopel: [] };
    tags.extraOnCoopel = tags.extraOnCoopel.filter(
      (t) => !ruleTags.has(t.toLowerCase()),
    );
    if (
      fields.length === 0 &&
      tags.missingOnCoopel.length === 0 &&
      tags.extraOnCoopel.length === 0
    ) {
      this.summary.inSync++;
      return;
    }
    if (fields.length > 0) {
      const towardGhl = this.options.towardGhl;
      const directed: DirectedDrift[] = towardGhl
        ? await towardGhl.direct(fields, link, record, mapped, coopelRecord)
        : fields.map((field) => ({ ...field, toward: "coopel" }));
      const finding: Finding = {
        kind: "field_drift",
        ghlId,
        coopelId,
        fields: directed,
      };
      const repair = towardGhl
        ? await this.fixFieldsBothWays(link, enriched, mapped, coopelRecord)
        : await this.fixFields(finding, mapped, link);
      this.report(finding, repair);
    }
    if (tags.missingOnCoopel.length > 0 || tags.extraOnCoopel.length > 0) {
      const finding: Finding = { kind: "tag_drift", ghlId, coopelId, ...tags };
      this.report(finding, await this.fixTags(finding));
    }
  }

  private get writes(): boolean {
    return this.options.repair && !this.options.dryRun;
  }

  private plan(): Repair | null {
    return this.options.repair ? "planned" : null;
  }

  private async fixFields(
    finding: Extract<Finding, { kind: "field_drift" }>,
    mapped: MappedContact,
    link: Link,
  ): Promise<Repair | null> {
    if (!this.writes) return this.plan();
    const body: CoopelRecord = {};
    for (const drift of finding.fields) body[drift.field] = drift.ghl;
    await withRetries(() =>
      this.options.coopel.updateContact(
        finding.coopelId,
        body,
        this.coopelContext(),
      ),
    );
    await this.options.state.saveLinks([
      {
        ...link,
        fieldHashes: mergeHashes(link.fieldHashes, mapped.fields),
        updatedAt: this.now(),
      },
    ]);
    return "updated";
  }

  /** Repairs a drifted pair in the direction the policy gives, as the live two-way sync does. */
  private async fixFieldsBothWays(
    link: Link,
    enriched: GhlRecord,
    mapped: MappedContact,
    coopelRecord: CoopelRecord,
  ): Promise<Repair | null> {
    if (!this.writes) return this.plan();
    const context: CallContext = {
      requests: this.bothRequests,
      priority: "background",
    };
    const result = await this.options.towardGhl!.repair(
      link,
      enriched,
      mapped,
      coopelRecord,
      context,
    );
    for (const warning of result.warnings)
      this.options.logger.warn(
        { ghlId: link.ghlId, coopelId: link.coopelId },
        `reconcile: ${warning}`,
      );
    await this.options.state.saveLinks([result.link]);
    return "updated";
  }

  // TODO: tag drift is repaired toward Coopel in every direction, also
  // when contacts sync two-way or Coopel to GHL.
  private async fixTags(
    finding: Extract<Finding, { kind: "tag_drift" }>,
  ): Promise<Repair | null> {
    if (!this.writes) return this.plan();
    const { coopel } = this.options;
    const context = this.coopelContext();
    if (finding.missingOnCoopel.length > 0 && coopel.supports("add_tags"))
      await withRetries(() =>
        coopel.addTags(finding.coopelId, finding.missingOnCoopel, context),
      );
    if (finding.extraOnCoopel.length > 0 && coopel.supports("remove_tags"))
      await withRetries(() =>
        coopel.removeTags(finding.coopelId, finding.extraOnCoopel, context),
      );
    return "tags_fixed";
  }

  /** Creates a linked contact whose Coopel record is gone, unless a lookup by external id finds it first. */
  private async recreate(
    record: GhlRecord,
    mapped: MappedContact,
    link: Link,
  ): Promise<Repair | null> {
    if (!this.writes) return this.plan();
    const ghlId = String(record.id);
    const source = new CoopelLookupSource(
      this.options.coopel,
      this.coopelContext,
    );
    const found = await source.byExternalId(ghlId);
    let coopelId: string;
    let after: CoopelRecord;
    if (found) {
      coopelId = found.id;
      after = found.record;
    } else {
      const body = createBody(
        mapped,
        ghlId,
        this.options.coopel,
        this.options.syncTags && this.options.mapping.tagsOnCreate,
      );
      const created = await withRetries(() =>
        this.options.coopel.createContact(body, this.coopelContext()),
      );
      coopelId = created.id;
      after = { ...body, ...created.record };
    }
    await this.options.state.saveLinks([
      {
        ...contactLink({
          locationId: this.options.locationId,
          ghlId,
          coopelAccountId: this.options.coopel.accountId,
          coopelId,
          mapped,
          record: after,
          sourceUpdatedAt: updatedAtOf(record),
          now: this.now(),
        }),
        ruleTags: link.ruleTags,
      },
    ]);
    return found ? "linked" : "created";
  }

  /** Checks, page by page, the links whose GHL contact the scan did not return. */
  private async checkUnseenLinks(runId: string): Promise<void> {
    let after: string | null = null;
    for (;;) {
      const links = await this.options.state.listUnseenLinks(
        runId,
        this.options.locationId,
        after,
        200,
      );
      if (links.length === 0) return;
      after = links[links.length - 1]!.ghlId;
      for (const link of links) {
        try {
          await this.checkStale(link);
        } catch (error) {
          this.fail(error, link.ghlId);
        }
      }
      this.count();
    }
  }

  /**
   * A link whose contact the scan did not return: a direct read decides,
   * because search is eventually consistent. A contact that is gone
   * (deleted, or merged into another) marks the link stale, and the
   * survivor is searched by the email and phone of the linked Coopel
   * record. A survivor found gets the link; with none, the delete policy
   * applies. A contact is never created again on either side.
   */
  private async checkStale(link: Link): Promise<void> {
    const { options } = this;
    const ghlRecord = await options.ghl.getContact(
      options.locationId,
      link.ghlId,
      this.ghlContext(),
    );
    if (ghlRecord !== null) {
      // The scan missed it; compare it now.
      await this.comparePair(ghlRecord, link);
      return;
    }
    const coopelId = link.coopelId!;
    const coopelRecord = await options.coopel.getContact(
      coopelId,
      this.coopelContext(),
    );
    const survivor = coopelRecord
      ? await this.findSurvivor(coopelRecord, link.ghlId)
      : null;
    const finding: Finding = {
      kind: "stale_link",
      ghlId: link.ghlId,
      coopelId,
      survivor: survivor === null ? null : String(survivor.id),
    };
    if (!this.writes) {
      this.report(finding, this.plan());
      return;
    }
    if (survivor !== null) {
      const survivorId = String(survivor.id);
      const mapped = await this.mapRecord(survivor);
      await options.state.moveLink(link.ghlId, {
        ...link,
        ghlId: survivorId,
        fieldHashes: {},
        sourceUpdatedAt: updatedAtOf(survivor),
        tags: mapped.tags,
        updatedAt: this.now(),
      });
      this.report(finding, "link_moved");
      // The survivor's own fields may differ from the record it replaced.
      const moved = await options.state.getLinks(
        "contact",
        options.locationId,
        [survivorId],
      );
      if (moved[0]) await this.comparePair(survivor, moved[0]);
      return;
    }
    await this.applyDeletePolicy(link, coopelRecord !== null);
    this.report(finding, "delete_policy_applied");
  }

  /** The one GHL contact, not linked yet, with the email or else the phone of the Coopel record. */
  private async findSurvivor(
    coopelRecord: CoopelRecord,
    goneId: string,
  ): Promise<GhlRecord | null> {
    const { options } = this;
    const lookups: { field: string; value: unknown }[] = [];
    const email = normaliseValue("email", coopelRecord.email);
    const phone = normaliseValue("phone", coopelRecord.phone);
    if (typeof email === "string")
      lookups.push({ field: "email", value: email });
    if (typeof phone === "string")
      lookups.push({ field: "phone", value: phone });
    for (const lookup of lookups) {
      const { contacts } = await options.ghl.searchContacts(
        options.locationId,
        {
          pageLimit: 10,
          filters: [
            { field: lookup.field, operator: "eq", value: lookup.value },
          ],
        },
        this.ghlContext(),
      );
      const others = contacts.filter((c) => String(c.id) !== goneId);
      if (others.length !== 1) continue;
      const [candidate] = others;
      const linked = await options.state.getLinks(
        "contact",
        options.locationId,
        [String(candidate!.id)],
      );
      if (linked.length === 0 || linked[0]!.deletedAt !== null)
        return candidate!;
    }
    return null;
  }

  private async applyDeletePolicy(link: Link, exists: boolean): Promise<void> {
    const { coopel, deletePolicy } = this.options;
    const coopelId = link.coopelId!;
    if (exists && deletePolicy.policy === "delete") {
      try {
        await withRetries(() =>
          coopel.deleteContact(coopelId, this.coopelContext()),
        );
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
      }
    }
    if (exists && deletePolicy.policy === "mark")
      await withRetries(() =>
        coopel.updateContact(
          coopelId,
          { [deletePolicy.mark_field]: deletePolicy.mark_value },
          this.coopelContext(),
        ),
      );
    await this.options.state.saveLinks([
      { ...link, deletedAt: this.now(), updatedAt: this.now() },
    ]);
  }

  /** Matches a GHL contact without a link by lookups per record, then links it, creates it or sends it to review. */
  private async handleUnlinked(ghlId: string): Promise<void> {
    const { options } = this;
    try {
      const [link] = await options.state.getLinks(
        "contact",
        options.locationId,
        [ghlId],
      );
      if (link?.coopelId != null && link.deletedAt === null) return;
      const record = await options.ghl.getContact(
        options.locationId,
        ghlId,
        this.ghlContext(),
      );
      if (record === null) return;
      const finding: Finding = {
        kind: "missing_on_coopel",
        ghlId,
        coopelId: null,
      };
      if (!this.writes) {
        this.report(finding, this.plan());
        return;
      }
      const mapped = await this.mapRecord(record);
      const source = new CoopelLookupSource(options.coopel, this.coopelContext);
      const owners = new Map<string, string>();
      const withOwners = async <T extends { id: string }>(
        candidates: T[],
      ): Promise<T[]> => {
        for (const [coopelId, owner] of await this.owners(candidates))
          owners.set(coopelId, owner);
        return candidates;
      };
      const decision = await matchContact(
        {
          ghlId,
          fields: mapped.fields,
          emailSharedInGhl: false,
          phoneSharedInGhl: false,
          linkedTo: (coopelId) => owners.get(coopelId) ?? null,
          externalIdField: options.coopel.externalIdField,
        },
        {
          byExternalId: (id) => source.byExternalId(id),
          byEmail: async (email) => withOwners(await source.byEmail(email)),
          byPhone: async (phone) => withOwners(await source.byPhone(phone)),
        },
      );
      if (decision.kind === "review") {
        await options.state.addReviewItems([
          {
            ghlLocationId: options.locationId,
            ghl: summariseGhl(record),
            reason: decision.reason,
            candidates: decision.candidates.map(summariseCoopel),
          },
        ]);
        this.report(finding, "sent_to_review");
        return;
      }
      if (decision.kind === "create") {
        const fakeLink: Link = {
          entity: "contact",
          ghlLocationId: options.locationId,
          ghlId,
          coopelAccountId: options.coopel.accountId,
          coopelId: null,
          fieldHashes: {},
          deletedAt: null,
          updatedAt: this.now(),
        };
        this.report(finding, await this.recreate(record, mapped, fakeLink));
        return;
      }
      const body: CoopelRecord = {};
      for (const drift of diffFields(mapped.fields, decision.coopel.record))
        body[drift.field] = drift.ghl;
      const field = options.coopel.externalIdField;
      if (field) body[field] = ghlId;
      await withRetries(() =>
        options.coopel.updateContact(
          decision.coopel.id,
          body,
          this.coopelContext(),
        ),
      );
      const after = { ...decision.coopel.record, ...body };
      await options.state.saveLinks([
        contactLink({
          locationId: options.locationId,
          ghlId,
          coopelAccountId: options.coopel.accountId,
          coopelId: decision.coopel.id,
          mapped,
          record: after,
          sourceUpdatedAt: updatedAtOf(record),
          now: this.now(),
        }),
      ]);
      this.report(finding, "linked");
    } catch (error) {
      this.fail(error, ghlId);
    }
  }

  /** The GHL id that each linked candidate belongs to. */
  private async owners(
    candidates: { id: string }[],
  ): Promise<Map<string, string>> {
    if (candidates.length === 0) return new Map();
    const links = await this.options.state.getLinksByCoopelIds(
      "contact",
      this.options.coopel.accountId,
      candidates.map((c) => c.id),
    );
    return new Map(
      links
        .filter((l) => l.deletedAt === null && l.coopelId !== null)
        .map((l) => [l.coopelId!, l.ghlId]),
    );
  }
}
