import cliProgress from "cli-progress";
import type { LoadedConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import {
  Backfill,
  backfillCursorName,
  type BackfillProgress,
  type BackfillSummary,
  type CreateOnGhl,
} from "../engine/backfill.js";
import { ScanError } from "../engine/ghl-scan.js";
import {
  buildGhlWrite,
  type ReverseContactMapping,
} from "../mapping/reverse-mapping.js";
import { checkTwoWayConfig, StartupError } from "../runtime/service.js";
import { UsageError } from "./errors.js";
import {
  chooseLocation,
  openSyncContext,
  type SyncContext,
} from "./sync-context.js";

export interface BackfillCliOptions {
  location?: string;
  dryRun?: boolean;
  /** Forget the saved cursor and start from the first contact. */
  restart?: boolean;
  json?: boolean;
}

/** GHL's documented daily budget per app and location, used when ghl.rate_limit.daily is not set. */
const GHL_DAILY_REQUESTS = 200_000;

/**
 * Runs the first sync of one location and prints its summary. Exit codes:
 * 0 done, 1 stopped early (budget share used up, or GHL's pages could not
 * be trusted) or failed writes, 2 invalid configuration or flag.
 */
export async function runBackfill(
  loaded: LoadedConfig,
  options: BackfillCliOptions,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const locationId = chooseLocation(loaded.config, options.location);
  const context = await openSyncContext(loaded);
  const { config, storage, logger } = context;
  const dryRun = options.dryRun === true || config.dry_run;
  try {
    const createOnGhl = writesGhl(config)
      ? coopelOnlyToGhl(context, locationId)
      : undefined;
    if (options.restart && !dryRun)
      await storage.syncState.saveCursor(backfillCursorName(locationId), null);
    // NOTE: the share counts this run's own GHL requests only, not the
    // location's other traffic of the day.
    const daily = config.ghl.rate_limit.daily ?? GHL_DAILY_REQUESTS;
    const progress = progressReporter(options.json !== true);
    const backfill = new Backfill({
      ghl: context.ghl,
      coopel: context.coopel,
      state: storage.syncState,
      mapping: context.mapping,
      enrich: context.enrich,
      logger,
      locationId,
      pageLimit: config.backfill.page_size,
      coopelPageSize: config.backfill.coopel_page_size,
      ghlRequestLimit: Math.floor(daily * config.backfill.budget_share),
      concurrency: config.backfill.concurrency,
      syncTags: config.sync.tags.enabled,
      dryRun,
      onPage: (page) => progress.update(page),
      createOnGhl,
    });
    logger.info(
      { locationId, dryRun, budgetShare: config.backfill.budget_share },
      "backfill started",
    );
    let summary: BackfillSummary;
    try {
      summary = await backfill.run();
    } catch (error) {
      progress.stop();
      if (error instanceof ScanError) {
        logger.error({ err: error, locationId }, "backfill stopped");
        process.stderr.write(`backfill stopped: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
    progress.stop();
    logger.info({ ...summary }, "backfill finished");
    write(
      options.json
        ? `${JSON.stringify(summary, null, 2)}\n`
        : formatSummary(summary),
    );
    return summary.status === "done" && summary.failed === 0 ? 0 : 1;
  } finally {
    await context.close();
  }
}

/** Returns true when the contact direction creates contacts on GHL. */
function writesGhl(config: Config): boolean {
  return config.sync.contacts.direction !== "ghl_to_coopel";
}

/**
 * Maps Coopel-only contacts to GHL creates through the reverse mapping, the
 * same one that two-way sync writes GHL with. Custom field selectors resolve
 * to the location's field ids, and the Coopel tags are added after the
 * create when sync.tags.enabled is on.
 */
function coopelOnlyToGhl(
  context: SyncContext,
  locationId: string,
): CreateOnGhl {
  let reverse: ReverseContactMapping;
  try {
    reverse = checkTwoWayConfig(context.config);
  } catch (error) {
    if (error instanceof StartupError) throw new UsageError(error.message);
    throw error;
  }
  const syncTags = context.config.sync.tags.enabled;
  return async (record, callContext) => {
    const mapped = await reverse.map(record);
    const entries = mapped.entries.filter((entry) => entry.value !== null);
    const definitions = entries.some((entry) => entry.customField !== null)
      ? await context.enricher.definitionsFor(locationId, callContext)
      : [];
    const warnings = [...mapped.warnings];
    const write = buildGhlWrite(locationId, entries, definitions, warnings);
    const tags = (mapped.tags ?? []).filter((tag) => tag !== "");
    if (warnings.length > 0)
      context.logger.warn(
        { coopelId: record.id, locationId, warnings },
        "backfill: some fields of a Coopel-only contact were not mapped for GHL",
      );
    return syncTags && tags.length > 0 ? { ...write, tags } : write;
  };
}

/** Formats the summary for a person to read. */
export function formatSummary(s: BackfillSummary): string {
  const lines = [
    `backfill of location ${s.locationId}${s.dryRun ? " (dry run: nothing was written)" : ""}${s.resumed ? ", resumed from the saved cursor" : ""}`,
    `  GHL contacts read:     ${s.read} in ${s.pages} pages`,
    `  Coopel contacts:       ${s.coopelContacts}`,
    `  already linked:        ${s.alreadyLinked}`,
    `  linked by external id: ${s.linkedByExternalId}`,
    `  linked by email:       ${s.linkedByEmail}`,
    `  linked by phone:       ${s.linkedByPhone}`,
    `  ${s.dryRun ? "would create" : "created"}:${s.dryRun ? "          " : "               "}${s.created}`,
    `  ${s.dryRun ? "would update" : "updated"}:${s.dryRun ? "          " : "               "}${s.updated}`,
    `  to review:             ${s.review}${s.review > 0 ? " (see `ghl-coopel-sync review`)" : ""}`,
    `  deleted in GHL:        ${s.skippedDeleted}`,
    `  left unlinked:         ${s.leftUnlinked}`,
    ...(s.createdOnGhl + s.ghlDuplicates > 0
      ? [
          `  created on GHL:        ${s.createdOnGhl} (${s.ghlDuplicates} already there as duplicates)`,
        ]
      : []),
    `  failed:                ${s.failed}`,
    `  requests:              GHL ${s.ghlRequests}, Coopel ${s.coopelRequests}`,
    `  time:                  ${(s.durationMs / 1000).toFixed(1)} s`,
  ];
  if (s.status === "budget")
    lines.push(
      "stopped at backfill.budget_share of the location's daily GHL budget; run the same command later and it resumes from the saved cursor",
    );
  return `${lines.join("\n")}\n`;
}

interface ProgressReporter {
  update(progress: BackfillProgress): void;
  stop(): void;
}

/** Returns a progress bar with rate and time left on a terminal, or a no-op elsewhere, where the log has a line per run. */
function progressReporter(enabled: boolean): ProgressReporter {
  if (!enabled || process.stderr.isTTY !== true)
    return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        "backfill [{bar}] {value}/{total} contacts | {rate}/s | {eta_formatted} left | linked {linked}, created {created}, review {review}",
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const began = Date.now();
  return {
    update({ read, reportedTotal, summary }) {
      // GHL's total is only an estimate, so the bar's end moves when it is passed.
      const total = Math.max(read, reportedTotal ?? read);
      const payload = {
        rate: (read / Math.max(0.001, (Date.now() - began) / 1000)).toFixed(0),
        linked:
          summary.alreadyLinked +
          summary.linkedByEmail +
          summary.linkedByExternalId +
          summary.linkedByPhone,
        created: summary.created,
        review: summary.review,
      };
      if (!started) {
        bar.start(total, read, payload);
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(read, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
