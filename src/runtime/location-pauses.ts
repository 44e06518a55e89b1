import type { LocationPause, Queue, Store } from "../engine/ports.js";

/**
 * Operator pauses of GHL locations. Reads are cached for `ttlMs`, because
 * the worker reads the pause for every job; a pause made by another process takes
 * effect within that time. Resuming also lifts the queue's hold on the
 * location, so its waiting events run at once.
 */
export class LocationPauses {
  private cache: { pauses: Map<string, LocationPause>; readAt: number } | null =
    null;

  constructor(
    private readonly store: Store,
    private readonly queue: Queue,
    private readonly ttlMs = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(locationId: string): Promise<LocationPause | null> {
    if (this.cache === null || this.now() - this.cache.readAt > this.ttlMs) {
      const pauses = await this.store.listLocationPauses();
      this.cache = {
        pauses: new Map(pauses.map((p) => [p.locationId, p])),
        readAt: this.now(),
      };
    }
    return this.cache.pauses.get(locationId) ?? null;
  }

  list(): Promise<LocationPause[]> {
    return this.store.listLocationPauses();
  }

  async pause(
    locationId: string,
    reason: string,
    pausedBy: string,
  ): Promise<LocationPause> {
    const pause = { locationId, reason, pausedBy, pausedAt: this.now() };
    await this.store.pauseLocation(pause);
    this.cache = null;
    return pause;
  }

  async resume(locationId: string): Promise<boolean> {
    const resumed = await this.store.resumeLocation(locationId);
    this.cache = null;
    await this.queue.resumeAccount("ghl", locationId);
    return resumed;
  }
}
