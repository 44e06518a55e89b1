import type { ContactEnricher } from "../mapping/contact-enrichment.js";
import { customFieldKey } from "../mapping/contact-mapping.js";
import { mergeLinks } from "./completion.js";
import type { ContactSync } from "./contact-sync.js";
import { AttemptError } from "./errors.js";
import type {
  CallContext,
  Completion,
  CoopelClient,
  GhlApi,
  Job,
  Link,
  Store,
} from "./ports.js";
import { planTags, tagsMinus, type TagPlan } from "./tag-diff.js";
import type { TagRules } from "./tag-rules.js";

export interface ContactEventSyncOptions {
  contacts: ContactSync;
  enricher: ContactEnricher;
  rules: TagRules;
  store: Store;
  coopel: CoopelClient;
  ghl: GhlApi;
  /** False leaves tags alone (rule tags still apply). */
  syncTags: boolean | ((locationId: string) => boolean);
  tagsOnCreate: boolean;
  now?: () => number;
}

/** The result of syncing one contact event, with the contact's link after it. */
export interface ContactEventResult {
  completion: Completion;
  link: Link | null;
}

/** The rule tags of one contact after `applyRuleTags`, and the writes it planned. */
export interface RuleTagResult {
  add: string[];
  remove: string[];
  /** The rule tags the sync owns after the writes. */
  ruleTags: string[];
  /** Whether the owned rule tags differ from the link's, so the link needs saving. */
  changed: boolean;
  warnings: string[];
}

/**
 * Runs a GHL contact event end to end: enriches the payload (custom fields,
 * DND, business), syncs the contact's fields, then its tags: the diff of the
 * GHL tag list against the last one seen, and the tags of tag rules.
 */
export class ContactEventSync {
  private readonly now: () => number;

  constructor(private readonly options: ContactEventSyncOptions) {
    this.now = options.now ?? Date.now;
  }

  async handle(job: Job): Promise<Completion> {
    return (await this.run(job)).completion;
  }

  async run(job: Job): Promise<ContactEventResult> {
    const { event } = job;
    const context: CallContext = { requests: [] };
    if (event.type === "ContactDelete") {
      const completion = await this.options.contacts.handle(job);
      return { completion, link: completion.links[0] ?? null };
    }
    let payload: Record<string, unknown>;
    let warnings: string[];
    try {
      ({ payload, warnings } = await this.options.enricher.enrich(
        event.accountId,
        event.payload,
        context,
      ));
    } catch (error) {
      throw new AttemptError(error, context.requests);
    }

    let contactCompletion: Completion;
    try {
      contactCompletion = await this.options.contacts.handle({
        ...job,
        event: { ...event, payload },
      });
    } catch (error) {
      if (error instanceof AttemptError)
        throw new AttemptError(error.cause, [
          ...context.requests,
          ...error.requests,
        ]);
      throw new AttemptError(error, context.requests);
    }
    context.requests.push(...contactCompletion.requests);
    warnings.push(...contactCompletion.warnings);

    const ghlId = typeof event.payload.id === "string" ? event.payload.id : "";
    const link =
      contactCompletion.links.find(
        (l) => l.entity === "contact" && l.ghlId === ghlId,
      ) ??
      (await this.options.store.getLink("contact", event.accountId, ghlId));
    if (!link || link.coopelId === null || link.deletedAt !== null)
      return {
        completion: {
          ...contactCompletion,
          requests: context.requests,
          warnings,
        },
        link,
      };

    try {
      const tagged = await this.syncTags(
        event.type,
        event.accountId,
        payload,
        link,
        link.coopelId,
        contactCompletion.reason === "created",
        context,
        warnings,
      );
      if (tagged === null)
        return {
          completion: {
            ...contactCompletion,
            requests: context.requests,
            warnings,
          },
          link,
        };
      const tagsWrote = tagged.wrote;
      let outcome = contactCompletion.outcome;
      let reason = contactCompletion.reason;
      if (tagsWrote) {
        reason =
          contactCompletion.outcome === "synced" ? `${reason}+tags` : "tags";
        outcome = "synced";
      } else if (tagged.blocked.length > 0 && outcome !== "synced") {
        // The event's only writes need routes that are set to null.
        outcome = "unsupported";
        reason = `unsupported:${tagged.blocked.join("+")}`;
      }
      const completion: Completion = {
        outcome,
        reason,
        links: mergeLinks(contactCompletion.links, [tagged.link]),
        requests: context.requests,
        warnings,
      };
      return { completion, link: tagged.link };
    } catch (error) {
      throw new AttemptError(error, context.requests);
    }
  }

