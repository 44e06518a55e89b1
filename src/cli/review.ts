import type { LoadedConfig } from "../config/load.js";
import type { ContactSummary, ReviewItem } from "../engine/ports.js";
import {
  ReviewDecider,
  ReviewDecisionError,
  type ReviewDecision,
} from "../engine/review-decisions.js";
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

function deciderOf(context: SyncContext): ReviewDecider {
  return new ReviewDecider({
    state: context.storage.syncState,
    ghl: context.ghl,
    coopel: context.coopel,
    mapping: context.mapping,
    enrich: context.enrich,
    syncTags: context.config.sync.tags.enabled,
    dryRun: context.config.dry_run,
  });
}

/**
 * Runs one decision and prints its outcome. A wrong item or choice becomes
 * an OptionError (exit code 2), a contact that no longer exists exit code 1.
 */
async function decide(
  loaded: LoadedConfig,
  write: (text: string) => void,
  run: (decider: ReviewDecider) => Promise<ReviewDecision>,
): Promise<number> {
  const context = await openSyncContext(loaded);
  try {
    const decision = await run(deciderOf(context));
    write(`${decision.message}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof ReviewDecisionError)) throw error;
    if (error.kind === "invalid") throw new OptionError(error.message);
    process.stderr.write(`${error.message}\n`);
    return 1;
  } finally {
    await context.close();
  }
}

/**
 * Accepts a match: links the GHL contact to the candidate (the only one, or
 * the one `coopelId` names) and fills the Coopel contact with the GHL
 * values, as the first sync does for a one-to-one match. Exit codes: 0
 * linked, 1 the GHL or Coopel contact no longer exists, 2 invalid item or
 * flag.
 */
export function runReviewAccept(
  loaded: LoadedConfig,
  id: string,
  options: { coopel?: string },
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  return decide(loaded, write, (decider) => decider.accept(id, options.coopel));
}

/**
 * Rejects a match: the GHL contact is another person, so it is created on
 * Coopel as a contact of its own and linked. With `leaveUnlinked` nothing
 * is created, and later backfills leave the contact alone. Exit codes: 0
 * done, 1 the GHL contact no longer exists, 2 invalid item.
 */
export function runReviewReject(
  loaded: LoadedConfig,
  id: string,
  options: { leaveUnlinked?: boolean },
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  return decide(loaded, write, (decider) =>
    decider.reject(id, options.leaveUnlinked === true),
  );
}
