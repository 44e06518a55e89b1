import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { hashPassword } from "../src/security/passwords.js";
import { SecretBox } from "../src/security/secret-box.js";
import {
  startCoopelSandbox,
  type CoopelSandbox,
} from "../src/sandbox/coopel-sandbox.js";
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

const OAUTH_LOCATION = "locSecrets0000000001";
const PIT_LOCATION = "locSecretsPit0000001";
const KEY = randomBytes(32);
const PLANTED = {
  ghlClientSecret: `ghl-client-secret-${randomBytes(12).toString("hex")}`,
  privateIntegrationToken: `pit-${randomBytes(16).toString("hex")}`,
  coopelClientSecret: `coopel-secret-${randomBytes(12).toString("hex")}`,
  adminToken: `admin-token-${randomBytes(16).toString("hex")}`,
  adminPassword: `admin-password-${randomBytes(8).toString("hex")}`,
  encryptionKey: KEY.toString("base64"),
};
process.env.GHL_COOPEL_SYNC_ENCRYPTION_KEY = PLANTED.encryptionKey;

let harness: Harness | undefined;
let ghl: GhlSandbox | undefined;
let coopel: CoopelSandbox | undefined;

afterEach(async () => {
  await harness?.close();
  await ghl?.close();
  await coopel?.close();
});

describe("log output", () => {
  it("contains no planted secret or token", async () => {
    ghl = await startGhlSandbox({
      locations: [
        { id: OAUTH_LOCATION, token: randomBytes(8).toString("hex") },
        { id: PIT_LOCATION, token: PLANTED.privateIntegrationToken },
      ],
      oauth: {
        clientId: "app7-secrets",
        clientSecret: PLANTED.ghlClientSecret,
      },
      logger: false,
    });
    coopel = await startCoopelSandbox({
      token: randomBytes(16).toString("hex"),
      oauthClient: {
        clientId: "coopel-client",
        clientSecret: PLANTED.coopelClientSecret,
      },
      logger: false,
    });
    const base = testConfig("", coopel.url);
    harness = await startHarness({
      log: { level: "trace", pretty: "never" },
      admin: {
        password_hash: await hashPassword(PLANTED.adminPassword),
        token: PLANTED.adminToken,
      },
      ghl: {
        ...base.ghl,
        base_url: ghl.url,
        locations: [
          { id: PIT_LOCATION, token: PLANTED.privateIntegrationToken },
        ],
        oauth: {
          client_id: "app7-secrets",
          client_secret: PLANTED.ghlClientSecret,
          redirect_uri: "http://127.0.0.1/oauth/callback",
        },
      },
      coopel: {
        base_url: coopel.url,
        token: undefined,
        timeout_ms: 2000,
        oauth: {
          token_url: `${coopel.url}/oauth/token`,
          client_id: "coopel-client",
          client_secret: PLANTED.coopelClientSecret,
        },
      },
    });
    const h = harness;
    const url = h.service.url;

    // OAuth connect, a refresh, a rejected refresh and an inactive location.
    const connected = await fetch(
      `${url}/oauth/callback?code=${ghl.issueAuthorizationCode(OAUTH_LOCATION)}`,
    );
    expect(connected.status).toBe(200);
    const box = new SecretBox(KEY);
    const issued: string[] = [];
    const remember = async () => {
      const stored = await h.service.connections.getConnection(
        "location",
        OAUTH_LOCATION,
      );
      const pair = JSON.parse(box.open(stored!.sealedTokens!)) as Record<
        string,
        string
      >;
      issued.push(pair.accessToken!, pair.refreshToken!);
      return stored!;
    };
    let stored = await remember();
    await h.service.connections.saveConnection(
      { ...stored, expiresAt: 0 },
      stored.version,
    );
    await h.service.ghlTokens.getToken(OAUTH_LOCATION);
    stored = await remember();
    ghl.setLocationActive(OAUTH_LOCATION, false);
    await h.service.connections.saveConnection(
      { ...stored, expiresAt: 0 },
      stored.version,
    );
    await expect(
      h.service.ghlTokens.getToken(OAUTH_LOCATION),
    ).rejects.toMatchObject({ reason: "paused" });
    stored = (await h.service.connections.getConnection(
      "location",
      OAUTH_LOCATION,
    ))!;
    // Spend the refresh token elsewhere, then let the service try it.
    ghl.setLocationActive(OAUTH_LOCATION, true);
    await fetch(`${ghl.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_id: "app7-secrets",
        client_secret: PLANTED.ghlClientSecret,
        grant_type: "refresh_token",
        refresh_token: issued.at(-1)!,
      }).toString(),
    });
    await h.service.connections.saveConnection(
      { ...stored, status: "active", nextProbeAt: null },
      stored.version,
    );
    await expect(
      h.service.ghlTokens.getToken(OAUTH_LOCATION),
    ).rejects.toMatchObject({ reason: "needs_authorization" });
    expect(await h.service.ghlTokens.getToken(PIT_LOCATION)).toBe(
      PLANTED.privateIntegrationToken,
    );

    // Webhooks synced to Coopel with a client-credentials token, one of
    // them after Coopel stopped accepting the first token.
    const contact = fixture("ContactCreate");
    expect(
      (await h.post({ ...contact, locationId: PIT_LOCATION })).status,
    ).toBe(200);
    await h.waitForIdle();
    coopel.expireIssuedTokens();
    expect(
      (
        await h.post({
          ...contact,
          locationId: PIT_LOCATION,
          type: "ContactUpdate",
          firstName: "Johnny",
        })
      ).status,
    ).toBe(200);
    await h.waitForIdle();
    expect(coopel.contacts.size).toBe(1);
    expect(coopel.countTokenRequests()).toBe(2);

    // Admin logins, good and bad, and the admin token.
    for (const password of [PLANTED.adminPassword, "wrong-password-1"]) {
      await fetch(`${url}/admin/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ password }),
      });
    }
    await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${PLANTED.adminToken}` },
    });
    await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${PLANTED.adminToken}x` },
    });

    const output = h.logLines.map((line) => JSON.stringify(line)).join("\n");
    expect(h.logLines.length).toBeGreaterThan(5);
    expect(output).toContain("GHL token refreshed");
    expect(output).toContain("Location is not active");
    const secrets = {
      ...PLANTED,
      ...Object.fromEntries(issued.map((token, i) => [`issued${i}`, token])),
    };
    for (const [name, value] of Object.entries(secrets)) {
      expect(output.includes(value), `${name} appears in the log`).toBe(false);
    }
    // Personal data of the contact stays out of lines at info and above.
    const infoAndAbove = h.logLines
      .filter((line) => (line.level as number) >= 30)
      .map((line) => JSON.stringify(line))
      .join("\n");
    for (const value of [
      String(contact.email),
      String(contact.phone),
      "JohnDeo@gmail.comm".toLowerCase(),
    ]) {
      expect(infoAndAbove.includes(value), `${value} appears at info`).toBe(
        false,
      );
    }
  });
});

