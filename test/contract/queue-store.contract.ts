import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type {
  Completion,
  InboxEvent,
  Link,
  Queue,
  Store,
  TwoWayStore,
} from "../../src/engine/ports.js";

/** A queue and a store on one fresh database, driven by a clock the test sets. */
export interface Adapters {
  queue: Queue;
  store: Store;
  twoWay: TwoWayStore;
  close(): Promise<void>;
}

export type OpenAdapters = (now: () => number) => Promise<Adapters>;

const T0 = 1_700_000_000_000;

function event(key: string, overrides: Partial<InboxEvent> = {}): InboxEvent {
  return {
    source: "ghl",
    accountId: "loc-1",
    type: "ContactUpdate",
    orderingKey: key,
    deliveryId: null,
    receivedAt: T0,
    payload: { id: key, note: "ünïcode ✓", nested: { n: 1.5, list: [1, "a"] } },
    ...overrides,
  };
}

function link(ghlId: string, overrides: Partial<Link> = {}): Link {
  return {
    entity: "contact",
    ghlLocationId: "loc-1",
    ghlId,
    coopelAccountId: "acct-1",
    coopelId: `c-${ghlId}`,
    fieldHashes: { email: "h1", first_name: "h2" },
    deletedAt: null,
    updatedAt: T0,
    ...overrides,
  };
}

function completion(overrides: Partial<Completion> = {}): Completion {
  return {
    outcome: "synced",
    reason: null,
    links: [],
    requests: [
      { method: "PUT", path: "/contacts/x", status: 200, durationMs: 3 },
    ],
    warnings: [],
    ...overrides,
  };
}

const failure = {
  errorClass: "retryable" as const,
  message: "Coopel answered 503",
  requests: [],
};

/**
 * The behaviour every Queue and Store adapter must have. Each adapter's test
 * file calls this with a function that opens the adapter on a fresh database.
 */
