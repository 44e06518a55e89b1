import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import type { ConfigInput } from "../src/config/schema.js";
import { createLogger } from "../src/runtime/logger.js";
import { startService, StartupError } from "../src/runtime/service.js";
import {
  startCoopelSandbox,
  type CoopelSandbox,
} from "../src/sandbox/coopel-sandbox.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";
import {
  COOPEL_TOKEN,
  GHL_TOKEN,
  LOCATION_ID,
  testConfig,
  startHarness,
  type TestOverrides,
} from "./helpers/harness.js";

let ghl: GhlSandbox | null = null;
let coopel: CoopelSandbox | null = null;
let dir: string | null = null;

afterEach(async () => {
  await ghl?.close();
  await coopel?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  ghl = coopel = dir = null;
});

async function start(overrides: TestOverrides): Promise<unknown> {
  dir = mkdtempSync(path.join(tmpdir(), "two-way-start-"));
  coopel ??= await startCoopelSandbox({ token: COOPEL_TOKEN, logger: false });
  ghl ??= await startGhlSandbox({
    locations: [{ id: LOCATION_ID, token: GHL_TOKEN }],
    logger: false,
  });
  const input: ConfigInput = testConfig(dir, coopel.url, overrides, ghl.url);
  const config = parseConfig(input);
  try {
    const service = await startService({
      config,
      baseDir: dir,
      logger: createLogger({ ...config.log, level: "silent" }),
    });
    await service.close();
    return null;
  } catch (error) {
    return error;
  }
}

describe("two-way start checks", () => {
  it("rejects a mapping to a GHL money field", async () => {
    ghl = await startGhlSandbox({
      locations: [{ id: LOCATION_ID, token: GHL_TOKEN }],
      logger: false,
    });
    ghl.addCustomField(LOCATION_ID, {
      name: "Deal value",
      fieldKey: "contact.deal_value",
      dataType: "MONETORY",
    });
    const error = await start({
      sync: { contacts: { direction: "two_way" } },
      mapping: { contact: { custom_fields: { "contact.deal_value": "deal" } } },
    });
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toContain(
      "mapping.contact.custom_fields.contact.deal_value",
    );
    expect((error as Error).message).toContain('money field "Deal value"');
  });

  it("accepts the money field one way", async () => {
    ghl = await startGhlSandbox({
      locations: [{ id: LOCATION_ID, token: GHL_TOKEN }],
      logger: false,
    });
    ghl.addCustomField(LOCATION_ID, {
      name: "Deal value",
      fieldKey: "contact.deal_value",
      dataType: "MONETORY",
    });
    const error = await start({
      mapping: { contact: { custom_fields: { "contact.deal_value": "deal" } } },
    });
    expect(error).toBeNull();
  });

  it("rejects a transform without inverse", async () => {
    const error = await start({
      sync: { contacts: { direction: "coopel_to_ghl" } },
      mapping: {
        contact: {
          fields: {
            firstName: {
              to: "first_name",
              transforms: [{ name: "default", value: "Unknown" }],
            },
          },
        },
      },
    });
    expect(error).toBeInstanceOf(StartupError);
    expect((error as Error).message).toMatch(
      /fields\.firstName .*default.*to_ghl_transforms/,
    );
  });
});

describe("two-way start warnings", () => {
  it("warns when no Coopel change can be found", async () => {
    const h = await startHarness({
      sync: { contacts: { direction: "two_way" } },
    });
    try {
      const warning = h.logLines.find(
        (line) =>
          line.level === 40 &&
          String(line.msg).includes(
            "neither coopel.webhooks nor coopel.polling is set",
          ),
      );
      expect(warning).toBeDefined();
      const response = await fetch(`${h.service.url}/webhooks/coopel`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(response.status).toBe(404);
    } finally {
      await h.close();
    }
  });
});