  /** Diffs and sends tags; returns null when nothing about tags changed. */
  private async syncTags(
    type: string,
    locationId: string,
    payload: Record<string, unknown>,
    link: Link,
    coopelId: string,
    justCreated: boolean,
    context: CallContext,
    warnings: string[],
  ): Promise<{ link: Link; wrote: boolean; blocked: string[] } | null> {
    const { coopel, rules } = this.options;
    const syncTags =
      typeof this.options.syncTags === "function"
        ? this.options.syncTags(locationId)
        : this.options.syncTags;
    const payloadTags = Array.isArray(payload.tags)
      ? payload.tags.filter((t): t is string => typeof t === "string")
      : null;
    // Only ContactTagUpdate drives the diff: it is the event GHL sends for tag
    // changes, and a ContactUpdate that arrives late must not roll tags back.
    const currentGhlTags =
      syncTags && type === "ContactTagUpdate" ? payloadTags : null;
    let previousGhlTags = link.tags ?? null;
    if (justCreated && this.options.tagsOnCreate && payloadTags && syncTags)
      previousGhlTags = payloadTags;

    let wantedRuleTags: string[] = [];
    if (rules.size > 0) {
      const ruleContext = await this.ruleContext(locationId, payload, context);
      const evaluated = await rules.evaluate(ruleContext);
      wantedRuleTags = evaluated.tags;
      warnings.push(...evaluated.warnings);
    }
    const ownedRuleTags = (link.ruleTags ?? []).filter((tag) =>
      rules.owns(tag),
    );
    const plan = planTags({
      previousGhlTags,
      currentGhlTags,
      ownedRuleTags,
      wantedRuleTags,
    });

    const { wrote, blocked } = await sendTagPlan(
      coopel,
      coopelId,
      plan,
      context,
      warnings,
    );
    const unchanged =
      !wrote &&
      sameList(plan.ghlTags, link.tags ?? null) &&
      sameList(plan.ruleTags, link.ruleTags ?? []);
    if (unchanged) return null;
    const ruleTags = tagsMinus(plan.ruleTags, []);
    const next: Link = {
      ...link,
      tags: plan.ghlTags,
      ruleTags,
      updatedAt: this.now(),
    };
    // Two-way sync diffs Coopel's tags against this list, so the tags just
    // written must not look like a change made on Coopel.
    if (link.coopelTags != null) {
      const removed = coopel.supports("remove_tags") ? plan.remove : [];
      const added = coopel.supports("add_tags") ? plan.add : [];
      next.coopelTags = [
        ...tagsMinus(link.coopelTags, removed),
        ...added.filter((tag) => !link.coopelTags!.includes(tag)),
      ];
    }
    return { link: next, wrote, blocked };
  }

  /**
   * Evaluates the tag rules for a contact read from GHL and adds or removes
   * the rule-owned tags on Coopel, as a contact event would. GHL tags are not
   * diffed, because the read is no tag event, and a tag that no rule
   * produced is never touched. With `dryRun`, the plan is returned and
   * nothing is sent.
   */
  async applyRuleTags(
    locationId: string,
    contact: Record<string, unknown>,
    link: Link,
    context: CallContext,
    options: { dryRun?: boolean } = {},
  ): Promise<RuleTagResult> {
    const { coopel, rules } = this.options;
    const warnings: string[] = [];
    if (link.coopelId === null)
      throw new Error(
        `contact ${link.ghlId} of location ${locationId} has no Coopel id`,
      );
    const { payload } = await this.options.enricher.enrich(
      locationId,
      contact,
      context,
    );
    const ruleContext = await this.ruleContext(locationId, payload, context);
    const evaluated = await rules.evaluate(ruleContext);
    warnings.push(...evaluated.warnings);
    const plan = planTags({
      previousGhlTags: link.tags ?? null,
      currentGhlTags: null,
      ownedRuleTags: (link.ruleTags ?? []).filter((tag) => rules.owns(tag)),
      wantedRuleTags: evaluated.tags,
    });
    const changed = !sameList(plan.ruleTags, link.ruleTags ?? []);
    if (!options.dryRun)
      await sendTagPlan(coopel, link.coopelId, plan, context, warnings);
    return {
      add: plan.add,
      remove: plan.remove,
      ruleTags: plan.ruleTags,
      changed,
      warnings,
    };
  }