export function queueStoreContract(name: string, open: OpenAdapters): void {
  describe(`${name}: Queue and Store contract`, () => {
    let clock = T0;
    let adapters: Adapters;
    let queue: Queue;
    let store: Store;

    beforeEach(async () => {
      clock = T0;
      adapters = await open(() => clock);
      queue = adapters.queue;
      store = adapters.store;
    });

    afterEach(async () => {
      await adapters.close();
    });

    describe("enqueue", () => {
      it("accepts new events and drops repeats of a delivery id, also within one call", async () => {
        expect(
          await queue.enqueue([
            event("a", { deliveryId: "d1" }),
            event("a", { deliveryId: "d1" }),
            event("b", { deliveryId: null }),
            event("b", { deliveryId: null }),
          ]),
        ).toEqual(["accepted", "duplicate", "accepted", "accepted"]);
        expect(await queue.enqueue([event("a", { deliveryId: "d1" })])).toEqual(
          ["duplicate"],
        );
        expect(
          await queue.enqueue([
            event("a", { deliveryId: "d1", source: "coopel" }),
          ]),
        ).toEqual(["accepted"]);
        expect(await queue.depth()).toBe(4);
      });

      it("commits calls made together and answers each with its own results", async () => {
        const calls = Array.from({ length: 50 }, (_, i) =>
          queue.enqueue([event(`k${i % 5}`, { deliveryId: `d${i % 25}` })]),
        );
        const results = (await Promise.all(calls)).map((r) => r[0]);
        expect(results.slice(0, 25)).toEqual(Array(25).fill("accepted"));
        expect(results.slice(25)).toEqual(Array(25).fill("duplicate"));
        expect(await queue.depth()).toBe(25);
      });

      it("keeps the event as given, payload included", async () => {
        const given = event("a", {
          deliveryId: "wh-1",
          accountId: "loc-9",
          type: "ContactCreate",
          receivedAt: T0 - 5,
        });
        await queue.enqueue([given]);
        const [job] = await queue.claim("w1", 10, 30_000);
        expect(job?.event).toEqual(given);
        expect(job?.attempt).toBe(1);
      });

      it("tells subscribers about new jobs until they unsubscribe", async () => {
        let calls = 0;
        const unsubscribe = queue.subscribe(() => calls++);
        await queue.enqueue([event("a")]);
        await waitUntil(() => calls > 0);
        unsubscribe();
        const before = calls;
        await queue.enqueue([event("b")]);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(calls).toBe(before);
      });
    });

    describe("claim", () => {
      it("hands out jobs in arrival order, up to the limit, each once", async () => {
        await queue.enqueue(["a", "b", "c", "d"].map((k) => event(k)));
        const first = await queue.claim("w1", 3, 30_000);
        expect(first.map((j) => j.event.orderingKey)).toEqual(["a", "b", "c"]);
        const second = await queue.claim("w2", 3, 30_000);
        expect(second.map((j) => j.event.orderingKey)).toEqual(["d"]);
        expect(await queue.claim("w3", 3, 30_000)).toEqual([]);
        expect(await queue.depth()).toBe(4);
      });

      it("runs the events of one ordering key one at a time, in arrival order", async () => {
        await queue.enqueue([
          event("a", { payload: { n: 1 } }),
          event("b", { payload: { n: 1 } }),
          event("a", { payload: { n: 2 } }),
          event("a", { payload: { n: 3 } }),
        ]);
        const first = await queue.claim("w1", 10, 30_000);
        expect(
          first.map((j) => [j.event.orderingKey, j.event.payload.n]),
        ).toEqual([
          ["a", 1],
          ["b", 1],
        ]);
        expect(await queue.claim("w2", 10, 30_000)).toEqual([]);
        await queue.complete(first[0]!, completion());
        const second = await queue.claim("w2", 10, 30_000);
        expect(second.map((j) => j.event.payload.n)).toEqual([2]);
        await queue.complete(second[0]!, completion());
        const third = await queue.claim("w1", 10, 30_000);
        expect(third.map((j) => j.event.payload.n)).toEqual([3]);
      });

      it("holds an event that arrives while its key runs until the run ends", async () => {
        await queue.enqueue([event("a", { payload: { n: 1 } })]);
        const [first] = await queue.claim("w1", 10, 30_000);
        await queue.enqueue([event("a", { payload: { n: 2 } })]);
        expect(await queue.claim("w2", 10, 30_000)).toEqual([]);
        await queue.complete(first!, completion());
        const [second] = await queue.claim("w2", 10, 30_000);
        expect(second?.event.payload.n).toBe(2);
        await queue.deadLetter(second!, {
          ...failure,
          errorClass: "permanent",
        });
        await queue.enqueue([event("a", { payload: { n: 3 } })]);
        const [third] = await queue.claim("w1", 10, 30_000);
        expect(third?.event.payload.n).toBe(3);
      });

      it("never gives two concurrent claimers the same job or the same key", async () => {
        const events = Array.from({ length: 60 }, (_, i) =>
          event(`k${i % 12}`, { payload: { n: i } }),
        );
        await queue.enqueue(events);
        const seen = new Set<string>();
        const order = new Map<string, number[]>();
        while (seen.size < events.length) {
          const batches = await Promise.all(
            ["w1", "w2", "w3", "w4"].map((w) => queue.claim(w, 5, 30_000)),
          );
          const claimed = batches.flat();
          expect(claimed.length).toBeGreaterThan(0);
          const keys = claimed.map((j) => j.event.orderingKey);
          expect(new Set(keys).size).toBe(keys.length);
          for (const job of claimed) {
            expect(seen.has(job.id)).toBe(false);
            seen.add(job.id);
            const list = order.get(job.event.orderingKey) ?? [];
            list.push(job.event.payload.n as number);
            order.set(job.event.orderingKey, list);
          }
          await Promise.all(
            claimed.map((j) => queue.complete(j, completion())),
          );
        }
        for (const list of order.values())
          expect(list).toEqual([...list].sort((x, y) => x - y));
        expect(await queue.depth()).toBe(0);
      });

      it("claims key heads behind a long backlog", async () => {
        await queue.enqueue(
          Array.from({ length: 400 }, (_, i) =>
            event("hot", { payload: { n: i } }),
          ),
        );
        await queue.enqueue([
          event("cold", { payload: { n: 0 } }),
          event("late", { payload: { n: 0 }, runAt: T0 + 1_000 }),
        ]);
        const seen: number[] = [];
        for (let round = 0; round < 5; round++) {
          const jobs = await queue.claim("w1", 10, 30_000);
          const keys = jobs.map((j) => j.event.orderingKey);
          expect(keys.filter((k) => k === "hot")).toHaveLength(1);
          expect(keys).not.toContain("late");
          if (round === 0) expect(keys).toEqual(["hot", "cold"]);
          for (const job of jobs) {
            if (job.event.orderingKey === "hot")
              seen.push(job.event.payload.n as number);
            await queue.complete(job, completion());
          }
        }
        expect(seen).toEqual([0, 1, 2, 3, 4]);
        expect(await queue.depth()).toBe(396);
        clock += 1_000;
        const later = await queue.claim("w1", 10, 30_000);
        expect(later.map((j) => j.event.orderingKey)).toEqual(["hot", "late"]);
      });

      it("leaves skipped accounts' jobs pending", async () => {
        await queue.enqueue([
          event("a1", { accountId: "loc-busy" }),
          event("a2", { accountId: "loc-busy" }),
          event("b1", { accountId: "loc-calm" }),
        ]);
        const claimed = await queue.claim("w1", 10, 30_000, {
          skipAccounts: ["ghl:loc-busy"],
        });
        expect(claimed.map((j) => j.event.orderingKey)).toEqual(["b1"]);

        const rest = await queue.claim("w1", 10, 30_000, { skipAccounts: [] });
        expect(rest.map((j) => j.event.orderingKey)).toEqual(["a1", "a2"]);
      });

      it("hands a job out again when its lease runs out, counting the attempt", async () => {
        await queue.enqueue([event("a"), event("a")]);
        const [job] = await queue.claim("w1", 10, 1_000);
        expect(job?.attempt).toBe(1);
        clock += 999;
        expect(await queue.claim("w2", 10, 1_000)).toEqual([]);
        clock += 2;
        const again = await queue.claim("w2", 10, 1_000);
        expect(again.map((j) => [j.id, j.attempt])).toEqual([[job!.id, 2]]);
      });

      it("keeps a renewed lease, and renews only the holder's", async () => {
        await queue.enqueue([event("a"), event("b")]);
        const [first, second] = await queue.claim("w1", 10, 1_000);
        clock += 900;
        await queue.extendLeases("w1", [first!.id], 1_000);
        await queue.extendLeases("w2", [second!.id], 1_000);
        clock += 200;
        const taken = await queue.claim("w2", 10, 1_000);
        expect(taken.map((j) => j.id)).toEqual([second!.id]);
        clock += 700;
        expect(await queue.claim("w3", 10, 1_000)).toEqual([]);
      });
    });

    describe("retry and dead letters", () => {
      it("runs a retried job again at its time, still ahead of later events of its key", async () => {
        await queue.enqueue([
          event("a", { payload: { n: 1 } }),
          event("a", { payload: { n: 2 } }),
        ]);
        const [job] = await queue.claim("w1", 10, 30_000);
        await queue.retry(job!, clock + 5_000, failure);
        expect(await queue.claim("w1", 10, 30_000)).toEqual([]);
        clock += 5_000;
        const again = await queue.claim("w1", 10, 30_000);
        expect(again.map((j) => [j.event.payload.n, j.attempt])).toEqual([
          [1, 2],
        ]);
        expect(await queue.depth()).toBe(2);
      });

      it("takes a dead-lettered job out of the queue and frees its key", async () => {
        await queue.enqueue([
          event("a", { payload: { n: 1 } }),
          event("a", { payload: { n: 2 } }),
        ]);
        const [job] = await queue.claim("w1", 10, 30_000);
        await queue.deadLetter(job!, { ...failure, errorClass: "permanent" });
        expect(await queue.depth()).toBe(1);
        const next = await queue.claim("w1", 10, 30_000);
        expect(next.map((j) => j.event.payload.n)).toEqual([2]);
        const stats = await store.eventStats(0);
        expect(stats.failed).toBe(1);
        expect(stats.pending).toBe(1);
      });
    });

    describe("rule tags", () => {
      it("replaces the rule tags of a link and keeps its other columns", async () => {
        await queue.enqueue([event("a")]);
        const [job] = await queue.claim("w1", 10, 30_000);
        const stored = link("g1", {
          tags: ["vip"],
          ruleTags: ["hot-lead"],
          sourceUpdatedAt: T0 - 5,
        });
        await queue.complete(job!, completion({ links: [stored] }));

        const saved = await store.saveRuleTags(
          "loc-1",
          "g1",
          ["hot-lead", "no-email"],
          T0 + 7,
        );
        expect(saved).toBe(true);
        expect(await store.getLink("contact", "loc-1", "g1")).toEqual({
          ...stored,
          ruleTags: ["hot-lead", "no-email"],
          updatedAt: T0 + 7,
        });

        await store.saveRuleTags("loc-1", "g1", [], T0 + 8);
        const cleared = await store.getLink("contact", "loc-1", "g1");
        expect(cleared?.ruleTags).toBeUndefined();
        expect(cleared?.tags).toEqual(["vip"]);
      });

      it("reports a contact without a link", async () => {
        expect(await store.saveRuleTags("loc-1", "none", ["x"], T0)).toBe(
          false,
        );
        expect(await store.getLink("contact", "loc-1", "none")).toBeNull();
      });
    });

    describe("operator state", () => {
      it("pauses, lists and resumes locations", async () => {
        const pause = {
          locationId: "loc-1",
          reason: "migrating the Coopel account",
          pausedBy: "admin (session)",
          pausedAt: T0,
        };
        await store.pauseLocation(pause);
        await store.pauseLocation({
          ...pause,
          reason: "again",
          pausedAt: T0 + 1,
        });
        expect(await store.listLocationPauses()).toEqual([
          { ...pause, reason: "again", pausedAt: T0 + 1 },
        ]);
        expect(await store.resumeLocation("loc-1")).toBe(true);
        expect(await store.resumeLocation("loc-1")).toBe(false);
        expect(await store.listLocationPauses()).toEqual([]);
      });

      it("records contact counts per location from the links", async () => {
        await queue.enqueue([event("a")]);
        const [job] = await queue.claim("w1", 10, 30_000);
        await queue.complete(
          job!,
          completion({
            links: [
              link("g1"),
              link("g2", { coopelId: null }),
              link("g3", { deletedAt: T0 }),
              link("g4", { ghlLocationId: "loc-2" }),
              link("t1", { entity: "task" }),
            ],
          }),
        );
        await store.recordContactCounts(T0 + 10);
        await store.recordContactCounts(T0 + 10);
        expect(await store.contactCounts(T0)).toEqual([
          {
            recordedAt: T0 + 10,
            locationId: "loc-1",
            ghlContacts: 2,
            coopelContacts: 1,
          },
          {
            recordedAt: T0 + 10,
            locationId: "loc-2",
            ghlContacts: 1,
            coopelContacts: 1,
          },
        ]);
        expect(await store.contactCounts(T0 + 11)).toEqual([]);
      });

      it("counts the requests of jobs by account and API", async () => {
        await queue.enqueue([
          event("a"),
          event("b", { accountId: "loc-2" }),
          event("c", { receivedAt: T0 - 5_000 }),
        ]);
        const jobs = await queue.claim("w1", 10, 30_000);
        const request = (api: string | undefined) => ({
          ...(api === undefined ? {} : { api }),
          method: "GET",
          path: "/x",
          status: 200,
          durationMs: 1,
        });
        for (const job of jobs)
          await queue.complete(
            job,
            completion({
              requests: [request("GHL"), request("Coopel"), request("Coopel")],
            }),
          );
        await queue.enqueue([event("d")]);
        const [retried] = await queue.claim("w1", 10, 30_000);
        await queue.retry(retried!, T0 + 60_000, {
          ...failure,
          requests: [request(undefined)],
        });

        expect(await store.apiUsage(T0)).toEqual([
          { accountId: "loc-1", api: "Coopel", requests: 2 },
          { accountId: "loc-1", api: "GHL", requests: 1 },
          { accountId: "loc-1", api: "unknown", requests: 1 },
          { accountId: "loc-2", api: "Coopel", requests: 2 },
          { accountId: "loc-2", api: "GHL", requests: 1 },
        ]);
      });
    });

    describe("source update times and run times", () => {
      it("keeps the source update time of a job and of a link", async () => {
        const given = event("a", { sourceUpdatedAt: T0 - 42 });
        await queue.enqueue([given]);
        const [job] = await queue.claim("w1", 10, 30_000);
        expect(job?.event).toEqual(given);
        const stamped = link("g1", { sourceUpdatedAt: T0 - 42 });
        await queue.complete(job!, completion({ links: [stamped] }));
        expect(await store.getLink("contact", "loc-1", "g1")).toEqual(stamped);
      });

      it("claims a job no earlier than its run time", async () => {
        await queue.enqueue([event("a", { runAt: T0 + 1_000 }), event("b")]);
        const first = await queue.claim("w1", 10, 30_000);
        expect(first.map((j) => j.event.orderingKey)).toEqual(["b"]);
        clock += 1_000;
        const later = await queue.claim("w1", 10, 30_000);
        expect(later.map((j) => j.event.orderingKey)).toEqual(["a"]);
      });
    });

    describe("coalescing", () => {
      const updates = { coalesceTypes: ["ContactUpdate"] };

      it("holds a held update for later ones, up to its limit", async () => {
        const held = (n: number, at: number) =>
          event("a", {
            receivedAt: at,
            runAt: at + 250,
            maxHoldMs: 1_000,
            payload: { n },
          });
        await queue.enqueue([held(1, T0)]);
        clock = T0 + 200;
        await queue.enqueue([held(2, clock)]);
        clock = T0 + 300;
        expect(await queue.claim("w1", 10, 30_000, updates)).toEqual([]);

        // Each later update pushes the wait back, but never past T0 + 1000.
        for (const at of [T0 + 400, T0 + 600, T0 + 800]) {
          clock = at;
          await queue.enqueue([held(at - T0, at)]);
          expect(await queue.claim("w1", 10, 30_000, updates)).toEqual([]);
        }
        clock = T0 + 1_000;
        const [merged] = await queue.claim("w1", 10, 30_000, updates);
        expect(merged?.event.payload.n).toBe(800);
        expect(await queue.depth()).toBe(1);
      });

      it("runs the newest of consecutive updates of a key with the merged payload", async () => {
        await queue.enqueue([
          event("a", {
            sourceUpdatedAt: T0 + 1,
            payload: { n: 1, first: "x" },
          }),
          event("a", { sourceUpdatedAt: T0 + 3, payload: { n: 3 } }),
          event("a", { sourceUpdatedAt: T0 + 2, payload: { n: 2, last: "y" } }),
          event("b", { payload: { n: 9 } }),
        ]);
        const jobs = await queue.claim("w1", 10, 30_000, updates);
        expect(
          jobs.map((j) => [j.event.orderingKey, j.event.payload, j.attempt]),
        ).toEqual([
          // The newest by source time wins over the last to arrive.
          ["a", { n: 3, first: "x", last: "y" }, 1],
          ["b", { n: 9 }, 1],
        ]);
        expect(jobs[0]!.event.sourceUpdatedAt).toBe(T0 + 3);
        expect(await queue.depth()).toBe(2);
        const stats = await store.eventStats(0);
        expect(stats.skipped).toBe(2);
        await queue.complete(jobs[0]!, completion());
        await queue.complete(jobs[1]!, completion());
        expect(await queue.claim("w1", 10, 30_000, updates)).toEqual([]);
        expect(await queue.depth()).toBe(0);
      });

      it("breaks ties by arrival, and keeps the highest attempt of the run", async () => {
        await queue.enqueue([
          event("a", { payload: { n: 1 } }),
          event("a", { payload: { n: 2 } }),
        ]);
        const [first] = await queue.claim("w1", 10, 30_000);
        await queue.retry(first!, clock, failure);
        const [merged] = await queue.claim("w1", 10, 30_000, updates);
        expect(merged?.event.payload).toEqual({ n: 2 });
        expect(merged?.attempt).toBe(2);
        expect(merged?.id).not.toBe(first!.id);
        await queue.complete(merged!, completion());
        expect(await queue.depth()).toBe(0);
      });

      it("never merges across a job of another type", async () => {
        await queue.enqueue([
          event("a", { payload: { n: 1 } }),
          event("a", { payload: { n: 2 } }),
          event("a", { type: "ContactDelete", payload: { n: 3 } }),
          event("a", { payload: { n: 4 } }),
          event("a", { payload: { n: 5 } }),
        ]);
        const seen: unknown[] = [];
        for (let round = 0; round < 5; round++) {
          const [job] = await queue.claim("w1", 10, 30_000, updates);
          if (!job) break;
          seen.push(job.event.payload.n);
          expect(await queue.claim("w2", 10, 30_000, updates)).toEqual([]);
          await queue.complete(job, completion());
        }
        expect(seen).toEqual([2, 3, 5]);
      });

      it("never hands one key to two concurrent claimers while merging", async () => {
        const events = Array.from({ length: 60 }, (_, i) =>
          event(`k${i % 6}`, {
            type: i % 7 === 0 ? "ContactDelete" : "ContactUpdate",
            payload: { [`f${i}`]: i, n: i },
          }),
        );
        await queue.enqueue(events);
        const last = new Map<string, number>();
        let finished = 0;
        for (let round = 0; round < 60 && (await queue.depth()) > 0; round++) {
          const claimed = (
            await Promise.all(
              ["w1", "w2", "w3"].map((w) => queue.claim(w, 4, 30_000, updates)),
            )
          ).flat();
          const keys = claimed.map((j) => j.event.orderingKey);
          expect(new Set(keys).size).toBe(keys.length);
          for (const job of claimed) {
            const n = job.event.payload.n as number;
            expect(n).toBeGreaterThan(last.get(job.event.orderingKey) ?? -1);
            last.set(job.event.orderingKey, n);
          }
          await Promise.all(
            claimed.map((j) => queue.complete(j, completion())),
          );
          finished += claimed.length;
        }
        expect(await queue.depth()).toBe(0);
        // Every key ends with its last event, and merging saved runs.
        expect([...last.values()].sort((a, b) => a - b)).toEqual([
          54, 55, 56, 57, 58, 59,
        ]);
        expect(finished).toBeLessThan(events.length);
      });

      it("merges nothing without coalescible types", async () => {
        await queue.enqueue([
          event("a", { payload: { n: 1 } }),
          event("a", { payload: { n: 2 } }),
        ]);
        const [first] = await queue.claim("w1", 10, 30_000);
        expect(first?.event.payload).toEqual({ n: 1 });
        await queue.complete(first!, completion());
        const [second] = await queue.claim("w1", 10, 30_000, {});
        expect(second?.event.payload).toEqual({ n: 2 });
      });
    });

    describe("account pauses", () => {
      const pause = (
        system: "ghl" | "coopel",
        accountId: string,
        retryAt = T0 + 60_000,
      ) => ({
        system,
        accountId,
        reason: "token_invalid",
        message: "HTTP 401",
        pausedAt: clock,
        retryAt,
      });

      it("holds only the paused account's jobs and gives the attempt back", async () => {
        await queue.enqueue([
          event("busy-1", { accountId: "busy", payload: { id: "1" } }),
          event("busy-2", { accountId: "busy", payload: { id: "2" } }),
        ]);
        const [first] = await queue.claim("w", 1, 10_000);
        await queue.pauseAccount(first!, pause("ghl", "busy"));
        expect(await queue.listPausedAccounts()).toEqual([
          pause("ghl", "busy"),
        ]);
        await queue.enqueue([event("calm-3", { accountId: "calm" })]);
        const claimed = await queue.claim("w", 10, 10_000);
        expect(claimed.map((job) => job.event.accountId)).toEqual(["calm"]);
        expect(await queue.resumeAccount("ghl", "busy")).toBe(true);
        expect(await queue.resumeAccount("ghl", "busy")).toBe(false);
        expect(await queue.listPausedAccounts()).toEqual([]);
        const after = await queue.claim("w", 10, 10_000);
        expect(after.map((job) => job.event.payload.id)).toEqual(["1", "2"]);
        expect(after[0]!.attempt).toBe(1);
      });

      it("holds every GHL job while a Coopel account is paused, and no Coopel job of another account", async () => {
        await queue.enqueue([
          event("g", { source: "ghl", accountId: "loc-1" }),
          event("c1", { source: "coopel", accountId: "acct-1" }),
          event("c2", { source: "coopel", accountId: "acct-2" }),
        ]);
        const [ghlJob] = await queue.claim("w", 1, 10_000);
        expect(ghlJob?.event.orderingKey).toBe("g");
        await queue.pauseAccount(ghlJob!, pause("coopel", "acct-1"));
        const claimed = await queue.claim("w", 10, 10_000);
        expect(claimed.map((job) => job.event.orderingKey)).toEqual(["c2"]);
      });

      it("delays a Coopel job that met a GHL pause until its retry time", async () => {
        await queue.enqueue([
          event("c", { source: "coopel", accountId: "acct-1" }),
        ]);
        const [coopelJob] = await queue.claim("w", 1, 10_000);
        await queue.pauseAccount(coopelJob!, pause("ghl", "loc-1", T0 + 5_000));
        expect(await queue.claim("w", 10, 10_000)).toEqual([]);
        clock = T0 + 5_000;
        const [again] = await queue.claim("w", 10, 10_000);
        expect(again?.id).toBe(coopelJob!.id);
        expect(again?.attempt).toBe(1);
      });

      it("claims again from the retry time, and clears the pause when a job then completes", async () => {
        await queue.enqueue([event("a", { accountId: "busy" })]);
        const [job] = await queue.claim("w", 1, 10_000);
        await queue.pauseAccount(job!, pause("ghl", "busy", T0 + 5_000));
        expect(await queue.claim("w", 10, 10_000)).toEqual([]);
        clock = T0 + 5_000;
        expect(await queue.listPausedAccounts()).toEqual([]);
        const [again] = await queue.claim("w", 10, 10_000);
        expect(again?.id).toBe(job!.id);
        // A second pause while the first holds keeps the first pause time.
        await queue.pauseAccount(again!, {
          ...pause("ghl", "busy", T0 + 20_000),
          pausedAt: T0 + 5_000,
        });
        const [pauseAgain] = await queue.listPausedAccounts();
        expect(pauseAgain?.pausedAt).toBe(T0 + 5_000);
        clock = T0 + 20_000;
        const [third] = await queue.claim("w", 10, 10_000);
        await queue.complete(third!, completion());
        // Cleared, not just due: a later clock still finds no pause to lift.
        expect(await queue.resumeAccount("ghl", "busy")).toBe(false);
      });
    });

    describe("dead-letter list", () => {
      async function killAll(
        keys: string[],
        errorClass: "permanent" | "account",
      ) {
        await queue.enqueue(
          keys.map((k, i) =>
            event(k, {
              accountId: i % 2 === 0 ? "loc-1" : "loc-2",
              type: i === 0 ? "ContactCreate" : "ContactUpdate",
            }),
          ),
        );
        const jobs = await queue.claim("w", keys.length, 10_000);
        for (const job of jobs) {
          clock += 10;
          await queue.deadLetter(job, {
            errorClass,
            message: `gave up on ${job.event.orderingKey}`,
            requests: [
              { method: "POST", path: "/contacts", status: 400, durationMs: 5 },
            ],
          });
        }
        return jobs;
      }

      it("lists dead jobs with their failure, filtered", async () => {
        const jobs = await killAll(["a", "b", "c"], "permanent");
        const all = await queue.listDeadLetters({});
        expect(all).toEqual(
          jobs.map((job, i) => ({
            id: job.id,
            event: job.event,
            errorClass: "permanent",
            lastError: `gave up on ${job.event.orderingKey}`,
            requests: [
              { method: "POST", path: "/contacts", status: 400, durationMs: 5 },
            ],
            attempts: 1,
            finishedAt: T0 + 10 * (i + 1),
          })),
        );
        const ids = (filter: Parameters<Queue["listDeadLetters"]>[0]) =>
          queue
            .listDeadLetters(filter)
            .then((list) => list.map((d) => d.event.orderingKey));
        expect(await ids({ accountId: "loc-2" })).toEqual(["b"]);
        expect(await ids({ type: "ContactUpdate" })).toEqual(["b", "c"]);
        expect(await ids({ since: T0 + 20 })).toEqual(["b", "c"]);
        expect(await ids({ ids: [jobs[2]!.id, "no-such-id"] })).toEqual(["c"]);
        expect(await ids({ ids: [] })).toEqual([]);
        expect(await ids({ errorClass: "account" })).toEqual([]);
        expect(await ids({ limit: 2 })).toEqual(["a", "b"]);
      });

      it("replays matching dead jobs once, as repeats", async () => {
        await killAll(["a", "b", "c"], "permanent");
        expect(
          await queue.replayDeadLetters({ type: "ContactUpdate", limit: 1 }),
        ).toBe(1);
        expect(await queue.replayDeadLetters({ accountId: "loc-1" })).toBe(2);
        expect(await queue.replayDeadLetters({})).toBe(0);
        expect(await queue.listDeadLetters({})).toEqual([]);
        const jobs = await queue.claim("w", 10, 10_000);
        expect(jobs.map((j) => [j.event.orderingKey, j.attempt])).toEqual([
          ["a", 2],
          ["b", 2],
          ["c", 2],
        ]);
      });

      it("runs a replayed job ahead of later events of its key, after the running one", async () => {
        await queue.enqueue([
          event("a", { payload: { n: 1 } }),
          event("a", { payload: { n: 2 } }),
          event("a", { payload: { n: 3 } }),
        ]);
        const [dead] = await queue.claim("w", 10, 10_000);
        await queue.deadLetter(dead!, { ...failure, errorClass: "permanent" });
        const [running] = await queue.claim("w", 10, 10_000);
        expect(running?.event.payload.n).toBe(2);
        expect(await queue.replayDeadLetters({ ids: [dead!.id] })).toBe(1);
        expect(await queue.claim("w", 10, 10_000)).toEqual([]);
        await queue.complete(running!, completion());
        const order: unknown[] = [];
        for (let round = 0; round < 3; round++) {
          const jobs = await queue.claim("w", 10, 10_000);
          expect(jobs.length).toBeLessThanOrEqual(1);
          if (jobs.length === 0) break;
          order.push(jobs[0]!.event.payload.n);
          await queue.complete(jobs[0]!, completion());
        }
        expect(order).toEqual([1, 3]);
        expect(await queue.depth()).toBe(0);
      });
    });

    describe("two-way state", () => {
      it("round-trips GHL hashes and finds a link by Coopel id", async () => {
        await queue.enqueue([event("a")]);
        const [job] = await queue.claim("w1", 10, 30_000);
        const withHashes = link("g1", {
          ghlFieldHashes: { email: "h1" },
          coopelTags: ["vip", "Grüße"],
        });
        await queue.complete(job!, completion({ links: [withHashes] }));
        expect(await store.getLink("contact", "loc-1", "g1")).toEqual(
          withHashes,
        );
        const found = await adapters.twoWay.getLinkByCoopelId(
          "contact",
          withHashes.coopelAccountId,
          withHashes.coopelId!,
        );
        expect(found).toEqual(withHashes);
        expect(
          await adapters.twoWay.getLinkByCoopelId(
            "contact",
            withHashes.coopelAccountId,
            "missing",
          ),
        ).toBeNull();
      });

      it("replaces, reads and clears write intents per side", async () => {
        const { twoWay } = adapters;
        const intent = {
          side: "ghl" as const,
          accountId: "loc-1",
          recordKey: "c1",
          hashes: { email: "h1" },
          createdAt: T0,
        };
        await twoWay.recordWriteIntent(intent);
        await twoWay.recordWriteIntent({
          ...intent,
          hashes: { email: "h2" },
          createdAt: T0 + 1,
        });
        await twoWay.recordWriteIntent({ ...intent, side: "coopel" });
        const read = await twoWay.getWriteIntents("ghl", "loc-1", ["c1", "c2"]);
        expect(read).toEqual([
          { ...intent, hashes: { email: "h2" }, createdAt: T0 + 1 },
        ]);
        await twoWay.clearWriteIntents("ghl", "loc-1", ["c1"]);
        expect(await twoWay.getWriteIntents("ghl", "loc-1", ["c1"])).toEqual(
          [],
        );
        expect(
          await twoWay.getWriteIntents("coopel", "loc-1", ["c1"]),
        ).toHaveLength(1);
      });

      it("stores each conflict once and lists newest first", async () => {
        const { twoWay } = adapters;
        const conflict = {
          entity: "contact" as const,
          ghlLocationId: "loc-1",
          ghlId: "g1",
          coopelAccountId: "acc",
          coopelId: "c1",
          field: "email",
          ghlValue: "a@example.com",
          coopelValue: "b@example.com",
          ghlUpdatedAt: T0,
          coopelUpdatedAt: T0 + 5,
          winner: "coopel" as const,
          rule: "last_writer",
          detectedAt: T0 + 10,
        };
        expect(await twoWay.addConflict(conflict)).toBe(true);
        expect(await twoWay.addConflict(conflict)).toBe(false);
        expect(
          await twoWay.addConflict({
            ...conflict,
            field: "phone",
            ghlValue: null,
            detectedAt: T0 + 20,
          }),
        ).toBe(true);
        const listed = await twoWay.listConflicts({ limit: 10 });
        expect(listed.map((c) => c.field)).toEqual(["phone", "email"]);
        expect(listed[1]).toEqual({ ...conflict, id: listed[1]!.id });
        expect(listed[0]!.ghlValue).toBeNull();
        expect(
          await twoWay.listConflicts({ limit: 10, since: T0 + 15 }),
        ).toHaveLength(1);
        const email = await twoWay.listConflicts({ limit: 10, field: "email" });
        expect(email.map((c) => c.field)).toEqual(["email"]);
        expect(
          await twoWay.listConflicts({ limit: 10, field: "city" }),
        ).toEqual([]);
      });

      it("saves and replaces poll cursors", async () => {
        const { twoWay } = adapters;
        expect(await twoWay.getCursor("coopel:contacts")).toBeNull();
        await twoWay.saveCursor("coopel:contacts", "100");
        await twoWay.saveCursor("coopel:contacts", "200");
        expect(await twoWay.getCursor("coopel:contacts")).toBe("200");
      });
    });

    describe("links", () => {
      it("round-trips tag state and parent ids", async () => {
        await queue.enqueue([event("a")]);
        const [job] = await queue.claim("w1", 10, 30_000);
        const tagged = link("g1", {
          tags: ["VIP", "Grüße 👋"],
          ruleTags: ["hot-lead"],
        });
        const task = link("t1", { entity: "task", parentGhlId: "g1" });
        await queue.complete(job!, completion({ links: [tagged, task] }));
        expect(await store.getLink("contact", "loc-1", "g1")).toEqual(tagged);
        expect(await store.getLink("task", "loc-1", "t1")).toEqual(task);
        expect(await store.getLink("contact", "loc-1", "t1")).toBeNull();
      });

      it("stores the links of a completed job with the job, and reads them back", async () => {
        await queue.enqueue([event("a")]);
        const [job] = await queue.claim("w1", 10, 30_000);
        await queue.complete(
          job!,
          completion({
            links: [
              link("g2"),
              link("g1", {
                coopelId: null,
                deletedAt: T0 + 1,
                fieldHashes: {},
              }),
              link("g3", { ghlLocationId: "loc-2" }),
            ],
          }),
        );
        expect(await store.getLink("contact", "loc-1", "g2")).toEqual(
          link("g2"),
        );
        expect(await store.getLink("contact", "loc-1", "g1")).toEqual(
          link("g1", { coopelId: null, deletedAt: T0 + 1, fieldHashes: {} }),
        );
        expect(await store.getLink("contact", "loc-1", "missing")).toBeNull();
        expect(await store.getLink("contact", "loc-2", "g2")).toBeNull();
        expect(
          (await store.listLinks("contact", "loc-1")).map((l) => l.ghlId),
        ).toEqual(["g1", "g2"]);
        expect(await queue.depth()).toBe(0);
      });

      it("replaces a link on the next completion", async () => {
        await queue.enqueue([event("a"), event("a")]);
        const [first] = await queue.claim("w1", 10, 30_000);
        await queue.complete(first!, completion({ links: [link("g1")] }));
        const [second] = await queue.claim("w1", 10, 30_000);
        const changed = link("g1", {
          fieldHashes: { email: "h9" },
          deletedAt: T0 + 10,
          updatedAt: T0 + 10,
        });
        await queue.complete(second!, completion({ links: [changed] }));
        expect(await store.getLink("contact", "loc-1", "g1")).toEqual(changed);
        expect(await store.listLinks("contact", "loc-1")).toEqual([changed]);
      });

      it("refuses a second link to the same Coopel record, leaving the job to run again", async () => {
        await queue.enqueue([event("a"), event("b")]);
        const [a, b] = await queue.claim("w1", 10, 30_000);
        await queue.complete(
          a!,
          completion({ links: [link("g1", { coopelId: "same" })] }),
        );
        await expect(async () =>
          queue.complete(
            b!,
            completion({ links: [link("g2", { coopelId: "same" })] }),
          ),
        ).rejects.toThrow();
        expect(await store.getLink("contact", "loc-1", "g2")).toBeNull();
        expect(await queue.depth()).toBe(1);
      });
    });

    describe("event stats", () => {
      it("counts outcomes and measures the time to write from receipt", async () => {
        await queue.enqueue([
          event("a", { receivedAt: T0 }),
          event("b", { receivedAt: T0 }),
          event("c", { receivedAt: T0 }),
          event("d", { receivedAt: T0 }),
          event("e", { receivedAt: T0 - 60_000 }),
          event("f", { receivedAt: T0 }),
        ]);
        const jobs = await queue.claim("w1", 10, 30_000);
        const byKey = new Map(jobs.map((j) => [j.event.orderingKey, j]));
        clock = T0 + 100;
        await queue.complete(byKey.get("a")!, completion());
        clock = T0 + 300;
        await queue.complete(byKey.get("b")!, completion());
        await queue.complete(
          byKey.get("c")!,
          completion({ outcome: "skipped", reason: "no_change", requests: [] }),
        );
        await queue.complete(
          byKey.get("e")!,
          completion({
            outcome: "ignored",
            reason: "unsupported_type",
            requests: [],
          }),
        );
        await queue.complete(
          byKey.get("f")!,
          completion({
            outcome: "unsupported",
            reason: "unsupported:create_note",
            requests: [],
          }),
        );
        const stats = await store.eventStats(T0 - 1);
        expect(stats).toEqual({
          received: 5,
          pending: 1,
          synced: 2,
          skipped: 1,
          ignored: 0,
          unsupported: 1,
          failed: 0,
          wrote: 2,
          writeLatencyP50Ms: 300,
          writeLatencyP99Ms: 300,
        });
        const all = await store.eventStats(0);
        expect(all.received).toBe(6);
        expect(all.ignored).toBe(1);
      });

      it("reports no latency when nothing wrote", async () => {
        const stats = await store.eventStats(0);
        expect(stats.received).toBe(0);
        expect(stats.writeLatencyP50Ms).toBeNull();
        expect(stats.writeLatencyP99Ms).toBeNull();
      });
    });
  });
}

async function waitUntil(
  check: () => boolean,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
