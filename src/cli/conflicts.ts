import type { LoadedConfig } from "../config/load.js";
import type { ConflictRecord } from "../engine/ports.js";
import { openStorage } from "../runtime/service.js";
import { OptionError } from "./option-error.js";

/** Options of `conflicts`. */
export interface ConflictsOptions {
  json?: boolean;
  since?: string;
  limit?: string;
}

function time(value: number | null): string {
  return value === null ? "unknown" : new Date(value).toISOString();
}

function describeConflict(conflict: ConflictRecord): string {
  return [
    `#${conflict.id} ${new Date(conflict.detectedAt).toISOString()} contact GHL ${conflict.ghlId} / Coopel ${conflict.coopelId}, field ${conflict.field}`,
    `  GHL:    ${JSON.stringify(conflict.ghlValue)} (updated ${time(conflict.ghlUpdatedAt)})`,
    `  Coopel: ${JSON.stringify(conflict.coopelValue)} (updated ${time(conflict.coopelUpdatedAt)})`,
    `  winner: ${conflict.winner} by rule ${conflict.rule}`,
  ].join("\n");
}

/** Prints the conflict log, newest first; returns the exit code. */
export async function runConflicts(
  loaded: LoadedConfig,
  options: ConflictsOptions,
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  let since: number | undefined;
  if (options.since !== undefined) {
    since = Date.parse(options.since);
    if (Number.isNaN(since))
      throw new OptionError(
        `--since ${options.since}: not a date; use ISO 8601, for example 2026-01-31T12:00:00Z`,
      );
  }
  const limit = options.limit === undefined ? 100 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new OptionError(
      `--limit ${options.limit}: use a whole number of 1 or more`,
    );
  const { store, queue, twoWay } = await openStorage(
    loaded.config,
    loaded.baseDir,
  );
  try {
    const conflicts = await twoWay.listConflicts({ limit, since });
    if (options.json) {
      write(`${JSON.stringify(conflicts, null, 2)}\n`);
      return 0;
    }
    if (conflicts.length === 0) {
      write("No conflicts recorded.\n");
      return 0;
    }
    write(`${conflicts.map(describeConflict).join("\n")}\n`);
    return 0;
  } finally {
    await queue.close();
    await store.close();
  }
}
