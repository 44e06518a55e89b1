import type { LoadedConfig } from "../config/load.js";
import { openStorage } from "../runtime/service.js";
import { toFilter, type DeadLetterOptions } from "./dead-letters.js";
import { OptionError } from "./option-error.js";
import { noProgress, startProgress } from "./progress.js";

/** Dead letters made pending per queue call, so that progress shows on a long replay. */
const REPLAY_BATCH_SIZE = 200;

/**
 * Makes dead jobs pending again so that a running worker picks them up.
 * Without `--all`, at least one filter is required, so that a bare `replay`
 * does not resend everything by accident. Returns the exit code.
 */
export async function runReplay(
  loaded: LoadedConfig,
  options: DeadLetterOptions & {
    all?: boolean;
    dryRun?: boolean;
    json?: boolean;
  },
  write: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number> {
  const filter = toFilter(options);
  const filtered = Object.keys(filter).length > 0;
  if (!filtered && !options.all)
    throw new OptionError(
      "replay needs --id, --account, --type, --class or --since to select dead letters, or --all for every one",
    );
  if (filtered && options.all)
    throw new OptionError(
      "--all replays every dead letter; leave it out when selecting with --id, --account, --type, --class or --since",
    );
  const { store, queue } = await openStorage(loaded.config, loaded.baseDir);
  try {
    const ids = (await queue.listDeadLetters(filter)).map((l) => l.id);
    if (options.dryRun) {
      write(
        options.json
          ? `${JSON.stringify({ dryRun: true, ids }, null, 2)}\n`
          : `${ids.length} dead letter${ids.length === 1 ? "" : "s"} would be replayed: ${ids.map((id) => `#${id}`).join(" ")}\n`,
      );
      return 0;
    }
    const progress = options.json
      ? noProgress
      : startProgress("replay", ids.length, "jobs");
    let replayed = 0;
    try {
      for (let start = 0; start < ids.length; start += REPLAY_BATCH_SIZE) {
        const batch = ids.slice(start, start + REPLAY_BATCH_SIZE);
        replayed += await queue.replayDeadLetters({ ids: batch });
        progress.increment(batch.length);
      }
    } finally {
      progress.stop();
    }
    write(
      options.json
        ? `${JSON.stringify({ dryRun: false, ids, replayed }, null, 2)}\n`
        : `replayed ${replayed} dead letter${replayed === 1 ? "" : "s"}; a running worker processes them now (jobs already replayed are not counted again)\n`,
    );
    return 0;
  } finally {
    await queue.close();
    await store.close();
  }
}