  /**
   * The object tag rules see: the GHL contact, plus `custom` (custom field
   * values by key without `contact.`, converted by type), `dndActive` (true
   * per channel whose DND is on), `business` (the contact's business or
   * null) and, when a rule mentions them, `appointments`.
   */
  async ruleContext(
    locationId: string,
    payload: Record<string, unknown>,
    context: CallContext,
  ): Promise<Record<string, unknown>> {
    const { enricher, ghl, rules } = this.options;
    const ruleView: Record<string, unknown> = { ...payload };
    const custom: Record<string, unknown> = {};
    if (Array.isArray(payload.customFields)) {
      const definitions = await enricher.definitionsFor(locationId, context);
      for (const item of payload.customFields as unknown[]) {
        if (item === null || typeof item !== "object") continue;
        const { id, value } = item as { id?: unknown; value?: unknown };
        const definition = definitions.find((d) => d.id === id);
        if (!definition) continue;
        const key = definition.fieldKey.replace(/^contact\./, "");
        custom[key] = convertForRules(value, definition.dataType);
      }
    }
    for (const [key, value] of Object.entries(payload)) {
      if (key.startsWith(customFieldKey(""))) continue;
      ruleView[key] = value;
    }
    ruleView.custom = custom;
    const dndActive: Record<string, boolean> = {};
    const settings = payload.dndSettings;
    if (settings && typeof settings === "object")
      for (const [channel, entry] of Object.entries(settings)) {
        const status = (entry as { status?: unknown } | null)?.status;
        dndActive[channel] = status === "active" || status === "permanent";
      }
    ruleView.dndActive = dndActive;
    if (typeof payload.businessId === "string" && payload.businessId !== "")
      ruleView.business = await enricher.businessFor(
        locationId,
        payload.businessId,
        context,
      );
    else ruleView.business = null;
    if (rules.needsAppointments && typeof payload.id === "string")
      ruleView.appointments = await ghl.listAppointments(
        locationId,
        payload.id,
        context,
      );
    return ruleView;
  }
}

/**
 * Sends the adds and removes of a tag plan to Coopel. Returns whether
 * anything was written and the routes of writes that were skipped because
 * their route is set to null, which are also reported in `warnings`.
 */
async function sendTagPlan(
  coopel: CoopelClient,
  coopelId: string,
  plan: TagPlan,
  context: CallContext,
  warnings: string[],
): Promise<{ wrote: boolean; blocked: string[] }> {
  let wrote = false;
  const blocked: string[] = [];
  if (plan.add.length > 0) {
    if (coopel.supports("add_tags")) {
      await coopel.addTags(coopelId, plan.add, context);
      wrote = true;
    } else {
      blocked.push("add_tags");
      warnings.push("tags not added: coopel.routes.add_tags is null");
    }
  }
  if (plan.remove.length > 0) {
    if (coopel.supports("remove_tags")) {
      await coopel.removeTags(coopelId, plan.remove, context);
      wrote = true;
    } else {
      blocked.push("remove_tags");
      warnings.push(
        `tags not removed (${plan.remove.length}): coopel.routes.remove_tags is null`,
      );
    }
  }
  return { wrote, blocked };
}

function convertForRules(value: unknown, dataType: string): unknown {
  if (
    (dataType === "NUMERICAL" || dataType === "MONETORY") &&
    typeof value === "string" &&
    value.trim() !== "" &&
    Number.isFinite(Number(value))
  )
    return Number(value);
  return value;
}

function sameList(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((tag, i) => tag === b[i]);
}
