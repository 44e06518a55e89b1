import type { ContactMapping } from "../mapping/contact-mapping.js";
import type { Enrich } from "./backfill.js";
import {
  contactLink,
  createBody,
  fillBody,
  tagsToAdd,
  updatedAtOf,
  withRetries,
  writeFill,
} from "./contact-apply.js";
import type { CoopelClient, GhlApi, ReviewItem, SyncState } from "./ports.js";

/** The store, clients and settings that deciding a review item uses. */
export interface ReviewDeciderOptions {
  state: SyncState;
  ghl: GhlApi;
  coopel: CoopelClient;
  mapping: ContactMapping;
  enrich: Enrich;
  syncTags: boolean;
  dryRun: boolean;
  now?: () => number;
}

/**
 * A decision that cannot be made. `invalid` is a wrong item id or choice,
 * `gone` a GHL or Coopel contact that no longer exists.
 */
export class ReviewDecisionError extends Error {
  override name = "ReviewDecisionError";

  constructor(
    message: string,
    readonly kind: "invalid" | "gone",
  ) {
    super(message);
  }
}

/** The outcome of a decision, for a person to read. */
export interface ReviewDecision {
  item: ReviewItem;
  /** The Coopel contact linked, or null when the GHL contact stays unlinked. */
  coopelId: string | null;
  message: string;
}

/**
 * Accepts and rejects the matches that the first sync left on the review
 * list. The `review` command and the dashboard both decide through it.
 */
export class ReviewDecider {
  private readonly now: () => number;

  constructor(private readonly options: ReviewDeciderOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads an open item or throws a ReviewDecisionError naming what is wrong. */
  private async openItem(id: string): Promise<ReviewItem> {
    const item = await this.options.state.getReviewItem(id);
    if (item === null)
      throw new ReviewDecisionError(
        `review item ${id} not found; list the open ones with \`ghl-coopel-sync review\``,
        "invalid",
      );
    if (item.status !== "open")
      throw new ReviewDecisionError(
        `review item ${id} is already ${item.status}; nothing to do`,
        "invalid",
      );
    return item;
  }

  /**
   * Links the GHL contact to the candidate (the only one, or the one
   * `coopelId` names) and fills the Coopel contact with the GHL values, as
   * the first sync does for a one-to-one match.
   */
  async accept(id: string, coopelId?: string): Promise<ReviewDecision> {
    const { state, ghl, coopel } = this.options;
    const item = await this.openItem(id);
    const ids = item.candidates.map((c) => c.id);
    let chosen = coopelId;
    if (chosen === undefined) {
      if (ids.length === 0)
        throw new ReviewDecisionError(
          `review item ${id} has no Coopel candidate; use \`review reject ${id}\` to create the contact on its own`,
          "invalid",
        );
      if (ids.length > 1)
        throw new ReviewDecisionError(
          `review item ${id} has ${ids.length} candidates; choose one with --coopel (${ids.join(", ")})`,
          "invalid",
        );
      chosen = ids[0]!;
    } else if (ids.length > 0 && !ids.includes(chosen)) {
      throw new ReviewDecisionError(
        `--coopel ${chosen} is not a candidate of review item ${id}; use one of: ${ids.join(", ")}`,
        "invalid",
      );
    }

    const [owner] = await state.getLinksByCoopelIds(
      "contact",
      coopel.accountId,
      [chosen],
    );
    if (owner && owner.deletedAt === null && owner.ghlId !== item.ghl.id)
      throw new ReviewDecisionError(
        `Coopel contact ${chosen} is linked to GHL contact ${owner.ghlId}; one Coopel contact links to one GHL contact, so reject this item or choose another --coopel`,
        "invalid",
      );
    const record = await ghl.getContact(item.ghlLocationId, item.ghl.id, {
      requests: [],
    });
    if (record === null)
      throw new ReviewDecisionError(
        `GHL contact ${item.ghl.id} no longer exists; reject the item with \`review reject ${id} --leave-unlinked\``,
        "gone",
      );
    const target = await coopel.getContact(chosen, { requests: [] });
    if (target === null)
      throw new ReviewDecisionError(
        `Coopel contact ${chosen} no longer exists; choose another with --coopel or reject the item`,
        "gone",
      );

    const mapped = await this.options.mapping.map(
      await this.options.enrich(item.ghlLocationId, record, { requests: [] }),
    );
    const body = fillBody(mapped, item.ghl.id, target, coopel);
    const tags = this.options.syncTags ? tagsToAdd(mapped, target) : [];
    await writeFill(coopel, chosen, body, tags, { requests: [] });
    await state.saveLinks([
      contactLink({
        locationId: item.ghlLocationId,
        ghlId: item.ghl.id,
        coopelAccountId: coopel.accountId,
        coopelId: chosen,
        mapped,
        record: { ...target, ...body },
        sourceUpdatedAt: updatedAtOf(record),
        now: this.now(),
      }),
    ]);
    await state.resolveReviewItem(id, "accepted", chosen);
    return {
      item,
      coopelId: chosen,
      message: `accepted #${id}: GHL ${item.ghl.id} is linked to Coopel ${chosen} (${Object.keys(body).length} field(s) written, ${tags.length} tag(s) added)`,
    };
  }

  /**
   * Treats the GHL contact as another person: creates it on Coopel as a
   * contact of its own and links it. With `leaveUnlinked` nothing is
   * created, and later backfills leave the contact alone. In a dry run
   * nothing is written and the message states what would happen.
   */
  async reject(id: string, leaveUnlinked: boolean): Promise<ReviewDecision> {
    const { state, ghl, coopel, mapping } = this.options;
    const item = await this.openItem(id);
    if (this.options.dryRun)
      return {
        item,
        coopelId: null,
        message: `dry run: #${id} would ${leaveUnlinked ? "leave GHL " + item.ghl.id + " unlinked" : "create GHL " + item.ghl.id + " as a Coopel contact of its own"}; nothing was written`,
      };
    if (leaveUnlinked) {
      await state.resolveReviewItem(id, "rejected", null);
      return {
        item,
        coopelId: null,
        message: `rejected #${id}: GHL ${item.ghl.id} stays unlinked, and backfill leaves it alone`,
      };
    }
    const record = await ghl.getContact(item.ghlLocationId, item.ghl.id, {
      requests: [],
    });
    if (record === null)
      throw new ReviewDecisionError(
        `GHL contact ${item.ghl.id} no longer exists; use \`review reject ${id} --leave-unlinked\``,
        "gone",
      );
    const mapped = await mapping.map(
      await this.options.enrich(item.ghlLocationId, record, { requests: [] }),
    );
    const body = createBody(
      mapped,
      item.ghl.id,
      coopel,
      this.options.syncTags && mapping.tagsOnCreate,
    );
    const created = await withRetries(() =>
      coopel.createContact(body, { requests: [] }),
    );
    await state.saveLinks([
      contactLink({
        locationId: item.ghlLocationId,
        ghlId: item.ghl.id,
        coopelAccountId: coopel.accountId,
        coopelId: created.id,
        mapped,
        record: { ...body, ...created.record },
        sourceUpdatedAt: updatedAtOf(record),
        now: this.now(),
      }),
    ]);
    await state.resolveReviewItem(id, "rejected", created.id);
    return {
      item,
      coopelId: created.id,
      message: `rejected #${id}: GHL ${item.ghl.id} was created as Coopel contact ${created.id}`,
    };
  }
}
