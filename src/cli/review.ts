import type { LoadedConfig } from "../config/load.js";
import {
  contactLink,
  createBody,
  fillBody,
  tagsToAdd,
  updatedAtOf,
  withRetries,
  writeFill,
} from "../engine/contact-apply.js";
import type { ContactSummary, ReviewItem } from "../engine/ports.js";
import { OptionError } from "./option-error.js";
import { openSyncContext, type SyncContext } from "./sync-context.js";

export interface ReviewListOptions {
  json?: boolean;
  /** Also list accepted and rejected items. */
  all?: boolean;
}

/** Lists the review list (open items unless `all`). Exit codes: 0 listed, 2 invalid configuration. */
export async function runReviewList(
  loaded: LoadedConfig,
  options: ReviewListOptions,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const context = await openSyncContext(loaded);
  try {
    const items = await context.storage.syncState.listReviewItems(
      options.all ? undefined : "open",
    );
    if (options.json) {
      write(`${JSON.stringify(items, null, 2)}\n`);
      return 0;
    }
    if (items.length === 0) {
      write(
        options.all ? "the review list is empty\n" : "no open review items\n",
      );
      return 0;
    }
    for (const item of items) write(formatItem(item));
    write(
      `\n${items.length} item${items.length === 1 ? "" : "s"}; decide with \`review accept ID [--coopel COOPEL_ID]\` or \`review reject ID [--leave-unlinked]\`\n`,
    );
    return 0;
  } finally {
    await context.close();
  }
}

function describe(summary: ContactSummary): string {
  const parts = [
    summary.name ?? "(no name)",
    summary.email ? `<${summary.email}>` : null,
    summary.phone,
  ].filter((p): p is string => p !== null);
  return `${parts.join(" ")} [${summary.id}]`;
}

function formatItem(item: ReviewItem): string {
  const candidates =
    item.candidates.length === 0
      ? ["    (no Coopel candidate)"]
      : item.candidates.map((c) => `    Coopel ${describe(c)}`);
  const resolution =
    item.status === "open"
      ? ""
      : ` -> ${item.status}${item.resolvedCoopelId ? ` (Coopel ${item.resolvedCoopelId})` : " (left unlinked)"}`;
  return [
    `#${item.id} ${item.reason}${resolution}`,
    `    GHL ${describe(item.ghl)}`,
    ...candidates,
    "",
  ].join("\n");
}

/** Loads an open item or throws an OptionError naming what is wrong. */
async function openItem(context: SyncContext, id: string): Promise<ReviewItem> {
  const item = await context.storage.syncState.getReviewItem(id);
  if (item === null)
    throw new OptionError(
      `review item ${id} not found; list the open ones with \`ghl-coopel-sync review\``,
    );
  if (item.status !== "open")
    throw new OptionError(
      `review item ${id} is already ${item.status}; nothing to do`,
    );
  return item;
}

/**
 * Accepts a match: links the GHL contact to the candidate (the only one, or
 * the one `coopelId` names) and fills the Coopel contact with the GHL
 * values, as the first sync does for a one-to-one match. Exit codes: 0
 * linked, 1 the GHL or Coopel contact no longer exists, 2 invalid item or
 * flag.
 */
