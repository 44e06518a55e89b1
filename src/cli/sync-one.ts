import type { LoadedConfig } from "../config/load.js";
import type { CoopelRecord, GhlRecord } from "../engine/ports.js";
import type { Finding, Repair } from "../engine/reconcile.js";
import { newReconcile } from "./reconcile.js";
import { chooseLocation, openSyncContext } from "./sync-context.js";

export interface SyncOneOptions {
  ghlId: string;
  location?: string;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * Syncs one GHL contact now and prints it before and after on both sides.
 * Exit codes: 0 synced (or already in sync), 1 GHL does not have the
 * contact or the sync failed, 2 invalid configuration or flag.
 */
export async function runSyncOne(
  loaded: LoadedConfig,
  options: SyncOneOptions,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const locationId = chooseLocation(loaded.config, options.location);
  const context = await openSyncContext(loaded);
  const { config, storage } = context;
  const dryRun = options.dryRun === true || config.dry_run;
  try {
    const snapshot = async (): Promise<{
      ghl: GhlRecord | null;
      coopel: CoopelRecord | null;
      coopelId: string | null;
    }> => {
      const ghl = await context.ghl.getContact(locationId, options.ghlId, {
        requests: [],
      });
      const [link] = await storage.syncState.getLinks("contact", locationId, [
        options.ghlId,
      ]);
      const coopelId = link?.coopelId ?? null;
      const coopel =
        coopelId === null
          ? null
          : await context.coopel.getContact(coopelId, { requests: [] });
      return { ghl, coopel, coopelId };
    };
    const before = await snapshot();
    if (before.ghl === null) {
      process.stderr.write(
        `GHL contact ${options.ghlId} not found in location ${locationId}; check the id (it may have been deleted or merged)\n`,
      );
      return 1;
    }
    const actions: { finding: Finding; repair: Repair | null }[] = [];
    const reconcile = newReconcile(context, locationId, {
      repair: true,
      dryRun,
      concurrency: 1,
      onFinding: (finding, repair) => actions.push({ finding, repair }),
    });
    const outcome = await reconcile.syncOne(options.ghlId);
    const after = await snapshot();
    const result = { dryRun, before, actions, after };
    if (options.json) write(`${JSON.stringify(result, null, 2)}\n`);
    else write(formatResult(options.ghlId, result));
    if (outcome === "failed")
      process.stderr.write(
        "the sync failed; the log line above names the error\n",
      );
    return outcome === "done" ? 0 : 1;
  } finally {
    await context.close();
  }
}

function formatResult(
  ghlId: string,
  result: {
    dryRun: boolean;
    before: { ghl: unknown; coopel: unknown; coopelId: string | null };
    actions: { finding: Finding; repair: Repair | null }[];
    after: { ghl: unknown; coopel: unknown; coopelId: string | null };
  },
): string {
  const block = (title: string, value: unknown): string =>
    `${title}:\n${JSON.stringify(value, null, 2)
      .split("\n")
      .map((line) => `  ${line}`)
      .join("\n")}`;
  const actions =
    result.actions.length === 0
      ? "  none: both sides already agree"
      : result.actions
          .map((a) => `  ${a.finding.kind}: ${a.repair ?? "-"}`)
          .join("\n");
  return (
    [
      `sync-one ${ghlId}${result.dryRun ? " (dry run: nothing was written)" : ""}`,
      block("GHL before", result.before.ghl),
      block(
        `Coopel before (${result.before.coopelId ?? "not linked"})`,
        result.before.coopel,
      ),
      `actions:\n${actions}`,
      block("GHL after", result.after.ghl),
      block(
        `Coopel after (${result.after.coopelId ?? "not linked"})`,
        result.after.coopel,
      ),
    ].join("\n") + "\n"
  );
}