describe("createLogger", () => {
  it("censors secrets at every level and personal data at info", async () => {
    const { createLogger, registerSecretValues } =
      await import("../src/runtime/logger.js");
    const { Writable } = await import("node:stream");
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    registerSecretValues([PLANTED.ghlClientSecret]);
    const logger = createLogger(
      { level: "debug", pretty: "never", redact_personal_data: true },
      sink,
    );
    const contact = { email: "ana@example.com", phone: "+15550001111" };
    logger.debug(
      {
        request: { headers: { authorization: "Bearer planted-bearer-value" } },
        nested: { deeper: { refreshToken: "planted-refresh-value" } },
        contact,
      },
      "debug line",
    );
    logger.info({ contact, sealedTokens: "v1.planted-sealed" }, "info line");
    logger.error(
      { err: new Error(`token request failed for ${PLANTED.ghlClientSecret}`) },
      `message with ${PLANTED.ghlClientSecret}`,
    );
    const output = lines.join("");
    for (const value of [
      "planted-bearer-value",
      "planted-refresh-value",
      "v1.planted-sealed",
      PLANTED.ghlClientSecret,
    ]) {
      expect(output.includes(value), value).toBe(false);
    }
    const [debugLine, infoLine] = lines;
    expect(debugLine).toContain("ana@example.com");
    expect(infoLine).not.toContain("ana@example.com");
    expect(infoLine).not.toContain("+15550001111");
    expect(infoLine).toContain("[redacted]");
  });
});
