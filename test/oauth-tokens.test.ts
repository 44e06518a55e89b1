import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GhlRestApi } from "../src/connectors/ghl/api.js";
import { GhlHttpClient } from "../src/connectors/ghl/client.js";
import { GhlOAuthClient } from "../src/connectors/ghl/oauth-client.js";
import {
  ConnectionUnavailableError,
  OAuthTokenSource,
} from "../src/connectors/ghl/oauth-tokens.js";
import type { Database } from "better-sqlite3";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";
import { SecretBox } from "../src/security/secret-box.js";
import { SqliteConnectionStore } from "../src/store/sqlite/connections.js";
import { openSqlite } from "../src/store/sqlite/database.js";

const LOCATION = "locOAuth0000000000001";
const CLIENT = {
  clientId: "app123-client",
  clientSecret: "sandbox-client-secret",
};
const KEY = randomBytes(32);
const silent = pino({ level: "silent" });

let ghl: GhlSandbox;
let dir: string;
let db: Database;
let store: SqliteConnectionStore;

beforeEach(async () => {
  ghl = await startGhlSandbox({
    locations: [{ id: LOCATION, token: "unused-pit" }],
    oauth: CLIENT,
    logger: false,
  });
  dir = mkdtempSync(path.join(tmpdir(), "oauth-tokens-"));
  db = openSqlite({ file: path.join(dir, "sync.db"), synchronous: "normal" });
  store = new SqliteConnectionStore(db);
});

