import type { LoadedConfig } from "../config/load.js";
import type {
  EventFilter,
  EventRecord,
  JobState,
  Outcome,
} from "../engine/ports.js";
import { readOverview, type Overview } from "../operator/overview.js";
import { StartupError, openStorage, type Storage } from "../runtime/service.js";
import { UsageError } from "./errors.js";

/** Parses `90s`, `15m`, `6h` or `2d` into milliseconds; throws a clear error otherwise. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match)
    throw new UsageError(
      `--since ${text}: use a number and a unit, such as 30m, 6h or 2d`,
    );
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    match[2] as "s" | "m" | "h" | "d"
  ];
  return Number(match[1]) * unit;
}

async function withStorage<T>(
  loaded: LoadedConfig,
  work: (storage: Storage) => Promise<T>,
): Promise<T> {
  let storage: Storage;
  try {
    storage = await openStorage(loaded.config, loaded.baseDir);
  } catch (error) {
    if (error instanceof StartupError) throw new UsageError(error.message);
    throw error;
  }
  try {
    return await work(storage);
  } finally {
    await storage.queue.close();
    await storage.store.close();
  }
}

function time(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString();
}

/** Prints the overview figures; exit code 1 when dead letters wait or no connection is active. */
export async function runStatus(
  loaded: LoadedConfig,
  options: { json?: boolean },
): Promise<number> {
  const overview = await withStorage(loaded, ({ store, queue }) =>
    readOverview(loaded.config, store, queue),
  );
  const healthy =
    overview.deadLetters === 0 &&
    overview.connections.some(
      (c) => c.system === "ghl" && c.state === "active",
    );
  if (options.json) {
    process.stdout.write(`${JSON.stringify(overview, null, 2)}\n`);
  } else {
    process.stdout.write(formatStatus(overview));
  }
  return healthy ? 0 : 1;
}

function formatStatus(o: Overview): string {
  const s = o.last24h;
  const lines = [
    "Connections:",
    ...o.connections.map(
      (c) =>
        `  ${c.system === "ghl" ? "GHL location" : "Coopel account"} ${c.id} (${c.name}): ${c.state}${c.reason ? ` - ${c.reason}` : ""}`,
    ),
    "",
    "Last 24 hours:",
    `  received ${s.received}, synced ${s.synced}, skipped ${s.skipped}, ignored ${s.ignored}, unsupported ${s.unsupported}, failed ${s.failed}, pending ${s.pending}`,
    `  webhook to write: p50 ${s.writeLatencyP50Ms ?? "-"} ms, p99 ${s.writeLatencyP99Ms ?? "-"} ms`,
    "",
    `Inbox depth ${o.inboxDepth}, lag ${o.lagSeconds.toFixed(1)} s, dead letters ${o.deadLetters}`,
  ];
  if (o.deadLetters > 0)
    lines.push(
      "",
      "Dead letters wait: list them with `ghl-coopel-sync events --state dead`.",
    );
  return `${lines.join("\n")}\n`;
}

export interface EventsOptions {
  json?: boolean;
  type?: string;
  state?: JobState;
  outcome?: Outcome;
  contact?: string;
  since?: string;
  limit: string;
  id?: string;
}

/** Lists events newest first, or shows one with `--id`. */
export async function runEvents(
  loaded: LoadedConfig,
  options: EventsOptions,
): Promise<number> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new UsageError(
      `--limit ${options.limit}: use a whole number from 1 to 1000`,
    );
  const filter: EventFilter = {
    type: options.type,
    state: options.state,
    outcome: options.outcome,
    contains: options.contact,
    since:
      options.since === undefined
        ? undefined
        : Date.now() - parseDuration(options.since),
    limit,
  };
  return withStorage(loaded, async ({ store }) => {
    if (options.id !== undefined) {
      const event = await store.getEvent(options.id);
      if (!event) {
        process.stderr.write(
          `event ${options.id} not found; list ids with \`ghl-coopel-sync events\`\n`,
        );
        return 1;
      }
      process.stdout.write(`${JSON.stringify(event, null, 2)}\n`);
      return 0;
    }
    const events = await store.listEvents(filter);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(formatEvents(events));
    return 0;
  });
}

function formatEvents(events: EventRecord[]): string {
  if (events.length === 0) return "No events match.\n";
  const rows = events.map((e) => [
    e.id,
    time(e.receivedAt),
    e.type,
    e.state === "dead" ? "dead letter" : (e.outcome ?? e.state),
    e.reason ?? e.lastError ?? "",
    e.orderingKey,
  ]);
  const header = ["ID", "RECEIVED", "TYPE", "OUTCOME", "REASON", "KEY"];
  const widths = header.map((h, i) =>
    Math.min(60, Math.max(h.length, ...rows.map((r) => r[i]!.length))),
  );
  return `${[header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  "),
    )
    .join("\n")}\n`;
}
