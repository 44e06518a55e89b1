import { describe, expect, it } from "vitest";
import { DEFAULT_CHAOS_OPTIONS, runChaos } from "../scripts/chaos/run-chaos.js";

describe("chaos run", () => {
  it("loses and duplicates nothing through kill -9 and faults", async () => {
    const result = await runChaos({
      ...DEFAULT_CHAOS_OPTIONS,
      events: 1200,
      minKills: 4,
      killEveryMs: { min: 2000, max: 4000 },
      seed: 7,
      drainTimeoutMs: 240_000,
    });
    expect(result.kills).toBeGreaterThanOrEqual(4);
    expect(result.lost).toBe(0);
    expect(result.duplicates).toBe(0);
    expect(result.drift).toBe(0);
    expect(result.duplicatesSent).toBeGreaterThan(0);
    expect(result.outOfOrder).toBeGreaterThan(0);
    // The faults must really have hit the run, or the result proves nothing.
    expect(result.coopelRequests).toBeGreaterThan(result.events / 10);
  }, 600_000);
});
