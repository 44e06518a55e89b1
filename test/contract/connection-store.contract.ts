import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  ConnectionStore,
  ConnectionWrite,
} from "../../src/engine/ports.js";

/** A connection store on one fresh database, driven by a clock the test sets. */
export interface OpenedConnectionStore {
  store: ConnectionStore;
  close(): Promise<void>;
}

export type OpenConnectionStore = (
  now: () => number,
) => Promise<OpenedConnectionStore>;

const T0 = 1_700_000_000_000;

function write(overrides: Partial<ConnectionWrite> = {}): ConnectionWrite {
  return {
    kind: "location",
    id: "loc-1",
    companyId: "company-1",
    sealedTokens: "v1.abcd1234.iv.tag.ciphertext-ünïcode",
    expiresAt: T0 + 86_399_000,
    status: "active",
    statusMessage: null,
    nextProbeAt: null,
    ...overrides,
  };
}

/**
 * The behaviour every ConnectionStore adapter must have: versioned
 * compare-and-swap writes, expiring locks and deduplicated pending installs.
 */
export function connectionStoreContract(
  name: string,
  open: OpenConnectionStore,
): void {
  describe(`ConnectionStore contract: ${name}`, () => {
    let now = T0;
    let opened: OpenedConnectionStore;
    let store: ConnectionStore;

    beforeEach(async () => {
      now = T0;
      opened = await open(() => now);
      store = opened.store;
    });

    afterEach(async () => {
      await opened.close();
    });

    it("inserts at version 0 only once", async () => {
      expect(await store.getConnection("location", "loc-1")).toBeNull();
      const saved = await store.saveConnection(write(), 0);
      expect(saved).toEqual({ ...write(), version: 1, updatedAt: T0 });
      expect(await store.saveConnection(write({ id: "loc-1" }), 0)).toBeNull();
      expect(await store.getConnection("location", "loc-1")).toEqual(saved);
    });

    it("writes only over the expected version", async () => {
      await store.saveConnection(write(), 0);
      now = T0 + 1000;
      const second = await store.saveConnection(
        write({ sealedTokens: "v1.new", expiresAt: null, companyId: null }),
        1,
      );
      expect(second?.version).toBe(2);
      expect(second?.sealedTokens).toBe("v1.new");
      expect(second?.expiresAt).toBeNull();
      expect(second?.companyId).toBeNull();
      expect(second?.updatedAt).toBe(T0 + 1000);
      const stale = await store.saveConnection(
        write({ sealedTokens: "v1.stale" }),
        1,
      );
      expect(stale).toBeNull();
      expect(
        (await store.getConnection("location", "loc-1"))?.sealedTokens,
      ).toBe("v1.new");
    });

    it("lets one of many concurrent writers win", async () => {
      await store.saveConnection(write(), 0);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.saveConnection(write({ sealedTokens: `v1.writer-${i}` }), 1),
        ),
      );
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      expect((await store.getConnection("location", "loc-1"))?.version).toBe(2);
    });

    it("keeps status fields and kinds apart", async () => {
      await store.saveConnection(
        write({
          status: "paused",
          statusMessage: "Location is not active",
          nextProbeAt: T0 + 900_000,
        }),
        0,
      );
      await store.saveConnection(
        write({ kind: "company", id: "loc-1", sealedTokens: null }),
        0,
      );
      const location = await store.getConnection("location", "loc-1");
      expect(location?.status).toBe("paused");
      expect(location?.statusMessage).toBe("Location is not active");
      expect(location?.nextProbeAt).toBe(T0 + 900_000);
      expect(
        (await store.getConnection("company", "loc-1"))?.sealedTokens,
      ).toBeNull();
      const listed = await store.listConnections();
      expect(listed.map((c) => `${c.kind}:${c.id}`)).toEqual([
        "company:loc-1",
        "location:loc-1",
      ]);
      await store.deleteConnection("company", "loc-1");
      expect(await store.getConnection("company", "loc-1")).toBeNull();
      expect(await store.getConnection("location", "loc-1")).not.toBeNull();
    });

    it("locks for one owner until the lock expires", async () => {
      expect(await store.tryLock("refresh:a", "owner-1", 30_000)).toBe(true);
      expect(await store.tryLock("refresh:a", "owner-2", 30_000)).toBe(false);
      expect(await store.tryLock("refresh:b", "owner-2", 30_000)).toBe(true);
      // The holder may take its own lock again, which extends it.
      now = T0 + 20_000;
      expect(await store.tryLock("refresh:a", "owner-1", 30_000)).toBe(true);
      now = T0 + 40_000;
      expect(await store.tryLock("refresh:a", "owner-2", 30_000)).toBe(false);
      now = T0 + 50_000;
      expect(await store.tryLock("refresh:a", "owner-2", 30_000)).toBe(true);
      // Only the holder can free it.
      await store.unlock("refresh:a", "owner-1");
      expect(await store.tryLock("refresh:a", "owner-1", 30_000)).toBe(false);
      await store.unlock("refresh:a", "owner-2");
      expect(await store.tryLock("refresh:a", "owner-1", 30_000)).toBe(true);
    });

    it("stores a pending install once", async () => {
      await store.addPendingInstall({
        locationId: "loc-1",
        companyId: "company-1",
        receivedAt: T0,
      });
      await store.addPendingInstall({
        locationId: "loc-1",
        companyId: "company-1",
        receivedAt: T0 + 5,
      });
      await store.addPendingInstall({
        locationId: null,
        companyId: "company-1",
        receivedAt: T0 + 10,
      });
      expect(await store.listPendingInstalls()).toEqual([
        { locationId: "loc-1", companyId: "company-1", receivedAt: T0 },
        { locationId: null, companyId: "company-1", receivedAt: T0 + 10 },
      ]);
      await store.removePendingInstall(null, "company-1");
      expect(await store.listPendingInstalls()).toEqual([
        { locationId: "loc-1", companyId: "company-1", receivedAt: T0 },
      ]);
      await store.removePendingInstall("loc-1", null);
      expect(await store.listPendingInstalls()).toEqual([]);
    });
  });
}
