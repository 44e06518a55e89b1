import type { LoadedConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { CoopelRestClient } from "../connectors/coopel/client.js";
import { GhlRestApi } from "../connectors/ghl/api.js";
import { GhlHttpClient } from "../connectors/ghl/client.js";
import type { ConnectionStore } from "../engine/ports.js";
import {
  applyTagRules,
  type RulesApplyReport,
} from "../operator/rules-apply.js";
import { AccountRateLimiter } from "../ratelimit/account-limiter.js";
import { BudgetedGhlApi } from "../ratelimit/budgeted-ghl-api.js";
import { openGhlAccess, type GhlAccess } from "../runtime/ghl-access.js";
import { createLogger, registerSecretValues } from "../runtime/logger.js";
import {
  buildContactEventSync,
  createRateLimiter,
  entitySettings,
  openStorage,
  StartupError,
  type Storage,
} from "../runtime/service.js";
import { UsageError } from "./errors.js";
import { noProgress, startProgress, type Progress } from "./progress.js";

export interface RulesApplyCliOptions {
  dryRun?: boolean;
  json?: boolean;
}

/**
 * Runs `rules apply`: the tag rules over every linked contact of the active
 * GHL locations. Returns the exit code: 0 done, 1 a contact failed or the
 * run stopped early, 2 no rules or an unusable store.
 */
export async function runRulesApply(
  loaded: LoadedConfig,
  options: RulesApplyCliOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const { config } = loaded;
  if (config.mapping.tag_rules.length === 0)
    throw new UsageError(
      `${loaded.file}: mapping.tag_rules is empty, so there is nothing to apply; add rules as the README's "Tag rules" section shows`,
    );
  registerSecretValues([
    ...config.ghl.locations.map((l) => l.token),
    config.coopel.token,
    config.coopel.oauth?.client_secret,
    config.ghl.oauth?.client_secret,
  ]);
  const logger = createLogger(config.log, process.stderr);
  let storage: Storage;
  let access: GhlAccess;
  try {
    storage = await openStorage(config, loaded.baseDir);
  } catch (error) {
    if (error instanceof StartupError) throw new UsageError(error.message);
    throw error;
  }
  try {
    access = await openGhlAccess(config, storage.connections, logger);
  } catch (error) {
    await closeStorage(storage);
    if (error instanceof StartupError) throw new UsageError(error.message);
    throw error;
  }

  let progress: Progress = noProgress;
  try {
    const ghl = new BudgetedGhlApi(
      new GhlRestApi(
        new GhlHttpClient({
          baseUrl: config.ghl.base_url,
          apiVersion: config.ghl.api_version,
          timeoutMs: config.coopel.timeout_ms,
          tokens: access.tokens,
        }),
      ),
      ghlLimiter(config),
    );
    const coopel = new CoopelRestClient(
      config.coopel,
      // The Coopel client takes a budget only when coopel.rate_limit is set.
      config.coopel.rate_limit === null ? undefined : createRateLimiter(config),
    );
    const syncs = entitySettings(config);
    const contactEvents = buildContactEventSync(
      config,
      storage.store,
      coopel,
      ghl,
      logger,
      syncs,
    );
    const locationIds = (
      await activeLocations(config, storage.connections)
    ).filter((id) => syncs(id, "contacts") || syncs(id, "tags"));

    const report = await applyTagRules({
      store: storage.store,
      ghl,
      contactEvents,
      locationIds,
      dryRun: options.dryRun ?? false,
      onStart: (total) => {
        if (!options.json)
          progress = startProgress("rules apply", total, "contacts");
      },
      onContact: () => progress.increment(),
    });
    progress.stop();
    out.write(
      options.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : formatReport(report, locationIds.length),
    );
    return report.failed.length > 0 || report.stoppedEarly !== null ? 1 : 0;
  } finally {
    progress.stop();
    access.stop();
    await closeStorage(storage);
  }
}

async function closeStorage(storage: Storage): Promise<void> {
  await storage.queue.close();
  await storage.store.close();
}

/** Creates the budget for GHL reads from `ghl.rate_limit`; a request waits up to 30 s at a time for it. */
function ghlLimiter(config: Config): AccountRateLimiter {
  const budget = config.ghl.rate_limit;
  return new AccountRateLimiter({
    budgetOf: () => ({
      requests: budget.requests,
      perMs: budget.per_ms,
      daily: budget.daily,
      backgroundReserve: budget.background_reserve,
    }),
    maxWaitMs: 30_000,
  });
}

/** Lists the configured locations that are not paused, plus the active OAuth-connected locations. */
async function activeLocations(
  config: Config,
  connections: ConnectionStore,
): Promise<string[]> {
  const paused = new Set(
    config.ghl.locations.filter((l) => l.paused).map((l) => l.id),
  );
  const ids = new Set(
    config.ghl.locations.filter((l) => !l.paused).map((l) => l.id),
  );
  for (const connection of await connections.listConnections())
    if (
      connection.kind === "location" &&
      connection.status === "active" &&
      !paused.has(connection.id)
    )
      ids.add(connection.id);
  return [...ids];
}

function formatReport(report: RulesApplyReport, locations: number): string {
  const verb = report.dryRun ? "would add" : "added";
  const removeVerb = report.dryRun ? "would remove" : "removed";
  const lines: string[] = [];
  for (const change of report.changes) {
    const parts = [
      change.add.length > 0 ? `${verb} ${change.add.join(", ")}` : null,
      change.remove.length > 0
        ? `${removeVerb} ${change.remove.join(", ")}`
        : null,
    ].filter((part) => part !== null);
    lines.push(
      `  contact ${change.ghlId} (Coopel ${change.coopelId}): ${parts.join("; ")}`,
    );
  }
  for (const failure of report.failed)
    lines.push(`  contact ${failure.ghlId} FAILED: ${failure.error}`);
  for (const warning of report.warnings) lines.push(`  warning: ${warning}`);
  const added = report.changes.reduce((sum, c) => sum + c.add.length, 0);
  const removed = report.changes.reduce((sum, c) => sum + c.remove.length, 0);
  const requests = Object.entries(report.requests)
    .map(([key, count]) => `${key} ${count}`)
    .join(", ");
  lines.push(
    `${report.dryRun ? "dry run: " : ""}${report.checked} contacts checked in ${locations} location(s); ${report.changes.length} changed, tags ${verb} ${added}, ${removeVerb} ${removed}; ${report.missingInGhl.length} no longer in GHL; ${report.failed.length} failed`,
    `requests: ${requests === "" ? "none" : requests}`,
  );
  if (report.pausedLocations.length > 0)
    lines.push(
      `left out, paused on the dashboard: ${report.pausedLocations.join(", ")}`,
    );
  if (report.stoppedEarly !== null)
    lines.push(`stopped early: ${report.stoppedEarly}`);
  return `${lines.join("\n")}\n`;
}
