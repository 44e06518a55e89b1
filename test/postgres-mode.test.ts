import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runCli } from "./helpers/cli.js";
import {
  fixture,
  LOCATION_ID,
  startHarness,
  testConfig,
  type Harness,
} from "./helpers/harness.js";
import { createTestDatabase, type TestDatabase } from "./helpers/postgres.js";

let database: TestDatabase;
let harness: Harness | undefined;
let dir: string | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
afterAll(async () => {
  await database?.drop();
});

function writeConfig(storeUrl: string): string {
  dir = mkdtempSync(path.join(tmpdir(), "pg-mode-"));
  const file = path.join(dir, "sync.config.yaml");
  writeFileSync(
    file,
    stringify(
      testConfig(dir, "http://127.0.0.1:9", { store: { url: storeUrl } }),
    ),
  );
  return file;
}

describe("PostgreSQL mode", () => {
  it("migrate applies the schema once, then reports it current", async () => {
    const fresh = await createTestDatabase();
    try {
      const file = writeConfig(fresh.url);
      const first = await runCli(["migrate", "--config", file]);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(
        /^applied migrations 1(, \d+)* to PostgreSQL postgres:\/\//,
      );
      const second = await runCli(["migrate", "--config", file]);
      expect(second.code).toBe(0);
      expect(second.stdout).toMatch(/^schema of PostgreSQL .* is up to date/);
    } finally {
      await fresh.drop();
    }
  });

  it("migrate works on SQLite files too", async () => {
    dir = mkdtempSync(path.join(tmpdir(), "sqlite-migrate-"));
    const file = path.join(dir, "sync.config.yaml");
    writeFileSync(file, stringify(testConfig(dir, "http://127.0.0.1:9")));
    const first = await runCli(["migrate", "--config", file]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /^applied migrations 1(, \d+)* to SQLite file /,
    );
    const second = await runCli(["migrate", "--config", file]);
    expect(second.stdout).toMatch(/is up to date/);
  });

  it("names the database and hides the password when PostgreSQL cannot be reached", async () => {
    const file = writeConfig(
      "postgres://syncuser:s3cret-pw@127.0.0.1:1/nowhere",
    );
    const result = await runCli(["migrate", "--config", file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "postgres://syncuser:***@127.0.0.1:1/nowhere",
    );
    expect(result.stderr).toMatch(/check that PostgreSQL runs/);
    expect(result.stdout + result.stderr).not.toContain("s3cret-pw");
  });

  it("syncs an official ContactCreate example end to end on PostgreSQL", async () => {
    harness = await startHarness({ store: { url: database.url } });
    expect(harness.service.dataLocation).toMatch(/^PostgreSQL /);
    const delivery = { ...fixture("ContactCreate"), webhookId: "wh-pg-1" };
    const response = await harness.post(delivery);
    expect(response.status).toBe(200);
    const repeat = await harness.post(delivery);
    expect(repeat.status).toBe(200);
    await harness.waitForIdle();

    const contacts = [...harness.coopel.contacts.values()];
    expect(contacts).toHaveLength(1);
    expect(contacts[0]?.email).toBe("johndeo@gmail.comm");
    const link = await harness.service.store.getLink(
      "contact",
      LOCATION_ID,
      "nmFmQEsNgz6AVpgLVUJ0",
    );
    expect(link?.coopelId).toBe(contacts[0]?.id);
    const stats = await harness.service.store.eventStats(0);
    expect(stats.received).toBe(1);
    expect(stats.synced).toBe(1);
  });
});
