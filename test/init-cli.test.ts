import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { PassThrough, Writable } from "node:stream";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInit } from "../src/cli/init.js";
import { loadConfigFile } from "../src/config/load.js";
import {
  startCoopelSandbox,
  type CoopelSandbox,
} from "../src/sandbox/coopel-sandbox.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";
import { runCli } from "./helpers/cli.js";

const LOCATION = "ve9EPM428h8vShlRW1KT";
let root: string;
let ghl: GhlSandbox;
let coopel: CoopelSandbox;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), "ghl-coopel-sync-init-"));
  ghl = await startGhlSandbox({
    locations: [{ id: LOCATION, token: "init-location-token" }],
    logger: false,
  });
  coopel = await startCoopelSandbox({
    token: "init-coopel-token",
    logger: false,
  });
});

afterAll(async () => {
  await ghl?.close();
  await coopel?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Reads NAME=value lines of an env file, skipping comments. */
function readEnvFile(file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

describe("init", () => {
  it("writes a config that loads and passes doctor", async () => {
    const dir = path.join(root, "embedded");
    const result = await runCli([
      "init",
      "--dir",
      dir,
      "--location-id",
      LOCATION,
      "--ghl-url",
      ghl.url,
      "--coopel-url",
      coopel.url,
      "--port",
      "0",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("ghl-coopel-sync doctor --config");

    const config = readFileSync(path.join(dir, "sync.config.yaml"), "utf8");
    expect(config).toContain("# Embedded mode");
    expect(config).toContain("url: sqlite:./data/sync.db");
    expect(config).toContain(`- id: ${LOCATION}`);
    expect(config).toContain("token: ${GHL_LOCATION_TOKEN}");
    expect(config).toContain("token: ${COOPEL_TOKEN}");
    const env = readEnvFile(path.join(dir, ".env.example"));
    expect(Object.keys(env).sort()).toEqual([
      "COOPEL_TOKEN",
      "GHL_COOPEL_SYNC_ADMIN_TOKEN",
      "GHL_LOCATION_TOKEN",
    ]);

    const loaded = loadConfigFile(path.join(dir, "sync.config.yaml"), env);
    expect(loaded.config.ghl.locations).toEqual([
      expect.objectContaining({ id: LOCATION, token: env.GHL_LOCATION_TOKEN }),
    ]);
    expect(loaded.config.coopel.base_url).toBe(coopel.url);

    const doctor = await runCli(
      ["doctor", "--config", path.join(dir, "sync.config.yaml"), "--json"],
      {
        ...env,
        COOPEL_TOKEN: "init-coopel-token",
        GHL_LOCATION_TOKEN: "init-location-token",
      },
      60_000,
    );
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    const report = JSON.parse(doctor.stdout) as {
      checks: { name: string; ok: boolean }[];
    };
    expect(report.checks[0]).toMatchObject({
      name: "configuration",
      ok: true,
    });
  }, 120_000);

  it("writes the postgres mode with the URL as a variable", async () => {
    const dir = path.join(root, "postgres");
    const url = "postgres://sync@127.0.0.1:5432/ghl_coopel_sync";
    const result = await runCli([
      "init",
      "--dir",
      dir,
      "--mode",
      "postgres",
      "--postgres-url",
      url,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const config = readFileSync(path.join(dir, "sync.config.yaml"), "utf8");
    expect(config).toContain("url: ${GHL_COOPEL_SYNC_DATABASE_URL}");
    expect(config).not.toContain(url);
    expect(config).toContain("locations: []");
    const env = readEnvFile(path.join(dir, ".env.example"));
    expect(env.GHL_COOPEL_SYNC_DATABASE_URL).toBe(url);
    expect(env).not.toHaveProperty("GHL_LOCATION_TOKEN");
    const loaded = loadConfigFile(path.join(dir, "sync.config.yaml"), env);
    expect(loaded.config.store.url).toBe(url);
  }, 60_000);

  it("takes the defaults without flags when stdin is no terminal", async () => {
    const dir = path.join(root, "defaults");
    const result = await runCli(["init", "--dir", dir]);
    expect(result.code, result.stderr).toBe(0);
    const env = readEnvFile(path.join(dir, ".env.example"));
    const loaded = loadConfigFile(path.join(dir, "sync.config.yaml"), env);
    expect(loaded.config.store.url).toBe("sqlite:./data/sync.db");
    expect(loaded.config.server.port).toBe(3000);
    expect(loaded.config.ghl.base_url).toBe(
      "https://services.leadconnectorhq.com",
    );
  }, 60_000);

  it("rejects existing files without --force", async () => {
    const dir = path.join(root, "existing");
    expect((await runCli(["init", "--dir", dir, "--port", "4000"])).code).toBe(
      0,
    );
    const before = readFileSync(path.join(dir, "sync.config.yaml"), "utf8");

    const again = await runCli(["init", "--dir", dir, "--port", "5000"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exist");
    expect(again.stderr).toContain("--force");
    expect(readFileSync(path.join(dir, "sync.config.yaml"), "utf8")).toBe(
      before,
    );

    const forced = await runCli([
      "init",
      "--dir",
      dir,
      "--port",
      "5000",
      "--force",
    ]);
    expect(forced.code).toBe(0);
    expect(readFileSync(path.join(dir, "sync.config.yaml"), "utf8")).toContain(
      "port: 5000",
    );
  }, 60_000);

  it("rejects an invalid port or URL, naming the value", async () => {
    const port = await runCli([
      "init",
      "--dir",
      path.join(root, "bad"),
      "--port",
      "http",
    ]);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('port "http" is invalid');
    const url = await runCli([
      "init",
      "--dir",
      path.join(root, "bad"),
      "--coopel-url",
      "ftp://coopel",
    ]);
    expect(url.code).toBe(2);
    expect(url.stderr).toContain('--coopel-url "ftp://coopel" is invalid');
  }, 60_000);

  it("asks for each setting on a terminal", async () => {
    const dir = path.join(root, "asked");
    const answers = ["postgres", "", LOCATION, "http://127.0.0.1:9", "4100"];
    const prompts: string[] = [];
    const input = Object.assign(new PassThrough(), {
      isTTY: true,
    }) as unknown as NodeJS.ReadStream & PassThrough;
    let printed = "";
    const out = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        printed += chunk.toString();
        const prompt = /([^\n]*\]: )$/.exec(printed);
        if (prompt) {
          prompts.push(prompt[1]!);
          printed = "";
          setImmediate(() => input.write(`${answers.shift() ?? ""}\n`));
        }
        callback();
      },
    });

    const code = await runInit({ dir, flagsGiven: false }, out, input);
    expect(code).toBe(0);
    expect(prompts).toHaveLength(5);
    expect(prompts[0]).toContain("Mode: embedded");
    expect(prompts[1]).toContain(
      "PostgreSQL URL [postgres://postgres@127.0.0.1:5432/ghl_coopel_sync]",
    );
    const env = readEnvFile(path.join(dir, ".env.example"));
    expect(env.GHL_COOPEL_SYNC_DATABASE_URL).toBe(
      "postgres://postgres@127.0.0.1:5432/ghl_coopel_sync",
    );
    const loaded = loadConfigFile(path.join(dir, "sync.config.yaml"), env);
    expect(loaded.config.ghl.locations.map((l) => l.id)).toEqual([LOCATION]);
    expect(loaded.config.coopel.base_url).toBe("http://127.0.0.1:9");
    expect(loaded.config.server.port).toBe(4100);
  });
});
