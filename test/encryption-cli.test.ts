import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfigFile } from "../src/config/load.js";
import { SecretBox } from "../src/security/secret-box.js";
import { SqliteConnectionStore } from "../src/store/sqlite/connections.js";
import { openSqlite } from "../src/store/sqlite/database.js";
import { runCli } from "./helpers/cli.js";

const OLD_KEY = randomBytes(32);
const NEW_KEY = randomBytes(32);
const PAIR = JSON.stringify({ accessToken: "at-1", refreshToken: "rt-1" });

let dir: string;
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A config with OAuth and a store that already holds one connection sealed under OLD_KEY. */
async function prepare(): Promise<string> {
  dir = mkdtempSync(path.join(tmpdir(), "encryption-cli-"));
  const file = path.join(dir, "sync.config.yaml");
  writeFileSync(
    file,
    [
      "store:",
      "  url: sqlite:./sync.db",
      "server:",
      "  port: 0",
      "ghl:",
      "  oauth:",
      "    client_id: app1-cli",
      "    client_secret: cli-test-client-secret",
      "    redirect_uri: http://127.0.0.1/oauth/callback",
      "coopel:",
      "  base_url: http://127.0.0.1:9",
      "  token: t",
      "log:",
      "  pretty: never",
      "",
    ].join("\n"),
  );
  const db = openSqlite({
    file: path.join(dir, "sync.db"),
    synchronous: "normal",
  });
  await new SqliteConnectionStore(db).saveConnection(
    {
      kind: "location",
      id: "locCli",
      companyId: null,
      sealedTokens: new SecretBox(OLD_KEY).seal(PAIR),
      expiresAt: Date.now() + 3600_000,
      status: "active",
      statusMessage: null,
      nextProbeAt: null,
    },
    0,
  );
  db.close();
  return file;
}

async function storedSealed(): Promise<string> {
  const db = openSqlite({
    file: path.join(dir, "sync.db"),
    synchronous: "normal",
  });
  try {
    const connection = await new SqliteConnectionStore(db).getConnection(
      "location",
      "locCli",
    );
    return connection!.sealedTokens!;
  } finally {
    db.close();
  }
}

describe("encryption key at start", () => {
  it("stops with a clear message when stored secrets exist and no key", async () => {
    const file = await prepare();
    const result = await runCli(["start", "--config", file], {
      GHL_COOPEL_SYNC_ENCRYPTION_KEY: "",
      GHL_COOPEL_SYNC_ENCRYPTION_KEY_FILE: "",
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(
      "the store holds 1 encrypted GHL connection(s), but GHL_COOPEL_SYNC_ENCRYPTION_KEY and GHL_COOPEL_SYNC_ENCRYPTION_KEY_FILE are not set",
    );
  });

  it("stops when the key is not the one the secrets use", async () => {
    const file = await prepare();
    const result = await runCli(["start", "--config", file], {
      GHL_COOPEL_SYNC_ENCRYPTION_KEY: NEW_KEY.toString("base64"),
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("encrypted under another key");
    expect(result.stdout).toContain("reencrypt");
  });
});

describe("reencrypt", () => {
  it("moves stored secrets to the new key", async () => {
    const file = await prepare();
    const keyFile = path.join(dir, "new.key");
    writeFileSync(keyFile, `${NEW_KEY.toString("hex")}\n`);
    const env = {
      GHL_COOPEL_SYNC_ENCRYPTION_KEY: OLD_KEY.toString("base64"),
      GHL_COOPEL_SYNC_NEW_ENCRYPTION_KEY_FILE: keyFile,
    };

    const first = await runCli(["reencrypt", "--config", file], env);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("re-encrypted 1 connection(s); 0 already");
    const sealed = await storedSealed();
    expect(new SecretBox(NEW_KEY).open(sealed)).toBe(PAIR);
    expect(() => new SecretBox(OLD_KEY).open(sealed)).toThrow();

    const again = await runCli(["reencrypt", "--config", file], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("re-encrypted 0 connection(s); 1 already");

    const json = await runCli(["reencrypt", "--config", file, "--json"], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      reencrypted: 0,
      alreadyCurrent: 1,
    });
  });

  it("exits 2 without the new key", async () => {
    const file = await prepare();
    const result = await runCli(["reencrypt", "--config", file], {
      GHL_COOPEL_SYNC_ENCRYPTION_KEY: OLD_KEY.toString("base64"),
      GHL_COOPEL_SYNC_NEW_ENCRYPTION_KEY: "",
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("GHL_COOPEL_SYNC_NEW_ENCRYPTION_KEY");
  });
});

describe("_FILE variables", () => {
  it("read a config secret from a file", () => {
    dir = mkdtempSync(path.join(tmpdir(), "file-vars-"));
    const secretFile = path.join(dir, "coopel-token");
    writeFileSync(secretFile, "token-from-file\n");
    const file = path.join(dir, "sync.config.yaml");
    writeFileSync(
      file,
      "coopel:\n  base_url: http://127.0.0.1:9\n  token: ${COOPEL_TOKEN}\n",
    );
    const loaded = loadConfigFile(file, { COOPEL_TOKEN_FILE: secretFile });
    expect(loaded.config.coopel.token).toBe("token-from-file");
    expect(() =>
      loadConfigFile(file, { COOPEL_TOKEN_FILE: path.join(dir, "missing") }),
    ).toThrow(
      /COOPEL_TOKEN_FILE names .*missing, which cannot be read \(ENOENT\)/,
    );
  });
});
