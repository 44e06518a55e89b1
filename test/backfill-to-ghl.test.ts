import { afterEach, describe, expect, it } from "vitest";
import { CoopelRestClient } from "../src/connectors/coopel/client.js";
import { GhlRestApi } from "../src/connectors/ghl/api.js";
import {
  GhlHttpClient,
  StaticTokenSource,
} from "../src/connectors/ghl/client.js";
import { Backfill, type BackfillOptions } from "../src/engine/backfill.js";
import type { CoopelRecord, Logger } from "../src/engine/ports.js";
import { ContactMapping } from "../src/mapping/contact-mapping.js";
import { openStorage } from "../src/runtime/service.js";
import { startFirstSync, type FirstSyncSetup } from "./helpers/first-sync.js";
import { GHL_TOKEN, LOCATION_ID } from "./helpers/harness.js";

let setup: FirstSyncSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

const silent: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};

/** Maps a Coopel contact to GHL fields for the test: first name, email and phone. */
function toGhl(record: CoopelRecord) {
  return {
    fields: {
      firstName: record.first_name,
      email: record.email,
      phone: record.phone,
    },
  };
}

describe("backfill of Coopel-only contacts", () => {
  it("creates them on GHL once and links them", async () => {
    setup = await startFirstSync();
    const s = setup;
    s.ghl.setAllowDuplicates(LOCATION_ID, false);
    s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Both",
      email: "both@example.com",
    });
    s.coopel.userCreateContact({
      first_name: "Both",
      email: "both@example.com",
    });
    const only = s.coopel.userCreateContact({
      first_name: "Only",
      email: "only@example.com",
      phone: "+14155550111",
    });
    // Without email and phone nothing could find it again, so it is left out.
    s.coopel.userCreateContact({ first_name: "Nameless" });
    // GHL has this email under another contact that a person must match.
    s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Ann",
      email: "ann@example.com",
    });
    s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Ann B",
      email: "ann@example.com",
    });
    s.coopel.userCreateContact({ first_name: "Ann", email: "ann@example.com" });

    const config = s.loaded().config;
    const storage = await openStorage(config, s.dir);
    const options = (dryRun: boolean): BackfillOptions => ({
      ghl: new GhlRestApi(
        new GhlHttpClient({
          baseUrl: s.ghl.url,
          apiVersion: "2021-07-28",
          timeoutMs: 5000,
          tokens: new StaticTokenSource([
            { id: LOCATION_ID, token: GHL_TOKEN },
          ]),
        }),
      ),
      coopel: new CoopelRestClient(config.coopel),
      state: storage.syncState,
      mapping: new ContactMapping(config.mapping),
      enrich: (_location, record) => Promise.resolve(record),
      logger: silent,
      locationId: LOCATION_ID,
      pageLimit: 100,
      coopelPageSize: 100,
      ghlRequestLimit: 1000,
      concurrency: 4,
      syncTags: true,
      dryRun,
      confirmEmptyAfterMs: 0,
      createOnGhl: toGhl,
    });
    try {
      const plan = await new Backfill(options(true)).run();
      expect(plan.createdOnGhl).toBe(1);
      expect(s.writes()).toEqual({ ghl: 0, coopel: 0 });

      const summary = await new Backfill(options(false)).run();
      expect(summary.createdOnGhl).toBe(1);
      expect(summary.review).toBe(2);
      const ghlContacts = [...s.ghl.contacts.get(LOCATION_ID)!.values()];
      const created = ghlContacts.filter((c) => c.email === "only@example.com");
      expect(created).toHaveLength(1);
      expect(created[0]!.phone).toBe("+14155550111");
      expect(ghlContacts.some((c) => c.firstName === "Nameless")).toBe(false);
      expect(s.coopel.contacts.get(only.id)!.external_id).toBe(created[0]!.id);
      const links = await storage.store.listLinks("contact", LOCATION_ID);
      expect(links.find((l) => l.coopelId === only.id)?.ghlId).toBe(
        created[0]!.id,
      );

      // A second run finds it linked and creates nothing on either side.
      const again = await new Backfill(options(false)).run();
      expect(again.createdOnGhl).toBe(0);
      expect(again.created).toBe(0);
      expect(
        [...s.ghl.contacts.get(LOCATION_ID)!.values()].filter(
          (c) => c.email === "only@example.com",
        ),
      ).toHaveLength(1);
    } finally {
      await storage.queue.close();
      await storage.store.close();
    }
  }, 60_000);

  it("creates them on GHL through the CLI when two-way", async () => {
    setup = await startFirstSync({
      sync: { contacts: { direction: "two_way" } },
    });
    const s = setup;
    s.ghl.setAllowDuplicates(LOCATION_ID, false);
    const linked = s.ghl.userCreateContact(LOCATION_ID, {
      firstName: "Both",
      email: "both@example.com",
    });
    s.coopel.userCreateContact({
      first_name: "Both",
      email: "both@example.com",
    });
    const only = s.coopel.userCreateContact({
      first_name: "Olga",
      last_name: "Only",
      email: "OLGA@example.com",
      phone: "+1 415 555 0111",
      tags: ["vip"],
    });
    const nameless = s.coopel.userCreateContact({ first_name: "Nameless" });

    const plan = await s.cli(["backfill", "--dry-run", "--json"]);
    expect(plan.stderr).toBe("");
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout).createdOnGhl).toBe(1);
    expect(s.writes()).toEqual({ ghl: 0, coopel: 0 });

    const first = await s.cli(["backfill", "--json"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout) as Record<string, number>;
    expect(summary.createdOnGhl).toBe(1);
    expect(summary.linkedByEmail).toBe(1);
    expect(summary.failed).toBe(0);

    const ghlContacts = [...s.ghl.contacts.get(LOCATION_ID)!.values()];
    expect(ghlContacts).toHaveLength(2);
    const created = ghlContacts.find((c) => c.id !== linked.id)!;
    expect(created.firstName).toBe("Olga");
    expect(created.lastName).toBe("Only");
    expect(created.email).toBe("olga@example.com");
    expect(created.phone).toBe("+14155550111");
    expect(created.tags).toEqual(["vip"]);
    const creates = s.ghl.requests.filter(
      (r) => r.method === "POST" && r.path === "/contacts/",
    );
    expect(creates).toHaveLength(1);
    expect(s.coopel.contacts.get(only.id)!.external_id).toBe(created.id);
    expect(s.coopel.contacts.get(nameless.id)!.external_id).toBeUndefined();
    const links = await s.links();
    expect(links).toHaveLength(2);
    const createdLink = links.find((l) => l.coopelId === only.id);
    expect(createdLink?.ghlId).toBe(created.id);
    expect(Object.keys(createdLink?.fieldHashes ?? {})).toEqual(
      expect.arrayContaining(["first_name", "last_name", "email", "phone"]),
    );
    expect(createdLink?.tags).toEqual(["vip"]);

    // A second run finds every pair linked and writes nothing on either side.
    const writesBefore = s.writes();
    const second = await s.cli(["backfill", "--json"]);
    expect(second.code).toBe(0);
    const again = JSON.parse(second.stdout) as Record<string, number>;
    expect(again.createdOnGhl).toBe(0);
    expect(again.created).toBe(0);
    expect(again.alreadyLinked).toBe(2);
    expect(s.writes()).toEqual(writesBefore);
    expect(s.ghl.contacts.get(LOCATION_ID)!.size).toBe(2);

    // Reconcile finds both pairs equal. It still reports the contact that
    // backfill left out for lack of email and phone, for a person to decide.
    const reconcile = await s.cli(["reconcile", "--json"]);
    expect(reconcile.code).toBe(1);
    const report = JSON.parse(reconcile.stdout) as {
      findings: { kind: string; coopelId?: string }[];
      summary: { compared: number; inSync: number; differences: number };
    };
    expect(report.summary.compared).toBe(2);
    expect(report.summary.inSync).toBe(2);
    expect(report.summary.differences).toBe(1);
    expect(report.findings).toEqual([
      expect.objectContaining({ kind: "coopel_only", coopelId: nameless.id }),
    ]);
  }, 90_000);
});
