import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import pg from "pg";
import { stringify } from "yaml";
import type { Link } from "../src/engine/ports.js";
import { openSqlite } from "../src/store/sqlite/database.js";
import { writeLinks as writeSqliteLinks } from "../src/store/sqlite/links.js";
import {
  loadSandboxSigningKeys,
  signWebhookBody,
} from "../src/sandbox/webhook-signing.js";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const COOPEL_TOKEN = "bench-coopel-token";
const keysDir = path.join(ROOT, "src/sandbox/keys");
const fixtures = path.join(ROOT, "fixtures/ghl/webhooks");

export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(
    readFileSync(path.join(fixtures, `${name}.json`), "utf8"),
  ) as Record<string, unknown>;
}

/** Builds the GHL contact webhook for change `n` of contact `id`, signed as GHL signs it. */
export function signedContactEvent(
  locationId: string,
  id: string,
  n: number,
  webhookId: string,
): { body: string; headers: Record<string, string> } {
  const payload = {
    ...fixture(n === 0 ? "ContactCreate" : "ContactUpdate"),
    webhookId,
    locationId,
    id,
    email: `${id}@example.com`,
    phone: null,
    firstName: `v${n}`,
  };
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      "content-type": "application/json",
      ...signWebhookBody(body, loadSandboxSigningKeys(), "ed25519"),
    },
  };
}

/** Writes a service configuration for the benchmark into `dir` and returns its path. */
export function writeServiceConfig(
  dir: string,
  options: {
    storeUrl: string;
    coopelUrl: string;
    locations: string[];
    workerEnabled?: boolean;
    concurrency?: number;
    /** `sync.coalesce_ms`; the service's default when left out. */
    coalesceMs?: number;
    /** Further settings, merged key by key over the ones above. */
    overrides?: Record<string, unknown>;
  },
): string {
  const file = path.join(dir, `sync-${randomBytes(3).toString("hex")}.yaml`);
  const config: Record<string, unknown> = {
    store: { url: options.storeUrl },
    server: { host: "127.0.0.1", port: 0, max_inbox_depth: 10_000_000 },
    ghl: {
      locations: options.locations.map((id) => ({ id, token: "bench" })),
      webhooks: {
        ed25519_public_keys: [
          path.join(keysDir, "ghl-sandbox-ed25519.pub.pem"),
        ],
        rsa_public_keys: [path.join(keysDir, "ghl-sandbox-rsa.pub.pem")],
      },
    },
    coopel: { base_url: options.coopelUrl, token: COOPEL_TOKEN },
    ...(options.coalesceMs !== undefined
      ? { sync: { coalesce_ms: options.coalesceMs } }
      : {}),
    worker: {
      enabled: options.workerEnabled ?? true,
      concurrency: options.concurrency ?? 16,
      poll_ms: 50,
    },
    log: { level: "info", pretty: "never" },
  };
  writeFileSync(file, stringify(mergeDeep(config, options.overrides ?? {})));
  return file;
}

/** Returns `base` with `extra` laid over it; nested objects merge, other values replace. */
function mergeDeep(
  base: Record<string, unknown>,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const merged = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = merged[key];
    merged[key] =
      isPlainObject(current) && isPlainObject(value)
        ? mergeDeep(current, value)
        : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Peak resident set size of a process in megabytes (VmHWM), from /proc. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export interface Child {
  process: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** Extra node flags for service processes, e.g. `--cpu-prof` when profiling. */
export const childNodeFlags: string[] = [];

function spawnAndWait(args: string[], what: string): Promise<Child> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", ...childNodeFlags, ...args],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<void>((resolve) =>
    child.on("exit", () => resolve()),
  );
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} did not start in 30 s: ${err}`));
    }, 30_000);
    child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (match) {
        clearTimeout(timer);
        out = "";
        // Keep draining stdout so that a full pipe never stalls the child.
        child.stdout?.removeAllListeners("data");
        child.stdout?.resume();
        resolve({
          process: child,
          url: match[1]!,
          async stop() {
            if (child.exitCode === null) child.kill("SIGTERM");
            const timeout = setTimeout(() => child.kill("SIGKILL"), 15_000);
            await exited;
            clearTimeout(timeout);
          },
        });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${err}`));
    });
  });
}

export function startService(
  configFile: string,
  role: "all" | "receiver" | "worker",
): Promise<Child> {
  return spawnAndWait(
    ["bench/cli.ts", "start", "--config", configFile, "--role", role],
    `service (${role})`,
  );
}

export function startBareServer(): Promise<Child> {
  return spawnAndWait(["bench/bare-server.ts"], "bare Fastify server");
}

const BASE_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/postgres";

/** Creates an empty database for one part of the run; `drop` removes it. */
export async function createDatabase(): Promise<{
  url: string;
  drop(): Promise<void>;
}> {
  const name = `ghl_coopel_sync_bench_${randomBytes(5).toString("hex")}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: BASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** One keep-alive agent for the benchmark's own senders. */
export const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** Posts `body` and resolves with the status code. */
export function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  route = "/webhooks/ghl",
): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}${route}`,
      { method: "POST", agent, headers },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`${what}: not done in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resident set size of a process in megabytes, from /proc. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export function seedSqlite(file: string, links: Link[]): void {
  const db = openSqlite({ file, synchronous: "normal" });
  db.transaction(() => writeSqliteLinks(db, links))();
  db.close();
}
