import { createSign, sign, createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { createLogger } from "../../src/runtime/logger.js";
import { startService, type Service } from "../../src/runtime/service.js";
import {
  startCoopelSandbox,
  type CoopelSandbox,
  type CoopelSandboxOptions,
} from "../../src/sandbox/coopel-sandbox.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../../src/sandbox/ghl-sandbox.js";

export const LOCATION_ID = "ve9EPM428h8vShlRW1KT";
export const COOPEL_TOKEN = "test-coopel-token";
export const GHL_TOKEN = "test-location-token";
/** Admin bearer token of test services, for /metrics and admin routes. */
export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123456789";
const keysDir = path.resolve(import.meta.dirname, "../../src/sandbox/keys");
const edPrivate = createPrivateKey(
  readFileSync(path.join(keysDir, "ghl-sandbox-ed25519.key")),
);
const rsaPrivate = createPrivateKey(
  readFileSync(path.join(keysDir, "ghl-sandbox-rsa.key")),
);

/** Reads an official GHL webhook example from the fixtures. */
export function fixture(name: string): Record<string, unknown> {
  const file = path.resolve(
    import.meta.dirname,
    "../../fixtures/ghl/webhooks",
    `${name}.json`,
  );
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
}

export type SignWith = "ed25519" | "rsa" | "none";

/** Signature headers for `raw`, made with the sandbox keys. */
export function signatureHeaders(
  raw: string | Buffer,
  signWith: SignWith,
): Record<string, string> {
  const bytes = Buffer.from(raw);
  if (signWith === "ed25519")
    return {
      "x-ghl-signature": sign(null, bytes, edPrivate).toString("base64"),
    };
  if (signWith === "rsa")
    return {
      "x-wh-signature": createSign("SHA256")
        .update(bytes)
        .sign(rsaPrivate, "base64"),
    };
  return {};
}

export interface Harness {
  service: Service;
  coopel: CoopelSandbox;
  /** The GHL sandbox that the service reads from (tasks, custom fields, businesses). */
  ghl: GhlSandbox;
  dir: string;
  logLines: Record<string, unknown>[];
  config: ConfigInput;
  post(
    payload: unknown,
    options?: {
      signWith?: SignWith;
      raw?: string;
      headers?: Record<string, string>;
    },
  ): Promise<Response>;
  waitForIdle(timeoutMs?: number): Promise<void>;
  /** Stops the service, keeping the data folder; `restart` opens it again. */
  stopService(): Promise<void>;
  restart(overrides?: Partial<ConfigInput>): Promise<void>;
  close(): Promise<void>;
}

/** Config overrides of a test; `ghl` and `coopel` are merged over the test defaults. */
export type TestOverrides = Omit<Partial<ConfigInput>, "ghl" | "coopel"> & {
  ghl?: Partial<NonNullable<ConfigInput["ghl"]>>;
  coopel?: Partial<ConfigInput["coopel"]>;
};

/** Builds the configuration a test service runs with. */
export function testConfig(
  dir: string,
  coopelUrl: string,
  overrides: TestOverrides = {},
  ghlUrl = "http://127.0.0.1:9",
): ConfigInput {
  const base: ConfigInput = {
    store: { url: `sqlite:${path.join(dir, "sync.db")}` },
    server: { host: "127.0.0.1", port: 0 },
    ghl: {
      base_url: ghlUrl,
      locations: [{ id: LOCATION_ID, token: GHL_TOKEN }],
      webhooks: {
        ed25519_public_keys: [
          path.join(keysDir, "ghl-sandbox-ed25519.pub.pem"),
        ],
        rsa_public_keys: [path.join(keysDir, "ghl-sandbox-rsa.pub.pem")],
      },
    },
    coopel: {
      base_url: coopelUrl,
      token: COOPEL_TOKEN,
      timeout_ms: 2000,
    },
    worker: {
      concurrency: 8,
      poll_ms: 20,
      retry_base_ms: 20,
      retry_max_ms: 200,
    },
    log: { level: "debug", pretty: "never" },
    admin: { token: ADMIN_TOKEN, secure_cookies: false },
  };
  return deepMerge(base, overrides) as ConfigInput;
}

/**
 * Merges plain objects key by key; arrays and other values in `override`
 * replace, and a key set to undefined in `override` is removed.
 */
export function deepMerge(base: unknown, override: unknown): unknown {
  const isPlain = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isPlain(base) || !isPlain(override))
    return override === undefined ? base : override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) delete merged[key];
    else merged[key] = deepMerge(base[key], value);
  }
  return merged;
}

/**
 * Starts a Coopel sandbox, a GHL sandbox and the service on a fresh SQLite
 * file, all on 127.0.0.1. `ghlLocations` adds GHL sandbox locations beyond
 * the default one (give their tokens in the config overrides too).
 */
export async function startHarness(
  overrides: TestOverrides = {},
  /** Coopel sandbox options, or extra GHL sandbox locations when an array. */
  extra: Partial<CoopelSandboxOptions> | { id: string; token: string }[] = {},
): Promise<Harness> {
  const sandboxOptions = Array.isArray(extra) ? {} : extra;
  const ghlLocations = Array.isArray(extra) ? extra : [];
  const dir = mkdtempSync(path.join(tmpdir(), "ghl-coopel-sync-"));
  const coopel = await startCoopelSandbox({
    token: COOPEL_TOKEN,
    logger: false,
    ...sandboxOptions,
  });
  const ghl = await startGhlSandbox({
    locations: [{ id: LOCATION_ID, token: GHL_TOKEN }, ...ghlLocations],
    logger: false,
  });
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split("\n"))
        if (line.trim() !== "")
          logLines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  let config = testConfig(dir, coopel.url, overrides, ghl.url);
  const logger = createLogger(parseConfig(config).log, sink);
  let service: Service | null = null;

  const open = async (): Promise<Service> => {
    service = await startService({
      config: parseConfig(config),
      baseDir: dir,
      logger,
    });
    return service;
  };
  await open();

  const harness: Harness = {
    get service() {
      if (!service) throw new Error("service is stopped");
      return service;
    },
    coopel,
    ghl,
    dir,
    logLines,
    get config() {
      return config;
    },
    async post(payload, options = {}) {
      const raw = options.raw ?? JSON.stringify(payload);
      return fetch(`${harness.service.url}/webhooks/ghl`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...signatureHeaders(raw, options.signWith ?? "ed25519"),
          ...options.headers,
        },
        body: raw,
      });
    },
    async waitForIdle(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await harness.service.queue.depth()) > 0) {
        if (Date.now() > deadline)
          throw new Error(`queue not idle after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stopService() {
      await service?.close(1000);
      service = null;
    },
    async restart(more = {}) {
      await harness.stopService();
      config = deepMerge(config, more) as ConfigInput;
      await open();
    },
    async close() {
      await harness.stopService();
      await coopel.close();
      await ghl.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
