import { afterEach, describe, expect, it } from "vitest";
import { LOCATION_ID, startHarness, type Harness } from "./helpers/harness.js";

const SECRET = "coopel-webhook-secret-0123456789";
const CONTACTS = 100;
const EDITS = 1000;
let harness: Harness | null = null;

afterEach(async () => {
  await harness?.close();
  harness = null;
});

async function settle(h: Harness): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    await h.coopel.flushWebhooks();
    await h.ghl.flushApiWriteWebhooks();
    await h.waitForIdle(120_000);
  }
}

/** Lists every event received since `since`, paging through the store's 1,000-event pages. */
async function allEventsSince(h: Harness, since: number) {
  const all = [];
  let beforeId: string | undefined;
  for (;;) {
    const page = await h.service.store.listEvents({
      limit: 1000,
      since,
      beforeId,
    });
    all.push(...page);
    if (page.length < 1000) return all;
    beforeId = page.at(-1)!.id;
  }
}

describe("two-way flood", () => {
  it(
    "1,000 alternating edits: no echo writes, sides equal",
    { timeout: 300_000 },
    async () => {
      const h = await startHarness({
        sync: { contacts: { direction: "two_way" } },
        mapping: { default_country: "US" },
        coopel: { webhooks: { secret: SECRET } },
        // The flood is about echoes, not budgets: at GHL's real 100 per 10 s
        // its GHL reads and writes alone would take minutes.
        ghl: { rate_limit: { requests: 5000, per_ms: 1000 } },
        worker: { concurrency: 8, max_attempts: 8 },
      });
      harness = h;
      h.coopel.setWebhookTarget({
        url: `${h.service.url}/webhooks/coopel`,
        secret: SECRET,
      });
      h.ghl.setApiWriteWebhooks(`${h.service.url}/webhooks/ghl`);

      const coopelIds: string[] = [];
      for (let i = 0; i < CONTACTS; i += 1)
        coopelIds.push(
          h.coopel.userCreateContact({
            first_name: `First${i}`,
            last_name: `Last${i}`,
            email: `flood${i}@example.com`,
          }).id,
        );
      await settle(h);
      const ghlIdOf = new Map<string, string>();
      for (const coopelId of coopelIds) {
        const link = await h.service.twoWay.getLinkByCoopelId(
          "contact",
          "default",
          coopelId,
        );
        ghlIdOf.set(coopelId, link!.ghlId);
      }
      expect(ghlIdOf.size).toBe(CONTACTS);
      const ghlPutsBefore = h.ghl.countRequests("PUT", "/contacts/:contactId");
      const coopelPutsBefore = h.coopel.countRequests(
        "PUT",
        "/contacts/:contactId",
      );
      const startedAt = Date.now();

      // Edit i goes to contact floor(i / 2), so each GHL edit is followed at
      // once by a Coopel edit of the same contact. Every fifth pair edits
      // the same field on both sides, which is a conflict.
      let ghlEdits = 0;
      let coopelEdits = 0;
      const batch: Promise<unknown>[] = [];
      for (let i = 0; i < EDITS; i += 1) {
        const coopelId = coopelIds[Math.floor(i / 2) % CONTACTS]!;
        const ghlId = ghlIdOf.get(coopelId)!;
        const pair = Math.floor(i / 2);
        const sameField = pair % 5 === 0;
        if (i % 2 === 0) {
          const updated = h.ghl.userUpdateContact(LOCATION_ID, ghlId, {
            firstName: `G${i}`,
          });
          ghlEdits += 1;
          batch.push(h.post({ ...updated, type: "ContactUpdate" }));
        } else {
          h.coopel.userUpdateContact(
            coopelId,
            sameField ? { first_name: `C${i}` } : { last_name: `C${i}` },
          );
          coopelEdits += 1;
        }
        if (batch.length >= 25) {
          const responses = (await Promise.all(batch.splice(0))) as Response[];
          for (const response of responses) expect(response.status).toBe(200);
        }
      }
      await Promise.all(batch);
      await settle(h);
      const elapsedMs = Date.now() - startedAt;

      // Both sides equal at the end.
      const differing: string[] = [];
      for (const coopelId of coopelIds) {
        const coopel = h.coopel.contacts.get(coopelId)!;
        const ghl = h.ghl.contacts
          .get(LOCATION_ID)!
          .get(ghlIdOf.get(coopelId)!)!;
        if (
          coopel.first_name !== ghl.firstName ||
          coopel.last_name !== ghl.lastName ||
          coopel.email !== ghl.email
        )
          differing.push(
            `${coopelId}: ${String(coopel.first_name)}/${String(coopel.last_name)} vs ${ghl.firstName}/${ghl.lastName}`,
          );
      }
      expect(differing).toEqual([]);

      // No echo wrote anything: each edit causes at most one write to the other side.
      const ghlPuts =
        h.ghl.countRequests("PUT", "/contacts/:contactId") - ghlPutsBefore;
      const coopelPuts =
        h.coopel.countRequests("PUT", "/contacts/:contactId") -
        coopelPutsBefore;
      expect(ghlPuts).toBeLessThanOrEqual(coopelEdits);
      expect(coopelPuts).toBeLessThanOrEqual(ghlEdits);
      expect(h.ghl.countRequests("POST", "/contacts/")).toBe(CONTACTS);
      const events = await allEventsSince(h, startedAt);
      const echoes = events.filter((event) => event.reason === "echo");
      expect(echoes.length).toBeGreaterThan(0);
      for (const echo of echoes) {
        const detail = await h.service.store.getEvent(echo.id);
        expect(detail!.requests.filter((r) => r.method !== "GET")).toEqual([]);
      }
      expect(events.filter((event) => event.outcome === "failed")).toEqual([]);

      // Conflicts follow the last-writer rule.
      const conflicts = await h.service.twoWay.listConflicts({
        limit: 10_000,
        since: startedAt,
      });
      for (const conflict of conflicts) {
        expect(conflict.rule).toBe("last_writer");
        expect(conflict.field).toBe("first_name");
        const coopelLater =
          (conflict.coopelUpdatedAt ?? -Infinity) >
          (conflict.ghlUpdatedAt ?? -Infinity);
        expect(conflict.winner).toBe(coopelLater ? "coopel" : "ghl");
      }
      console.log(
        `flood: ${EDITS} edits in ${elapsedMs} ms, ${events.length} events, ${echoes.length} echoes dropped, ${ghlPuts} GHL PUTs, ${coopelPuts} Coopel PUTs, ${conflicts.length} conflicts`,
      );
    },
  );
});
