import cliProgress from "cli-progress";

/** A progress display of one long run; every method does nothing when output is no terminal. */
export interface Progress {
  /** Counts `count` more items done. */
  increment(count?: number): void;
  /** Ends the display; calling it again does nothing. */
  stop(): void;
}

/** The progress of a run that shows none. */
export const noProgress: Progress = {
  increment: () => undefined,
  stop: () => undefined,
};

/**
 * Shows a progress bar with the rate per second and the time left on
 * `stream`, but only when it is a terminal, so that pipes and logs get
 * the summary alone.
 */
export function startProgress(
  label: string,
  total: number,
  unit: string,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (!stream.isTTY || total === 0) return noProgress;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} ${unit} | {rate}/s | {eta_formatted} left`,
      stream,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const startedAt = Date.now();
  let done = 0;
  let stopped = false;
  const rate = (): string => {
    const seconds = (Date.now() - startedAt) / 1000;
    return seconds > 0 ? (done / seconds).toFixed(1) : "0.0";
  };
  bar.start(total, 0, { rate: "0.0" });
  return {
    increment(count = 1) {
      done += count;
      bar.increment(count, { rate: rate() });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
