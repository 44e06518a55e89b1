// Starts a chaos run from the command line: `npm run chaos -- --events 5000`.
// Prints the figures and, last, `lost=L duplicates=D drift=F kills=K events=N`;
// exits 1 unless lost, duplicates and drift are all 0 and the kills reached the minimum.
import { parseArgs } from "node:util";
import {
  buildService,
  DEFAULT_CHAOS_OPTIONS,
  runChaos,
} from "./chaos/run-chaos.js";

const { values } = parseArgs({
  options: {
    events: { type: "string" },
    kills: { type: "string" },
    seed: { type: "string" },
  },
});

function positiveInteger(
  name: string,
  raw: string | undefined,
  fallback: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} ${raw}: use a whole number of 1 or more`);
    process.exit(2);
  }
  return value;
}

const options = {
  ...DEFAULT_CHAOS_OPTIONS,
  events: positiveInteger(
    "events",
    values.events,
    DEFAULT_CHAOS_OPTIONS.events,
  ),
  minKills: positiveInteger(
    "kills",
    values.kills,
    DEFAULT_CHAOS_OPTIONS.minKills,
  ),
  seed: positiveInteger("seed", values.seed, DEFAULT_CHAOS_OPTIONS.seed),
  // The service restarts after every kill, and from dist it starts fast.
  fromDist: true,
  log: (line: string) => console.log(line),
};

// Turns a signal into a normal exit, so that the service child is killed too.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => process.exit(130));

console.log("chaos: compiling the service into dist");
buildService();
const result = await runChaos(options);
console.log(
  `chaos: ${result.deliveries} deliveries in ${(result.durationMs / 1000).toFixed(1)} s ` +
    `(${Math.round((result.events * 1000) / result.durationMs)} events/s overall), ` +
    `${result.coopelRequests} Coopel requests, ${result.replayed} dead letters replayed`,
);
console.log(`chaos: jobs ${JSON.stringify(result.jobs)}`);
console.log(
  `lost=${result.lost} duplicates=${result.duplicates} drift=${result.drift} kills=${result.kills} events=${result.events}`,
);
const passed =
  result.lost === 0 &&
  result.duplicates === 0 &&
  result.drift === 0 &&
  result.kills >= options.minKills;
process.exitCode = passed ? 0 : 1;
