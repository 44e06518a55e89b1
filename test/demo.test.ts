import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import {
  configJsonSchema,
  loadConfigFile,
  parseConfig,
} from "../src/config/load.js";
import { runDemo } from "../src/runtime/demo.js";
import { startSandboxes } from "../src/runtime/sandboxes.js";
import { startService } from "../src/runtime/service.js";
import { LOCATION_ID, testConfig } from "./helpers/harness.js";

describe("demo", () => {
  it("syncs the official examples and generated changes with 0 failed", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "demo-"));
    const logger = pino({ level: "silent" });
    const base = parseConfig(testConfig(dir, "http://127.0.0.1:1"));
    const sandboxes = await startSandboxes(
      { ...base, sandbox: { enabled: true, ghl_port: 0, coopel_port: 0 } },
      logger,
    );
    const config = parseConfig(
      testConfig(dir, sandboxes.coopel.url, {
        ghl: {
          base_url: sandboxes.ghl.url,
          locations: [{ id: LOCATION_ID, token: "test-location-token" }],
          // As in sync.config.yaml: the sandbox has no GHL budget to keep.
          rate_limit: { requests: 2000, per_ms: 1000, daily: 10_000_000 },
        },
        sync: { contacts: { direction: "two_way" } },
        coopel: { webhooks: { secret: "demo-test-webhook-secret-0123" } },
        mapping: {
          contact: { custom_fields: { "contact.lead_score": "lead_score" } },
          tag_rules: [{ tag: "hot-lead", when: "custom.lead_score >= 50" }],
        },
        demo: {
          enabled: true,
          // Enough contacts that deletes (15 % of changes) leave a good share.
          contacts: 80,
          changes: 300,
          concurrency: 8,
          seed: 7,
        },
      }),
    );
    // The harness config names key files; keep them for signature checks.
    config.ghl.webhooks = base.ghl.webhooks;
    const service = await startService({ config, baseDir: dir, logger });
    try {
      const summary = await runDemo({ config, service, sandboxes, logger });
      expect(summary.failed).toBe(0);
      expect(summary.rejected).toBe(0);
      expect(summary.received).toBeGreaterThanOrEqual(303);
      expect(summary.synced + summary.skipped).toBe(summary.received);
      expect(summary.matches).toBe(true);
      expect(summary.missing).toBe(0);
      expect(summary.extra).toBe(0);
      expect(summary.mismatched).toBe(0);
      expect(summary.entities.tasks).toBeGreaterThan(10);
      expect(summary.entities.notes).toBe(summary.entities.tasks);
      expect(summary.entities.entityMismatches).toBe(0);
      expect(summary.coopelEdits).toBeGreaterThan(5);
      expect(summary.ghlMismatched).toBe(0);
      expect(summary.reconcile.compared).toBe(summary.expectedContacts);
      expect(summary.reconcile.findings).toEqual({
        field_drift: 0,
        tag_drift: 0,
        missing_on_coopel: 0,
        coopel_only: 0,
        stale_link: 0,
      });
      expect(summary.reconcile.drift).toBe(0);
      expect(
        [...sandboxes.coopel.contacts.values()].some((c) =>
          (c.tags as string[] | undefined)?.includes("hot-lead"),
        ),
      ).toBe(true);
      expect(summary.expectedContacts).toBeGreaterThan(0);
      expect(summary.latencyP50Ms).not.toBeNull();
    } finally {
      await service.close();
      await sandboxes.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("committed configuration", () => {
  it("sync.config.yaml is valid and runs the embedded demo", () => {
    const { config } = loadConfigFile(
      path.resolve(import.meta.dirname, "../sync.config.yaml"),
      {},
    );
    expect(config.store.url).toMatch(/^sqlite:/);
    expect(config.sandbox.enabled).toBe(true);
    expect(config.demo.enabled).toBe(true);
    expect(config.demo.changes).toBeGreaterThanOrEqual(1000);
  });

  it("sync.config.schema.json matches the schema definition", () => {
    const file = path.resolve(
      import.meta.dirname,
      "../sync.config.schema.json",
    );
    const written: unknown = JSON.parse(readFileSync(file, "utf8"));
    expect(written, "run npm run schema to regenerate").toEqual(
      configJsonSchema(),
    );
  });
});
