import type { LoadedConfig } from "../config/load.js";
import { ScanError } from "../engine/ghl-scan.js";
import {
  Reconcile,
  type Finding,
  type ReconcileOptions,
  type ReconcileSummary,
  type Repair,
} from "../engine/reconcile.js";
import { TowardGhlRepair } from "../engine/reconcile-direction.js";
import {
  buildContactSyncs,
  StartupError,
  type ContactSyncs,
} from "../runtime/service.js";
import { UsageError } from "./errors.js";
import { OptionError } from "./option-error.js";
import {
  chooseLocation,
  openSyncContext,
  type SyncContext,
} from "./sync-context.js";

export interface ReconcileCliOptions {
  location?: string;
  repair?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * Compares both sides of one location and prints each finding as it is
 * found (a table, or one JSON document written as it goes). Exit codes:
 * 0 no difference left, 1 differences remain or a check failed, 2 invalid
 * configuration or flag.
 */
export async function runReconcile(
  loaded: LoadedConfig,
  options: ReconcileCliOptions,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  if (options.dryRun && !options.repair)
    throw new OptionError(
      "--dry-run plans the repairs of --repair; add --repair, or leave --dry-run out since reconcile alone writes nothing",
    );
  const locationId = chooseLocation(loaded.config, options.location);
  const context = await openSyncContext(loaded);
  const { config, logger } = context;
  const dryRun = options.dryRun === true || config.dry_run;
  const json = options.json === true;
  let first = true;
  if (json) write('{"findings":[');
  else write(`${row("KIND", "GHL ID", "COOPEL ID", "REPAIR", "DETAIL")}\n`);
  const onFinding = (finding: Finding, repair: Repair | null): void => {
    if (json) {
      write(`${first ? "" : ","}\n${JSON.stringify({ ...finding, repair })}`);
      first = false;
      return;
    }
    write(`${formatFinding(finding, repair)}\n`);
  };
  try {
    const reconcile = newReconcile(context, locationId, {
      repair: options.repair === true,
      dryRun,
      onFinding,
    });
    let summary: ReconcileSummary;
    try {
      summary = await reconcile.run();
    } catch (error) {
      if (error instanceof ScanError) {
        if (json) write("\n]}\n");
        process.stderr.write(`reconcile stopped: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
    logger.info({ ...summary }, "reconcile finished");
    if (json) write(`\n],"summary":${JSON.stringify(summary)}}\n`);
    else write(formatSummary(summary));
    const remaining =
      summary.repair && !summary.dryRun
        ? summary.differences - summary.repaired
        : summary.differences;
    return remaining === 0 && summary.failed === 0 ? 0 : 1;
  } finally {
    await context.close();
  }
}

/** Builds a Reconcile of one location from the configuration. */
export function newReconcile(
  context: SyncContext,
  locationId: string,
  options: Pick<ReconcileOptions, "repair" | "dryRun" | "onFinding"> & {
    concurrency?: number;
  },
): Reconcile {
  const { config } = context;
  const direction = config.sync.contacts.direction;
  let towardGhl: TowardGhlRepair | undefined;
  if (direction !== "ghl_to_coopel") {
    const { storage } = context;
    let syncs: ContactSyncs;
    try {
      syncs = buildContactSyncs(
        config,
        storage.store,
        context.coopel,
        context.ghl,
        context.logger,
        () => true,
        { store: storage.twoWay },
        storage.syncState,
      );
    } catch (error) {
      if (error instanceof StartupError) throw new UsageError(error.message);
      throw error;
    }
    const { coopelContacts, reconciler } = syncs;
    towardGhl = new TowardGhlRepair({
      direction,
      reconciler: reconciler!,
      coopelContacts: coopelContacts!,
      policy: config.sync.contacts.conflicts,
      coopelUpdatedAtField: config.coopel.updated_at_field,
      coopelAccountId: context.coopel.accountId,
    });
  }
  return new Reconcile({
    towardGhl,
    ghl: context.ghl,
    coopel: context.coopel,
    state: context.storage.syncState,
    mapping: context.mapping,
    enrich: context.enrich,
    logger: context.logger,
    locationId,
    deletePolicy: config.sync.contacts.delete,
    syncTags: config.sync.tags.enabled,
    pageLimit: config.backfill.page_size,
    coopelPageSize: config.backfill.coopel_page_size,
    concurrency: options.concurrency ?? config.backfill.concurrency,
    repair: options.repair,
    dryRun: options.dryRun,
    onFinding: options.onFinding,
  });
}

function row(...cells: string[]): string {
  const widths = [18, 22, 38, 22];
  return cells
    .map((cell, i) => (i < widths.length ? cell.padEnd(widths[i]!) : cell))
    .join(" ")
    .trimEnd();
}

function formatFinding(finding: Finding, repair: Repair | null): string {
  const ghlId = "ghlId" in finding ? finding.ghlId : "-";
  const coopelId = finding.coopelId ?? "-";
  let detail = "";
  switch (finding.kind) {
    case "field_drift":
      detail = finding.fields
        .map(
          (f) =>
            `${f.field}: GHL ${JSON.stringify(f.ghl)} / Coopel ${JSON.stringify(f.coopel)} (repair writes ${f.toward === "ghl" ? "GHL" : "Coopel"})`,
        )
        .join("; ");
      break;
    case "tag_drift":
      detail = `missing on Coopel [${finding.missingOnCoopel.join(", ")}], only on Coopel [${finding.extraOnCoopel.join(", ")}]`;
      break;
    case "missing_on_coopel":
      detail =
        finding.coopelId === null
          ? "GHL contact not linked"
          : "linked Coopel contact no longer exists";
      break;
    case "coopel_only":
      detail = "no GHL contact is linked to it";
      break;
    case "stale_link":
      detail =
        finding.survivor === null
          ? "GHL contact no longer exists; no survivor found"
          : `GHL contact merged into ${finding.survivor}`;
      break;
  }
  return row(finding.kind, ghlId, coopelId, repair ?? "-", detail);
}

function formatSummary(s: ReconcileSummary): string {
  const mode = s.repair
    ? s.dryRun
      ? " (repair planned, dry run: nothing was written)"
      : " (repaired)"
    : "";
  return (
    [
      `reconcile of location ${s.locationId}${mode}`,
      `  GHL contacts ${s.ghlContacts}, Coopel contacts ${s.coopelContacts}, pairs compared ${s.compared}, in sync ${s.inSync}`,
      `  field drift ${s.findings.field_drift}, tag drift ${s.findings.tag_drift}, missing on Coopel ${s.findings.missing_on_coopel}, stale links ${s.findings.stale_link}, Coopel only ${s.findings.coopel_only}`,
      `  differences ${s.differences}, repaired ${s.repaired}, failed ${s.failed}`,
      `  requests: GHL ${s.ghlRequests}, Coopel ${s.coopelRequests}; time ${(s.durationMs / 1000).toFixed(1)} s`,
    ].join("\n") + "\n"
  );
}
