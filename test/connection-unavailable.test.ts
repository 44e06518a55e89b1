import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { ConnectionUnavailableError } from "../src/connectors/ghl/oauth-tokens.js";
import type { InboxEvent } from "../src/engine/ports.js";
import { Worker } from "../src/engine/worker.js";
import { SqliteQueue } from "../src/queue/sqlite-queue.js";
import { openSqlite } from "../src/store/sqlite/database.js";

function event(n: number): InboxEvent {
  return {
    source: "ghl",
    accountId: "loc-unauthorized",
    type: "ContactUpdate",
    orderingKey: `ghl:loc-unauthorized:contact:c${n}`,
    deliveryId: `wh-${n}`,
    receivedAt: Date.now(),
    payload: { id: `c${n}` },
  };
}

describe("connection that needs a new authorization", () => {
  it("pauses its location and keeps its jobs queued", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "unavailable-"));
    const db = openSqlite({
      file: path.join(dir, "sync.db"),
      synchronous: "normal",
    });
    const queue = new SqliteQueue(db);
    let calls = 0;
    const worker = new Worker({
      queue,
      logger: pino({ level: "silent" }),
      concurrency: 4,
      leaseMs: 5000,
      pollMs: 10,
      maxAttempts: 2,
      retryBaseMs: 1,
      retryMaxMs: 5,
      accountPauseMs: 60_000,
      handle: () => {
        calls += 1;
        return Promise.reject(
          new ConnectionUnavailableError(
            "loc-unauthorized",
            "needs_authorization",
            "GHL location loc-unauthorized needs a new authorization",
          ),
        );
      },
    });
    try {
      await queue.enqueue([event(1), event(2), event(3)]);
      worker.start();
      const deadline = Date.now() + 10_000;
      while ((await queue.listPausedAccounts()).length === 0) {
        if (Date.now() > deadline) throw new Error("account never paused");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Give the worker time to (wrongly) keep trying or dead-letter.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const paused = await queue.listPausedAccounts();
      expect(paused).toEqual([
        expect.objectContaining({
          system: "ghl",
          accountId: "loc-unauthorized",
          reason: "connection_unavailable",
        }),
      ]);
      expect(await queue.depth()).toBe(3);
      expect(await queue.listDeadLetters({})).toEqual([]);
      expect(calls).toBeLessThanOrEqual(4);
    } finally {
      await worker.stop(1000);
      await queue.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
