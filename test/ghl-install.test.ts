import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { ConfigInput } from "../src/config/schema.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";
import {
  fixture,
  startHarness,
  testConfig,
  type Harness,
} from "./helpers/harness.js";

const NEW_LOCATION = "locBulkNew0000000001";
const CONNECTED_LOCATION = "locBulkOld0000000001";
const PAUSED_LOCATION = "locPaused00000000001";
const COMPANY = "companyBulk000000001";
const CLIENT = {
  clientId: "app42-install-test",
  clientSecret: "install-test-client-secret",
};

process.env.GHL_COOPEL_SYNC_ENCRYPTION_KEY = randomBytes(32).toString("base64");

let harness: Harness | undefined;
let ghl: GhlSandbox | undefined;

afterEach(async () => {
  await harness?.close();
  await ghl?.close();
  harness = undefined;
  ghl = undefined;
});

async function start(
  extraLocations: NonNullable<ConfigInput["ghl"]>["locations"] = [],
): Promise<{ harness: Harness; ghl: GhlSandbox }> {
  ghl = await startGhlSandbox({
    locations: [
      { id: NEW_LOCATION, token: "sandbox-only-1" },
      { id: CONNECTED_LOCATION, token: "sandbox-only-2" },
      { id: PAUSED_LOCATION, token: "sandbox-only-3" },
    ],
    oauth: CLIENT,
    logger: false,
  });
  const webhooks = testConfig("", "http://127.0.0.1").ghl!.webhooks;
  harness = await startHarness({
    ghl: {
      base_url: ghl.url,
      locations: extraLocations,
      webhooks,
      oauth: {
        client_id: CLIENT.clientId,
        client_secret: CLIENT.clientSecret,
        redirect_uri: "http://127.0.0.1/oauth/callback",
      },
    },
  });
  return { harness, ghl };
}

async function callback(h: Harness, code: string): Promise<Response> {
  return fetch(
    `${h.service.url}/oauth/callback?code=${encodeURIComponent(code)}`,
  );
}

function contactCreate(locationId: string, id: string, email: string) {
  return {
    ...fixture("ContactCreate"),
    locationId,
    id,
    email,
    webhookId: `wh-${id}`,
  };
}