afterEach(async () => {
  await ghl.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function oauthClient(): GhlOAuthClient {
  return new GhlOAuthClient({
    ...CLIENT,
    baseUrl: ghl.url,
    apiVersion: "2021-07-28",
    timeoutMs: 5000,
  });
}

function tokenSource(
  overrides: Partial<ConstructorParameters<typeof OAuthTokenSource>[0]> = {},
): OAuthTokenSource {
  return new OAuthTokenSource({
    store,
    box: new SecretBox(KEY),
    oauth: oauthClient(),
    logger: silent,
    ...overrides,
  });
}

/** Connects the location by the authorization code flow and returns the source used. */
async function connect(source = tokenSource()): Promise<OAuthTokenSource> {
  const answer = await oauthClient().exchangeCode(
    ghl.issueAuthorizationCode(LOCATION),
    undefined,
  );
  await source.saveAnswer({ kind: "location", id: LOCATION }, answer);
  return source;
}

/** Marks the stored access token as expired, as a day without calls would. */
async function expireStoredToken(): Promise<void> {
  const current = await store.getConnection("location", LOCATION);
  await store.saveConnection({ ...current!, expiresAt: 0 }, current!.version);
  ghl.expireAccessTokens(LOCATION);
}

describe("OAuthTokenSource", () => {
  it("refreshes once for 50 concurrent callers", async () => {
    const source = await connect();
    await expireStoredToken();

    const tokens = await Promise.all(
      Array.from({ length: 50 }, () => source.getToken(LOCATION)),
    );

    expect(ghl.countTokenRequests("refresh_token")).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    const api = new GhlRestApi(
      new GhlHttpClient({
        baseUrl: ghl.url,
        apiVersion: "2021-07-28",
        timeoutMs: 5000,
        tokens: source,
      }),
    );
    const created = ghl.userCreateContact(LOCATION, { firstName: "Ana" });
    const contact = await api.getContact(LOCATION, created.id, {
      requests: [],
    });
    expect(contact?.firstName).toBe("Ana");
  });

  it("refreshes once across two processes", async () => {
    await connect();
    await expireStoredToken();
    db.close();

    const startAt = Date.now() + 1500;
    const run = () =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            "--import",
            "tsx",
            path.resolve(import.meta.dirname, "helpers/refresh-process.ts"),
            path.join(dir, "sync.db"),
            ghl.url,
            LOCATION,
            "25",
            String(startAt),
          ],
          {
            env: {
              ...process.env,
              TEST_KEY_HEX: KEY.toString("hex"),
              TEST_CLIENT_ID: CLIENT.clientId,
              TEST_CLIENT_SECRET: CLIENT.clientSecret,
            },
            stdio: ["ignore", "pipe", "pipe"],
          },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on(
          "data",
          (chunk: Buffer) => (stdout += chunk.toString()),
        );
        child.stderr.on(
          "data",
          (chunk: Buffer) => (stderr += chunk.toString()),
        );
        const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
        child.on("exit", (code) => {
          clearTimeout(timer);
          if (code === 0) resolve(JSON.parse(stdout) as string[]);
          else reject(new Error(`refresh process exited ${code}: ${stderr}`));
        });
      });

    const [first, second] = await Promise.all([run(), run()]);
    db = openSqlite({ file: path.join(dir, "sync.db"), synchronous: "normal" });
    store = new SqliteConnectionStore(db);

    expect(ghl.countTokenRequests("refresh_token")).toBe(1);
    expect(first).toHaveLength(25);
    expect(second).toHaveLength(25);
    expect(new Set([...first, ...second]).size).toBe(1);
    const stored = await store.getConnection("location", LOCATION);
    expect(stored?.status).toBe("active");
  });

  it("keeps a connection active when it loses a refresh race", async () => {
    const winner = await connect();
    const loser = tokenSource();
    await expireStoredToken();
    // The loser reads the old pair, then the winner refreshes before the loser
    // takes the lock: the loser's refresh token is spent by then.
    const stale = await store.getConnection("location", LOCATION);
    await winner.getToken(LOCATION);
    const spentRefresh = loser.tokensOf(stale!).refreshToken!;
    await expect(
      oauthClient().refresh(spentRefresh, "Location"),
    ).rejects.toMatchObject({ status: 400 });

    const token = await loser.refreshAfterUnauthorized(
      LOCATION,
      loser.tokensOf(stale!).accessToken,
    );

    const stored = await store.getConnection("location", LOCATION);
    expect(stored?.status).toBe("active");
    expect(token).toBe(loser.tokensOf(stored!).accessToken);
  });

  it("re-reads the store after invalid_grant before giving up", async () => {
    const source = await connect();
    await expireStoredToken();
    const before = await store.getConnection("location", LOCATION);
    // Another process refreshed and saved while this one was calling GHL with
    // the old refresh token: simulated by a store whose first lock succeeds
    // but whose pair changes underneath.
    const other = tokenSource();
    const racing = new SqliteConnectionStore(db);
    let raced = false;
    racing.tryLock = async (name, owner, ttl) => {
      if (!raced) {
        raced = true;
        await other.getToken(LOCATION);
      }
      return store.tryLock(name, owner, ttl);
    };
    racing.getConnection = async (kind, id) => {
      const current = await store.getConnection(kind, id);
      // The first read under the lock still returns the old pair.
      return raced && current!.version !== before!.version && !seenOld
        ? ((seenOld = true), before)
        : current;
    };
    let seenOld = false;
    const token = await tokenSource({ store: racing }).getToken(LOCATION);

    const stored = await store.getConnection("location", LOCATION);
    expect(stored?.status).toBe("active");
    expect(token).toBe(source.tokensOf(stored!).accessToken);
    expect(ghl.countTokenRequests("refresh_token")).toBe(2);
  });

  it("marks a connection whose refresh token is rejected", async () => {
    const source = await connect();
    const stored = await store.getConnection("location", LOCATION);
    // Spend the stored refresh token behind the service's back.
    await oauthClient().refresh(
      source.tokensOf(stored!).refreshToken!,
      "Location",
    );
    await expireStoredToken();

    await expect(source.getToken(LOCATION)).rejects.toMatchObject({
      reason: "needs_authorization",
    });
    const marked = await store.getConnection("location", LOCATION);
    expect(marked?.status).toBe("needs_authorization");
    await expect(source.getToken(LOCATION)).rejects.toBeInstanceOf(
      ConnectionUnavailableError,
    );
    expect(ghl.countTokenRequests("refresh_token")).toBe(2);
  });

  it("pauses on 'Location is not active' without looping", async () => {
    let now = Date.now();
    const source = await connect(
      tokenSource({ now: () => now, probeIntervalMs: 15 * 60_000 }),
    );
    const before = await store.getConnection("location", LOCATION);
    ghl.setLocationActive(LOCATION, false);
    await expireStoredToken();

    // One call per second for one minute of fake time.
    const failures: unknown[] = [];
    for (let second = 0; second < 60; second += 1) {
      await source.getToken(LOCATION).catch((error: unknown) => {
        failures.push(error);
      });
      now += 1000;
    }

    expect(failures).toHaveLength(60);
    expect(failures[0]).toMatchObject({ reason: "paused" });
    expect(ghl.countTokenRequests("refresh_token")).toBe(1);
    const paused = await store.getConnection("location", LOCATION);
    expect(paused?.status).toBe("paused");
    expect(paused?.statusMessage).toBe("Location is not active");
    expect(paused?.sealedTokens).toBe(before?.sealedTokens);

    // The slow probe: after the interval one refresh goes out, and succeeds
    // once GHL reactivates the location.
    ghl.setLocationActive(LOCATION, true);
    now += 15 * 60_000;
    const token = await source.getToken(LOCATION);
    expect(typeof token).toBe("string");
    expect(ghl.countTokenRequests("refresh_token")).toBe(2);
    expect((await store.getConnection("location", LOCATION))?.status).toBe(
      "active",
    );
  });

  it("mints location tokens from a company token", async () => {
    const source = tokenSource();
    const company = await oauthClient().exchangeCode(
      ghl.issueCompanyAuthorizationCode("companyA", [LOCATION]),
      undefined,
      "Company",
    );
    expect(company.userType).toBe("Company");
    expect(company.locationId).toBeNull();
    await source.saveAnswer({ kind: "company", id: "companyA" }, company);
    const minted = await oauthClient().locationToken(
      await source.getCompanyToken("companyA"),
      "companyA",
      LOCATION,
    );
    expect(minted.refreshToken).toBeNull();
    await source.saveAnswer({ kind: "location", id: LOCATION }, minted);
    await expireStoredToken();

    // The location token has no refresh token, so it is minted again.
    const token = await source.getToken(LOCATION);
    expect(token).not.toBe(minted.accessToken);
    expect(ghl.countRequests("POST", "/oauth/locationToken")).toBe(2);
    expect(ghl.countTokenRequests("refresh_token")).toBe(0);
  });
});
