import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Link, Store, SyncState } from "../../src/engine/ports.js";

/** A SyncState and the Store on the same fresh database. */
export interface SyncStateAdapters {
  state: SyncState;
  store: Store;
  close(): Promise<void>;
}

const T0 = 1_700_000_000_000;

function link(ghlId: string, overrides: Partial<Link> = {}): Link {
  return {
    entity: "contact",
    ghlLocationId: "loc-1",
    ghlId,
    coopelAccountId: "acct-1",
    coopelId: `c-${ghlId}`,
    fieldHashes: { email: "h1" },
    deletedAt: null,
    updatedAt: T0,
    ...overrides,
  };
}

const summary = (id: string) => ({
  id,
  name: "Ünïcode Name",
  email: `${id}@example.com`,
  phone: "+14155550100",
});

export function syncStateContract(
  name: string,
  open: () => Promise<SyncStateAdapters>,
): void {
  describe(`${name} sync state`, () => {
    let adapters: SyncStateAdapters;
    beforeEach(async () => {
      adapters = await open();
    });
    afterEach(async () => {
      await adapters.close();
    });

    it("saves, replaces and deletes cursors", async () => {
      const { state } = adapters;
      expect(await state.getCursor("backfill:loc-1")).toBeNull();
      await state.saveCursor("backfill:loc-1", '[1,"a"]');
      await state.saveCursor("backfill:loc-1", '[2,"b"]');
      expect(await state.getCursor("backfill:loc-1")).toBe('[2,"b"]');
      await state.saveCursor("backfill:loc-1", null);
      expect(await state.getCursor("backfill:loc-1")).toBeNull();
    });

    it("writes links together with a cursor", async () => {
      const { state, store } = adapters;
      await state.saveLinks([link("g1"), link("g2", { tags: ["vip"] })], {
        name: "backfill:loc-1",
        value: '[3,"g2"]',
      });
      expect(await state.getCursor("backfill:loc-1")).toBe('[3,"g2"]');
      expect(await store.getLink("contact", "loc-1", "g2")).toEqual(
        link("g2", { tags: ["vip"] }),
      );
      const byGhl = await state.getLinks("contact", "loc-1", ["g1", "gx"]);
      expect(byGhl.map((l) => l.ghlId)).toEqual(["g1"]);
      const byCoopel = await state.getLinksByCoopelIds("contact", "acct-1", [
        "c-g2",
        "c-none",
      ]);
      expect(byCoopel.map((l) => l.ghlId)).toEqual(["g2"]);
    });

    it("rolls back links and cursor together when a link is invalid", async () => {
      const { state, store } = adapters;
      await state.saveLinks([link("g1")]);
      // A second link to the same Coopel id breaks the unique index.
      await expect(
        state.saveLinks([link("g2", { coopelId: "c-g1" })], {
          name: "backfill:loc-1",
          value: "[9]",
        }),
      ).rejects.toThrow();
      expect(await state.getCursor("backfill:loc-1")).toBeNull();
      expect(await store.getLink("contact", "loc-1", "g2")).toBeNull();
    });

    it("pages links in GHL id order", async () => {
      const { state } = adapters;
      await state.saveLinks(["b", "a", "d", "c"].map((id) => link(id)));
      const first = await state.listLinksAfter("contact", "loc-1", null, 3);
      expect(first.map((l) => l.ghlId)).toEqual(["a", "b", "c"]);
      const rest = await state.listLinksAfter("contact", "loc-1", "c", 3);
      expect(rest.map((l) => l.ghlId)).toEqual(["d"]);
    });

    it("moves a link to another GHL id in one step", async () => {
      const { state, store } = adapters;
      await state.saveLinks([link("old")]);
      await state.moveLink("old", link("new", { coopelId: "c-old" }));
      expect(await store.getLink("contact", "loc-1", "old")).toBeNull();
      expect((await store.getLink("contact", "loc-1", "new"))?.coopelId).toBe(
        "c-old",
      );
    });

    it("keeps one open review item per contact, with its id", async () => {
      const { state } = adapters;
      const [first] = await state.addReviewItems([
        {
          ghlLocationId: "loc-1",
          ghl: summary("g1"),
          reason: "several_email_matches",
          candidates: [summary("c1"), summary("c2")],
        },
      ]);
      const [second] = await state.addReviewItems([
        {
          ghlLocationId: "loc-1",
          ghl: summary("g1"),
          reason: "email_shared_in_ghl",
          candidates: [],
        },
      ]);
      expect(await state.hasOpenReview("loc-1", "g1")).toBe(true);
      expect(await state.hasOpenReview("loc-2", "g1")).toBe(false);
      const open = await state.listReviewItems("open");
      expect(open).toHaveLength(1);
      expect(second).toBe(first);
      expect(open[0]).toMatchObject({
        id: first,
        reason: "email_shared_in_ghl",
        ghl: summary("g1"),
        status: "open",
        resolvedCoopelId: null,
      });

      expect(await state.resolveReviewItem(second!, "accepted", "c1")).toBe(
        true,
      );
      expect(await state.resolveReviewItem(second!, "rejected", null)).toBe(
        false,
      );
      const item = await state.getReviewItem(second!);
      expect(item).toMatchObject({
        status: "accepted",
        resolvedCoopelId: "c1",
      });
      expect(item?.resolvedAt).toEqual(expect.any(Number));
      expect(await state.listReviewItems("open")).toEqual([]);
      expect(await state.hasOpenReview("loc-1", "g1")).toBe(false);
      expect(await state.listReviewItems()).toHaveLength(1);
      expect(await state.getReviewItem("999999")).toBeNull();
      expect(await state.getReviewItem("not-a-number")).toBeNull();
    });

    it("lists the live links a reconcile run did not see", async () => {
      const { state } = adapters;
      await state.saveLinks([
        link("a"),
        link("b"),
        link("c"),
        link("gone", { deletedAt: T0 }),
        link("x", { ghlLocationId: "loc-2" }),
      ]);
      await state.markSeen("run-1", ["a", "c"]);
      await state.markSeen("run-1", ["a"]);
      await state.markSeen("run-2", ["b"]);
      const unseen = await state.listUnseenLinks("run-1", "loc-1", null, 10);
      expect(unseen.map((l) => l.ghlId)).toEqual(["b"]);
      await state.clearSeen("run-1");
      const all = await state.listUnseenLinks("run-1", "loc-1", null, 10);
      expect(all.map((l) => l.ghlId)).toEqual(["a", "b", "c"]);
      const paged = await state.listUnseenLinks("run-1", "loc-1", "a", 1);
      expect(paged.map((l) => l.ghlId)).toEqual(["b"]);
    });

    it("keeps seen contacts until their Coopel side is taken", async () => {
      const { state } = adapters;
      const record = (id: string): string => JSON.stringify({ id });
      await state.keepSeen("run-1", [
        { ghlId: "g1", coopelId: "c1", record: record("g1") },
        { ghlId: "g2", coopelId: "c2", record: record("g2") },
        { ghlId: "g3", coopelId: "c3", record: record("g3") },
        { ghlId: "u1", coopelId: null, record: record("u1") },
        { ghlId: "u2", coopelId: null, record: record("u2") },
      ]);
      // A repeat keeps the first record.
      await state.keepSeen("run-1", [
        { ghlId: "g1", coopelId: "c9", record: record("other") },
      ]);
      await state.keepSeen("run-2", [
        { ghlId: "g2", coopelId: "c2", record: record("g2") },
      ]);
      await state.markSeen("run-1", ["deleted"]);

      const taken = await state.takeSeenByCoopelIds("run-1", [
        "c1",
        "c3",
        "c-unknown",
      ]);
      expect(taken.map((c) => c.ghlId).sort()).toEqual(["g1", "g3"]);
      expect(taken.find((c) => c.ghlId === "g1")).toEqual({
        ghlId: "g1",
        coopelId: "c1",
        record: record("g1"),
      });
      expect(await state.takeSeenByCoopelIds("run-1", ["c1"])).toEqual([]);
      expect(await state.takeSeenByCoopelIds("run-1", [])).toEqual([]);

      const linked = await state.listUnmatchedSeen("run-1", true, null, 10);
      expect(linked.map((c) => c.ghlId)).toEqual(["g2"]);
      const unlinked = await state.listUnmatchedSeen("run-1", false, null, 10);
      expect(unlinked.map((c) => c.ghlId)).toEqual(["u1", "u2"]);
      const paged = await state.listUnmatchedSeen("run-1", false, "u1", 1);
      expect(paged.map((c) => c.ghlId)).toEqual(["u2"]);

      // Kept contacts count as seen.
      await state.saveLinks([link("g2"), link("unseen")]);
      const unseen = await state.listUnseenLinks("run-1", "loc-1", null, 10);
      expect(unseen.map((l) => l.ghlId)).toEqual(["unseen"]);

      await state.clearSeen("run-1");
      expect(await state.listUnmatchedSeen("run-1", false, null, 10)).toEqual(
        [],
      );
      const other = await state.listUnmatchedSeen("run-2", true, null, 10);
      expect(other.map((c) => c.ghlId)).toEqual(["g2"]);
    });
  });
}