export async function runReviewAccept(
  loaded: LoadedConfig,
  id: string,
  options: { coopel?: string },
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const context = await openSyncContext(loaded);
  try {
    const item = await openItem(context, id);
    const ids = item.candidates.map((c) => c.id);
    let coopelId = options.coopel;
    if (coopelId === undefined) {
      if (ids.length === 0)
        throw new OptionError(
          `review item ${id} has no Coopel candidate; use \`review reject ${id}\` to create the contact on its own`,
        );
      if (ids.length > 1)
        throw new OptionError(
          `review item ${id} has ${ids.length} candidates; choose one with --coopel (${ids.join(", ")})`,
        );
      coopelId = ids[0]!;
    } else if (ids.length > 0 && !ids.includes(coopelId)) {
      throw new OptionError(
        `--coopel ${coopelId} is not a candidate of review item ${id}; use one of: ${ids.join(", ")}`,
      );
    }
    const { storage, coopel, ghl } = context;
    const [owner] = await storage.syncState.getLinksByCoopelIds(
      "contact",
      coopel.accountId,
      [coopelId],
    );
    if (owner && owner.deletedAt === null && owner.ghlId !== item.ghl.id)
      throw new OptionError(
        `Coopel contact ${coopelId} is linked to GHL contact ${owner.ghlId}; one Coopel contact links to one GHL contact, so reject this item or choose another --coopel`,
      );
    const record = await ghl.getContact(item.ghlLocationId, item.ghl.id, {
      requests: [],
    });
    if (record === null) {
      process.stderr.write(
        `GHL contact ${item.ghl.id} no longer exists; reject the item with \`review reject ${id} --leave-unlinked\`\n`,
      );
      return 1;
    }
    const target = await coopel.getContact(coopelId, { requests: [] });
    if (target === null) {
      process.stderr.write(
        `Coopel contact ${coopelId} no longer exists; choose another with --coopel or reject the item\n`,
      );
      return 1;
    }
    const mapped = await context.mapping.map(
      await context.enrich(item.ghlLocationId, record, { requests: [] }),
    );
    const body = fillBody(mapped, item.ghl.id, target, coopel);
    const tags = context.config.sync.tags.enabled
      ? tagsToAdd(mapped, target)
      : [];
    await writeFill(coopel, coopelId, body, tags, { requests: [] });
    await storage.syncState.saveLinks([
      contactLink({
        locationId: item.ghlLocationId,
        ghlId: item.ghl.id,
        coopelAccountId: coopel.accountId,
        coopelId,
        mapped,
        record: { ...target, ...body },
        sourceUpdatedAt: updatedAtOf(record),
        now: Date.now(),
      }),
    ]);
    await storage.syncState.resolveReviewItem(id, "accepted", coopelId);
    write(
      `accepted #${id}: GHL ${item.ghl.id} is linked to Coopel ${coopelId} (${Object.keys(body).length} field(s) written, ${tags.length} tag(s) added)\n`,
    );
    return 0;
  } finally {
    await context.close();
  }
}

/**
 * Rejects a match: the GHL contact is another person, so it is created on
 * Coopel as a contact of its own and linked. With `leaveUnlinked` nothing
 * is created, and later backfills leave the contact alone. Exit codes: 0
 * done, 1 the GHL contact no longer exists, 2 invalid item.
 */
export async function runReviewReject(
  loaded: LoadedConfig,
  id: string,
  options: { leaveUnlinked?: boolean },
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const context = await openSyncContext(loaded);
  try {
    const item = await openItem(context, id);
    const { storage, coopel, ghl } = context;
    if (context.config.dry_run) {
      write(
        `dry run: #${id} would ${options.leaveUnlinked ? "leave GHL " + item.ghl.id + " unlinked" : "create GHL " + item.ghl.id + " as a Coopel contact of its own"}; nothing was written\n`,
      );
      return 0;
    }
    if (options.leaveUnlinked) {
      await storage.syncState.resolveReviewItem(id, "rejected", null);
      write(
        `rejected #${id}: GHL ${item.ghl.id} stays unlinked, and backfill leaves it alone\n`,
      );
      return 0;
    }
    const record = await ghl.getContact(item.ghlLocationId, item.ghl.id, {
      requests: [],
    });
    if (record === null) {
      process.stderr.write(
        `GHL contact ${item.ghl.id} no longer exists; use \`review reject ${id} --leave-unlinked\`\n`,
      );
      return 1;
    }
    const mapped = await context.mapping.map(
      await context.enrich(item.ghlLocationId, record, { requests: [] }),
    );
    const body = createBody(
      mapped,
      item.ghl.id,
      coopel,
      context.config.sync.tags.enabled && context.mapping.tagsOnCreate,
    );
    const created = await withRetries(() =>
      coopel.createContact(body, { requests: [] }),
    );
    await storage.syncState.saveLinks([
      contactLink({
        locationId: item.ghlLocationId,
        ghlId: item.ghl.id,
        coopelAccountId: coopel.accountId,
        coopelId: created.id,
        mapped,
        record: { ...body, ...created.record },
        sourceUpdatedAt: updatedAtOf(record),
        now: Date.now(),
      }),
    ]);
    await storage.syncState.resolveReviewItem(id, "rejected", created.id);
    write(
      `rejected #${id}: GHL ${item.ghl.id} was created as Coopel contact ${created.id}\n`,
    );
    return 0;
  } finally {
    await context.close();
  }
}
