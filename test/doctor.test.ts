import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
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
let dir: string;
let ghl: GhlSandbox;
let coopel: CoopelSandbox;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "ghl-coopel-sync-doctor-"));
  ghl = await startGhlSandbox({
    locations: [{ id: LOCATION, token: "good-location-token" }],
    logger: false,
  });
  coopel = await startCoopelSandbox({
    token: "good-coopel-token",
    logger: false,
  });
});

afterAll(async () => {
  await ghl?.close();
  await coopel?.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(
  name: string,
  ghlToken: string,
  coopelToken: string,
  routes: Record<string, null> = {},
): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      store: { url: `sqlite:${path.join(dir, `${name}.db`)}` },
      ghl: {
        base_url: ghl.url,
        locations: [{ id: LOCATION, token: ghlToken }],
        webhooks: { verify_signatures: false },
      },
      coopel: {
        base_url: coopel.url,
        token: coopelToken,
        timeout_ms: 3000,
        routes,
      },
    }),
  );
  return file;
}

type Checks = {
  ok: boolean;
  checks: {
    name: string;
    ok: boolean;
    warning?: boolean;
    detail: string;
    fix: string | null;
  }[];
};

describe("doctor", () => {
  it("passes every check with valid tokens", async () => {
    const result = await runCli([
      "doctor",
      "--config",
      writeConfig("good", "good-location-token", "good-coopel-token"),
      "--json",
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as Checks;
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        "configuration",
        "store",
        "Coopel API",
        `GHL location ${LOCATION}`,
      ]),
    );
  }, 60_000);

  it("names a revoked token on each side and the fix", async () => {
    const result = await runCli([
      "doctor",
      "--config",
      writeConfig("revoked", "revoked-location-token", "revoked-coopel-token"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("FAIL Coopel token");
    expect(result.stdout).toContain("set coopel.token");
    expect(result.stdout).toContain(`FAIL GHL location ${LOCATION}`);
    expect(result.stdout).toContain("create a new Private Integration token");
    expect(result.stdout).not.toContain("revoked-coopel-token");
    expect(result.stdout).not.toContain("revoked-location-token");
  }, 60_000);

  it("warns about Coopel routes set to null, with the fix", async () => {
    const config = writeConfig(
      "null-routes",
      "good-location-token",
      "good-coopel-token",
      {
        create_note: null,
        delete_note: null,
      },
    );
    const text = await runCli(["doctor", "--config", config]);
    expect(text.code, text.stdout + text.stderr).toBe(0);
    expect(text.stdout).toContain(
      "WARN Coopel routes for notes: notes: Coopel routes create_note, delete_note are set to null",
    );
    expect(text.stdout).toContain(
      "fix: set coopel.routes.create_note and coopel.routes.delete_note to the matching paths of your Coopel API, or set sync.notes.enabled: false",
    );

    const json = await runCli(["doctor", "--config", config, "--json"]);
    const report = JSON.parse(json.stdout) as Checks;
    const check = report.checks.find(
      (c) => c.name === "Coopel routes for notes",
    );
    expect(check?.ok).toBe(true);
    expect(check?.warning).toBe(true);
    expect(check?.fix).toContain("coopel.routes.create_note");
    expect(report.checks.map((c) => c.name)).not.toContain(
      "Coopel routes for tasks",
    );
  }, 60_000);
});
