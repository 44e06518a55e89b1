import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { loadConfigFile, type LoadedConfig } from "../../src/config/load.js";
import type { Link, ReviewItem } from "../../src/engine/ports.js";
import { openStorage } from "../../src/runtime/service.js";
import {
  startCoopelSandbox,
  type CoopelSandbox,
} from "../../src/sandbox/coopel-sandbox.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../../src/sandbox/ghl-sandbox.js";
import { runCli } from "./cli.js";
import { COOPEL_TOKEN, deepMerge, GHL_TOKEN, LOCATION_ID } from "./harness.js";

/** Both sandboxes and a config file for the one-shot sync commands, on a fresh SQLite file. */
export interface FirstSyncSetup {
  ghl: GhlSandbox;
  coopel: CoopelSandbox;
  dir: string;
  configFile: string;
  loaded(): LoadedConfig;
  /** Runs the CLI with `--config` added. */
  cli(
    args: string[],
    timeoutMs?: number,
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
  links(): Promise<Link[]>;
  reviewItems(): Promise<ReviewItem[]>;
  /** Write requests a sandbox received: every POST, PUT and DELETE except GHL's contact search. */
  writes(): { ghl: number; coopel: number };
  close(): Promise<void>;
}

export async function startFirstSync(
  overrides: Record<string, unknown> = {},
): Promise<FirstSyncSetup> {
  const dir = mkdtempSync(path.join(tmpdir(), "first-sync-"));
  const coopel = await startCoopelSandbox({
    token: COOPEL_TOKEN,
    logger: false,
  });
  const ghl = await startGhlSandbox({
    locations: [{ id: LOCATION_ID, token: GHL_TOKEN, allowDuplicates: true }],
    logger: false,
  });
  const config = deepMerge(
    {
      store: { url: `sqlite:${path.join(dir, "sync.db")}` },
      ghl: {
        base_url: ghl.url,
        locations: [{ id: LOCATION_ID, token: GHL_TOKEN }],
      },
      coopel: { base_url: coopel.url, token: COOPEL_TOKEN, timeout_ms: 5000 },
      log: { level: "warn", pretty: "never" },
    },
    overrides,
  );
  const configFile = path.join(dir, "sync.config.yaml");
  writeFileSync(configFile, stringify(config));
  const loaded = () => loadConfigFile(configFile);
  const withStorage = async <T>(
    work: (storage: Awaited<ReturnType<typeof openStorage>>) => Promise<T>,
  ): Promise<T> => {
    const storage = await openStorage(loaded().config, dir);
    try {
      return await work(storage);
    } finally {
      await storage.queue.close();
      await storage.store.close();
    }
  };
  const isWrite = (method: string): boolean =>
    method === "POST" || method === "PUT" || method === "DELETE";
  return {
    ghl,
    coopel,
    dir,
    configFile,
    loaded,
    cli: (args, timeoutMs = 60_000) =>
      runCli([...args, "--config", configFile], {}, timeoutMs),
    links: () => withStorage((s) => s.store.listLinks("contact", LOCATION_ID)),
    reviewItems: () => withStorage((s) => s.syncState.listReviewItems()),
    writes: () => ({
      ghl: ghl.requests.filter(
        (r) => isWrite(r.method) && r.path !== "/contacts/search",
      ).length,
      coopel: coopel.requests.filter((r) => isWrite(r.method)).length,
    }),
    async close() {
      await coopel.close();
      await ghl.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
