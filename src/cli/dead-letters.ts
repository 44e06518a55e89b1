import type { LoadedConfig } from "../config/load.js";
import type {
  DeadLetter,
  DeadLetterFilter,
  JobFailure,
} from "../engine/ports.js";
import { openStorage } from "../runtime/service.js";
import { OptionError } from "./option-error.js";

/** Options shared by `dead-letters` and `replay` to select dead jobs. */
export interface DeadLetterOptions {
  id?: string[];
  account?: string;
  type?: string;
  errorClass?: JobFailure["errorClass"];
  since?: string;
  limit?: string;
}

/** Turns command-line options into a queue filter; throws OptionError on a bad value. */
export function toFilter(options: DeadLetterOptions): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  if (options.id !== undefined) {
    for (const id of options.id)
      if (!/^\d+$/.test(id))
        throw new OptionError(
          `--id ${id}: a job id is a whole number, as listed by dead-letters`,
        );
    filter.ids = options.id;
  }
  if (options.account !== undefined) filter.accountId = options.account;
  if (options.type !== undefined) filter.type = options.type;
  if (options.errorClass !== undefined) filter.errorClass = options.errorClass;
  if (options.since !== undefined) {
    const since = Date.parse(options.since);
    if (Number.isNaN(since))
      throw new OptionError(
        `--since ${options.since}: not a date; use ISO 8601, for example 2026-01-31T12:00:00Z`,
      );
    filter.since = since;
  }
  if (options.limit !== undefined) {
    const limit = Number(options.limit);
    if (!Number.isInteger(limit) || limit < 1)
      throw new OptionError(
        `--limit ${options.limit}: use a whole number of 1 or more`,
      );
    filter.limit = limit;
  }
  return filter;
}

function describeDeadLetter(letter: DeadLetter): string {
  const lastRequest = letter.requests.at(-1);
  const request = lastRequest
    ? `${lastRequest.method} ${lastRequest.path} -> ${lastRequest.status ?? "no response"} in ${lastRequest.durationMs} ms`
    : "no request sent";
  return [
    `#${letter.id} ${letter.event.type} ${typeof letter.event.payload.id === "string" ? letter.event.payload.id : ""} (${letter.event.source} account ${letter.event.accountId})`,
    `  class ${letter.errorClass}, ${letter.attempts} attempts, received ${new Date(letter.event.receivedAt).toISOString()}, gave up ${new Date(letter.finishedAt).toISOString()}`,
    `  last request: ${request}`,
    `  error: ${letter.lastError}`,
  ].join("\n");
}

/** Prints the paused accounts and the dead-letter list; returns the exit code. */
export async function runDeadLetters(
  loaded: LoadedConfig,
  options: DeadLetterOptions & { json?: boolean },
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const filter = toFilter(options);
  const { store, queue } = await openStorage(loaded.config, loaded.baseDir);
  try {
    const letters = await queue.listDeadLetters(filter);
    const paused = await queue.listPausedAccounts();
    if (options.json) {
      write(`${JSON.stringify({ paused, deadLetters: letters }, null, 2)}\n`);
      return 0;
    }
    for (const pause of paused)
      write(
        `paused: ${pause.system} account ${pause.accountId} (${pause.reason}) since ${new Date(pause.pausedAt).toISOString()}, next try ${new Date(pause.retryAt).toISOString()}: ${pause.message}\n`,
      );
    for (const letter of letters) write(`${describeDeadLetter(letter)}\n`);
    write(
      `${letters.length} dead letter${letters.length === 1 ? "" : "s"}${
        letters.length > 0
          ? "; replay with: ghl-coopel-sync replay --id <id> (or --all)"
          : ""
      }\n`,
    );
    return 0;
  } finally {
    await queue.close();
    await store.close();
  }
}
