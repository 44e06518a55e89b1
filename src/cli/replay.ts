import type { LoadedConfig } from "../config/load.js";
import { openStorage } from "../runtime/service.js";
import { toFilter, type DeadLetterOptions } from "./dead-letters.js";
import { OptionError } from "./option-error.js";

/**
 * Makes dead jobs pending again so that a running worker picks them up.
 * Without `--all`, at least one filter is required, so that a bare `replay`
 * does not resend everything by accident. Returns the exit code.
 */
export async function runReplay(
  loaded: LoadedConfig,
  options: DeadLetterOptions & { all?: boolean; dryRun?: boolean },
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
    if (options.dryRun) {
      const letters = await queue.listDeadLetters(filter);
      write(
        `${letters.length} dead letter${letters.length === 1 ? "" : "s"} would be replayed: ${letters.map((l) => `#${l.id}`).join(" ")}\n`,
      );
      return 0;
    }
    const count = await queue.replayDeadLetters(filter);
    write(
      `replayed ${count} dead letter${count === 1 ? "" : "s"}; a running worker processes them now (jobs already replayed are not counted again)\n`,
    );
    return 0;
  } finally {
    await queue.close();
    await store.close();
  }
}
