import { afterEach, describe, expect, it } from "vitest";
import { GhlRestApi } from "../src/connectors/ghl/api.js";
import {
  GhlHttpClient,
  StaticTokenSource,
  type GhlTokenSource,
} from "../src/connectors/ghl/client.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";

const LOCATION = "loc-client-test";
let ghl: GhlSandbox;

afterEach(async () => {
  await ghl?.close();
});

function api(tokens: GhlTokenSource): GhlRestApi {
  return new GhlRestApi(
    new GhlHttpClient({
      baseUrl: ghl.url,
      apiVersion: "2021-07-28",
      timeoutMs: 2000,
      tokens,
    }),
  );
}

describe("GhlRestApi", () => {
  it("reads a contact with the Version header and token", async () => {
    ghl = await startGhlSandbox({
      locations: [{ id: LOCATION, token: "pit-1" }],
      logger: false,
    });
    const created = ghl.userCreateContact(LOCATION, {
      firstName: "Ana",
      email: "ana@example.com",
    });
    const context = { requests: [] };
    const contact = await api(
      new StaticTokenSource([{ id: LOCATION, token: "pit-1" }]),
    ).getContact(LOCATION, created.id, context);
    expect(contact?.firstName).toBe("Ana");
    expect(context.requests).toEqual([
      expect.objectContaining({ method: "GET", status: 200 }),
    ]);
  });

  it("returns null for a contact GHL does not have", async () => {
    ghl = await startGhlSandbox({
      locations: [{ id: LOCATION, token: "pit-1" }],
      logger: false,
    });
    const tokens = new StaticTokenSource([{ id: LOCATION, token: "pit-1" }]);
    expect(
      await api(tokens).getContact(LOCATION, "missing", { requests: [] }),
    ).toBeNull();
  });

  it("refreshes once after a 401 and retries", async () => {
    ghl = await startGhlSandbox({
      locations: [{ id: LOCATION, token: "good" }],
      logger: false,
    });
    const created = ghl.userCreateContact(LOCATION, { firstName: "Bo" });
    const refreshed: string[] = [];
    const tokens: GhlTokenSource = {
      getToken: () => Promise.resolve("expired"),
      refreshAfterUnauthorized: (_location, rejected) => {
        refreshed.push(rejected);
        return Promise.resolve("good");
      },
    };
    const contact = await api(tokens).getContact(LOCATION, created.id, {
      requests: [],
    });
    expect(contact?.firstName).toBe("Bo");
    expect(refreshed).toEqual(["expired"]);
  });

  it("names the location when no token is configured", async () => {
    ghl = await startGhlSandbox({
      locations: [{ id: LOCATION, token: "pit-1" }],
      logger: false,
    });
    await expect(
      api(new StaticTokenSource([])).getContact(LOCATION, "x", {
        requests: [],
      }),
    ).rejects.toThrow(/no GHL token for location loc-client-test/);
  });
});