async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("app installs", () => {
  it("bulk install with INSTALL before the callback", async () => {
    const { harness: h, ghl: sandbox } = await start();
    // A location connected earlier by the location-level OAuth flow.
    const first = await callback(
      h,
      sandbox.issueAuthorizationCode(CONNECTED_LOCATION),
    );
    expect(first.status).toBe(200);
    const before = await h.service.connections.getConnection(
      "location",
      CONNECTED_LOCATION,
    );
    expect(before?.status).toBe("active");

    // 1. INSTALL for the new location, before any token exists for it.
    const install = await h.post({
      ...fixture("AppInstall"),
      locationId: NEW_LOCATION,
      companyId: COMPANY,
      webhookId: "wh-install-1",
    });
    expect(install.status).toBe(200);
    expect(await h.service.connections.listPendingInstalls()).toEqual([
      expect.objectContaining({ locationId: NEW_LOCATION, companyId: COMPANY }),
    ]);

    // 2. A contact from that location: kept, not dropped.
    const contact = await h.post(
      contactCreate(NEW_LOCATION, "contactBulk1", "bulk@example.com"),
    );
    expect(contact.status).toBe(200);
    expect(await contact.json()).toEqual({ status: "accepted" });

    // 3. The callback brings a company token without locationId.
    const bulk = await callback(
      h,
      sandbox.issueCompanyAuthorizationCode(COMPANY, [
        NEW_LOCATION,
        CONNECTED_LOCATION,
      ]),
    );
    expect(bulk.status).toBe(200);
    expect(await bulk.text()).toContain(
      "1 location(s) connected, 1 already connected",
    );

    // GHL delivers the INSTALL again: nothing more is minted.
    const again = await h.post({
      ...fixture("AppInstall"),
      locationId: NEW_LOCATION,
      companyId: COMPANY,
      webhookId: "wh-install-2",
    });
    expect(again.status).toBe(200);

    expect(sandbox.countRequests("POST", "/oauth/locationToken")).toBe(1);
    expect(sandbox.countRequests("GET", "/oauth/installedLocations")).toBe(1);
    const connections = await h.service.connections.listConnections();
    const byLocation = connections.filter(
      (c) => c.kind === "location" && c.id === NEW_LOCATION,
    );
    expect(byLocation).toHaveLength(1);
    expect(byLocation[0]).toMatchObject({
      status: "active",
      companyId: COMPANY,
    });
    const after = await h.service.connections.getConnection(
      "location",
      CONNECTED_LOCATION,
    );
    expect(after?.version).toBe(before?.version);
    expect(await h.service.connections.listPendingInstalls()).toEqual([]);

    // The minted token works against GHL.
    const token = await h.service.ghlTokens.getToken(NEW_LOCATION);
    const read = await fetch(`${sandbox.url}/contacts/missing`, {
      headers: { authorization: `Bearer ${token}`, version: "2021-07-28" },
    });
    expect(read.status).not.toBe(401);

    // The contact kept in step 2 is synced.
    await h.waitForIdle();
    const emails = [...h.coopel.contacts.values()].map((c) => c.email);
    expect(emails).toEqual(["bulk@example.com"]);
  });

  it("INSTALL after the agency is connected mints at once", async () => {
    const { harness: h, ghl: sandbox } = await start();
    await callback(
      h,
      sandbox.issueCompanyAuthorizationCode(COMPANY, [CONNECTED_LOCATION]),
    );
    sandbox.issueCompanyAuthorizationCode(COMPANY, [NEW_LOCATION]);
    const install = await h.post({
      type: "INSTALL",
      appId: "app42",
      locationId: NEW_LOCATION,
      companyId: COMPANY,
      webhookId: "wh-install-late",
    });
    expect(install.status).toBe(200);
    expect(
      (await h.service.connections.getConnection("location", NEW_LOCATION))
        ?.status,
    ).toBe("active");
    expect(sandbox.countRequests("POST", "/oauth/locationToken")).toBe(2);
  });

  it("UNINSTALL deletes the location's tokens", async () => {
    const { harness: h, ghl: sandbox } = await start();
    await callback(h, sandbox.issueAuthorizationCode(NEW_LOCATION));
    const response = await h.post({
      ...fixture("AppUninstall"),
      locationId: NEW_LOCATION,
      webhookId: "wh-uninstall",
    });
    expect(response.status).toBe(200);
    expect(
      await h.service.connections.getConnection("location", NEW_LOCATION),
    ).toBeNull();
    const contact = await h.post(
      contactCreate(NEW_LOCATION, "contactAfterUninstall", "gone@example.com"),
    );
    expect(await contact.json()).toEqual({
      status: "ignored",
      reason: "location unknown",
    });
  });
});

describe("events from locations that are not synced", () => {
  it("paused and never-seen locations cost nothing", async () => {
    const { harness: h, ghl: sandbox } = await start([
      { id: PAUSED_LOCATION, paused: true },
    ]);
    let storeReads = 0;
    const connections = h.service.connections;
    const original = connections.getConnection.bind(connections);
    connections.getConnection = (kind, id) => {
      storeReads += 1;
      return original(kind, id);
    };
    const logLinesBefore = h.logLines.length;

    const paused = await h.post(
      contactCreate(PAUSED_LOCATION, "contactPaused", "paused@example.com"),
    );
    expect(paused.status).toBe(200);
    expect(await paused.json()).toEqual({
      status: "ignored",
      reason: "location paused",
    });
    for (let i = 0; i < 50; i += 1) {
      const unknown = await h.post(
        contactCreate(
          "locNeverSeen00000001",
          `contactUnknown${i}`,
          `u${i}@example.com`,
        ),
      );
      expect(unknown.status).toBe(200);
    }

    expect(sandbox.requests).toHaveLength(0);
    expect(storeReads).toBe(0);
    expect(await h.service.queue.depth()).toBe(0);
    expect((await h.service.store.eventStats(0)).received).toBe(0);
    expect(h.coopel.requests).toHaveLength(0);
    const metrics = await h.service.metrics.registry.metrics();
    expect(metrics).toContain(
      'ghl_coopel_sync_webhooks_total{type="ContactCreate",result="ignored_location_paused"} 1',
    );
    expect(metrics).toContain(
      'ghl_coopel_sync_webhooks_total{type="ContactCreate",result="ignored_location_unknown"} 50',
    );
    const mentions = h.logLines
      .slice(logLinesBefore)
      .filter((line) => JSON.stringify(line).includes("locNeverSeen00000001"));
    expect(mentions).toHaveLength(1);
  });
});
