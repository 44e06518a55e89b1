import type { Config } from "../config/schema.js";
import type { EventBucket, EventStats, Queue, Store } from "../engine/ports.js";

/** A configured account on one side and whether the sync runs for it. */
export interface ConnectionState {
  system: "ghl" | "coopel";
  id: string;
  name: string;
  state: "active" | "paused";
  /** Reason the connection is not active; null when it is. */
  reason: string | null;
}

/** The figures the status command and the dashboard's overview both show. */
export interface Overview {
  generatedAt: number;
  connections: ConnectionState[];
  /** Counts over the last 24 hours. */
  last24h: EventStats;
  /** Dead letters in the store now, counted up to `DEAD_LETTER_COUNT_LIMIT`. */
  deadLetters: number;
  inboxDepth: number;
  /** Seconds since the oldest unfinished event arrived; 0 when none waits. */
  lagSeconds: number;
  /** Received and failed events per 15 minutes over the last 24 hours. */
  series: EventBucket[];
}

export const DEAD_LETTER_COUNT_LIMIT = 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
export const SERIES_BUCKET_MS = 15 * 60 * 1000;

/** State of a GHL location in the running service; without it, the config alone decides. */
export type LocationStateOf = (
  locationId: string,
) => "active" | "paused" | "unknown";

/** Lists the configured connections with their state. */
export function connectionsOf(
  config: Config,
  locationState?: LocationStateOf,
): ConnectionState[] {
  return [
    ...config.ghl.locations.map((location): ConnectionState => {
      const live = locationState?.(location.id);
      const paused = location.paused || live === "paused";
      return {
        system: "ghl",
        id: location.id,
        name: location.name ?? location.id,
        state: paused ? "paused" : "active",
        reason: location.paused
          ? "paused in config (ghl.locations[].paused)"
          : paused
            ? "paused"
            : null,
      };
    }),
    {
      system: "coopel",
      id: config.coopel.account_id,
      name: config.coopel.base_url,
      state: "active",
      reason: null,
    },
  ];
}

/** Reads the overview figures through the store and queue ports. */
export async function readOverview(
  config: Config,
  store: Store,
  queue: Queue,
  now = Date.now(),
  locationState?: LocationStateOf,
): Promise<Overview> {
  const since = now - DAY_MS;
  const [last24h, dead, inboxDepth, oldest, series, pauses] = await Promise.all(
    [
      store.eventStats(since),
      store.listEvents({ state: "dead", limit: DEAD_LETTER_COUNT_LIMIT }),
      queue.depth(),
      queue.oldestPendingAt(),
      store.eventSeries(
        Math.floor(since / SERIES_BUCKET_MS) * SERIES_BUCKET_MS,
        SERIES_BUCKET_MS,
      ),
      store.listLocationPauses(),
    ],
  );
  const paused = new Map(pauses.map((p) => [p.locationId, p]));
  const connections = connectionsOf(config, locationState).map((c) => {
    const pause = c.system === "ghl" ? paused.get(c.id) : undefined;
    if (!pause) return c;
    return {
      ...c,
      state: "paused" as const,
      reason: `paused by ${pause.pausedBy} at ${new Date(pause.pausedAt).toISOString()}: ${pause.reason}`,
    };
  });
  return {
    generatedAt: now,
    connections,
    last24h,
    deadLetters: dead.length,
    inboxDepth,
    lagSeconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000),
    series,
  };
}
