import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { stringify } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { ContactMapping } from "../../src/mapping/contact-mapping.js";
import {
  startCoopelSandbox,
  type CoopelSandbox,
} from "../../src/sandbox/coopel-sandbox.js";
import type { FaultConfig } from "../../src/sandbox/faults.js";
import { createSeededRandom } from "../../src/sandbox/random.js";
import {
  loadSandboxSigningKeys,
  signWebhookBody,
} from "../../src/sandbox/webhook-signing.js";
import {
  planChaosEvents,
  type ChaosContact,
  type PlannedDelivery,
} from "./plan.js";

const root = path.resolve(import.meta.dirname, "../..");
const keysDir = path.join(root, "src/sandbox/keys");
const COOPEL_TOKEN = "chaos-coopel-token";

export interface ChaosOptions {
  /** Webhook events to generate (before duplicates). */
  events: number;
  /** Kills to reach before the last start; the run keeps killing until every event is accepted. */
  minKills: number;
  /** Milliseconds the service runs between its start and the next kill, drawn uniformly. */
  killEveryMs: { min: number; max: number };
  /** Probability that a Coopel request meets an injected fault. */
  faultRate: number;
  duplicateRate: number;
  outOfOrderRate: number;
  locations: number;
  /** Concurrent webhook deliveries. */
  senders: number;
  seed: number;
  /** Gives up waiting for the queue to drain after this many milliseconds. */
  drainTimeoutMs: number;
  /** Whether the service runs from the compiled JavaScript in dist, which starts faster than through tsx. */
  fromDist: boolean;
  log?: (line: string) => void;
}

export const DEFAULT_CHAOS_OPTIONS: ChaosOptions = {
  events: 100_000,
  minKills: 20,
  killEveryMs: { min: 1000, max: 3000 },
  faultRate: 0.2,
  duplicateRate: 0.1,
  outOfOrderRate: 0.1,
  locations: 3,
  senders: 32,
  seed: 1,
  drainTimeoutMs: 600_000,
  fromDist: false,
};

export interface ChaosResult {
  events: number;
  deliveries: number;
  duplicatesSent: number;
  outOfOrder: number;
  kills: number;
  /** Contacts that should exist in Coopel and do not. */
  lost: number;
  /** Extra Coopel contacts for one GHL contact. */
  duplicates: number;
  /** Contacts whose Coopel fields differ from the newest GHL state, or that exist though deleted. */
  drift: number;
  replayed: number;
  coopelRequests: number;
  jobs: Record<string, number>;
  durationMs: number;
}

/**
 * Drives webhook events through the real service, started from the CLI as
 * a child process and killed with SIGKILL every few seconds, against a
 * Coopel sandbox that fails a share of requests. Afterwards it lets the
 * queue drain, replays the dead letters (the repair path) and compares the
 * Coopel sandbox with the newest state of every contact.
 */
export async function runChaos(
  options: ChaosOptions = DEFAULT_CHAOS_OPTIONS,
): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), "ghl-coopel-sync-chaos-"));
  const coopel = await startCoopelSandbox({
    token: COOPEL_TOKEN,
    logger: false,
  });
  const cli = cliCommand(options.fromDist);
  const service = new ServiceProcess(
    writeConfig(dir, coopel.url, options),
    cli,
  );
  try {
    coopel.setFaults(chaosFaults(options.faultRate, options.seed));
    const plan = planChaosEvents(options);
    log(
      `chaos: ${plan.contacts.length} contacts, ${options.events} events, ${plan.deliveries.length} deliveries (${plan.duplicatesSent} duplicates, ${plan.outOfOrder} out of order), ${Math.round(options.faultRate * 100)} % Coopel faults`,
    );

    const sender = new Sender(plan.deliveries, options.senders, service);
    const sending = sender.run();
    let kills = 0;
    const random = createSeededRandom(options.seed + 1);
    while (!sender.done || kills < options.minKills) {
      await service.start();
      const upMs =
        options.killEveryMs.min +
        random() * (options.killEveryMs.max - options.killEveryMs.min);
      await Promise.race([delay(upMs), sender.finished]);
      if (sender.done && kills >= options.minKills) break;
      await service.kill();
      kills += 1;
      log(
        `chaos: kill ${kills} after ${Math.round(upMs)} ms; ${sender.accepted} of ${plan.deliveries.length} deliveries accepted`,
      );
    }
    await sending;
    // The last kill can come after the last delivery; draining needs a service.
    if (service.url === null) await service.start();
    log(`chaos: all deliveries accepted after ${kills} kills; draining`);

    const dbFile = path.join(dir, "sync.db");
    await waitForDrain(dbFile, options.drainTimeoutMs);
    const replayed = await replayDeadLetters(dir, cli);
    if (replayed > 0) {
      log(`chaos: replayed ${replayed} dead letters; draining again`);
      await waitForDrain(dbFile, options.drainTimeoutMs);
    }
    await service.stop();

    const comparison = await compare(coopel, plan.contacts);
    for (const id of comparison.examples)
      log(
        `chaos: ${id} differs; its jobs: ${JSON.stringify(jobsOf(dbFile, id))}`,
      );
    return {
      events: options.events,
      deliveries: plan.deliveries.length,
      duplicatesSent: plan.duplicatesSent,
      outOfOrder: plan.outOfOrder,
      kills,
      lost: comparison.lost,
      duplicates: comparison.duplicates,
      drift: comparison.drift,
      replayed,
      coopelRequests: coopel.requests.length,
      jobs: jobCounts(dbFile),
      durationMs: Date.now() - started,
    };
  } finally {
    await service.kill();
    await coopel.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Spreads `rate` over the fault kinds on every route, mixing 429s with and without Retry-After. */
function chaosFaults(rate: number, seed: number): FaultConfig {
  const share = rate / 6;
  const faults = {
    errorRate: { 500: share, 503: share, 429: share },
    timeoutRate: share,
    resetRate: share,
    afterHandlerTimeoutRate: share,
    holdMs: 1500,
  };
  return {
    seed,
    routes: {
      "*": faults,
      // Lookups get their 429s with a Retry-After header; writes without one.
      "GET *": { ...faults, retryAfterSeconds: 1 },
    },
  };
}

function writeConfig(
  dir: string,
  coopelUrl: string,
  options: ChaosOptions,
): string {
  const locations = Array.from({ length: options.locations }, (_, i) => ({
    id: chaosLocationId(i),
    token: `chaos-location-token-${i}`,
  }));
  const config: ConfigInput = {
    store: { url: `sqlite:${path.join(dir, "sync.db")}` },
    server: { host: "127.0.0.1", port: 0 },
    ghl: {
      locations,
      webhooks: {
        ed25519_public_keys: [
          path.join(keysDir, "ghl-sandbox-ed25519.pub.pem"),
        ],
        rsa_public_keys: [path.join(keysDir, "ghl-sandbox-rsa.pub.pem")],
      },
    },
    coopel: { base_url: coopelUrl, token: COOPEL_TOKEN, timeout_ms: 1000 },
    // The run drives contact events only and has no GHL API to read tasks from.
    sync: {
      tasks: { enabled: false },
      notes: { enabled: false },
      tags: { enabled: false },
    },
    worker: {
      concurrency: 16,
      poll_ms: 20,
      // Far longer than a job takes (a few requests of at most 1 s each).
      // Workers renew it while a job runs, and a killed worker's jobs run
      // again 10 s after its last renewal.
      lease_ms: 10_000,
      max_attempts: 12,
      retry_base_ms: 50,
      retry_max_ms: 2000,
    },
    log: { level: "info", pretty: "never" },
  };
  parseConfig(config);
  const file = path.join(dir, "sync.config.yaml");
  writeFileSync(file, stringify(config));
  return file;
}

export function chaosLocationId(index: number): string {
  return `chaosLocation${String(index).padStart(8, "0")}`;
}

/** The service started from the CLI in a child process, so that SIGKILL hits the real thing. */
class ServiceProcess {
  private child: ChildProcess | null = null;
  url: string | null = null;

  constructor(
    private readonly configFile: string,
    private readonly cli: string[],
  ) {}

  start(): Promise<void> {
    const child = spawn(
      process.execPath,
      [...this.cli, "start", "--config", this.configFile],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    // Leaves no service behind when the chaos run itself exits early.
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    child.once("exit", () => process.off("exit", killOnExit));
    return new Promise((resolve, reject) => {
      // The worker may log retries before the start line, so every complete
      // line is checked; `tail` keeps the last output for error messages.
      let partial = "";
      let tail = "";
      let started = false;
      const timer = setTimeout(() => {
        reject(new Error(`service did not start within 60 s: ${tail}`));
      }, 60_000);
      child.stdout?.on("data", (chunk: Buffer) => {
        if (started) return;
        const lines = (partial + chunk.toString()).split("\n");
        partial = lines.pop() ?? "";
        tail = (tail + chunk.toString()).slice(-4000);
        for (const line of lines) {
          const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(line);
          if (!match) continue;
          started = true;
          clearTimeout(timer);
          this.url = match[1]!;
          resolve();
          return;
        }
      });
      child.stderr?.on("data", (chunk: Buffer) => {
        tail = (tail + chunk.toString()).slice(-4000);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (this.child === child) this.url = null;
        reject(
          new Error(
            `service exited with ${code ?? signal} before it started: ${tail}`,
          ),
        );
      });
    });
  }

  /** Sends SIGKILL and waits for the exit. */
  async kill(): Promise<void> {
    const child = this.child;
    this.url = null;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  /** Sends SIGTERM and waits up to 15 s for a clean exit, then kills. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
    this.child = null;
    this.url = null;
  }
}

/**
 * Delivers webhooks with `concurrency` senders and resends each one until
 * the service returns 200. NOTE: GHL itself redelivers only after a 429;
 * a delivery refused while the service is down needs a repair by polling
 * in production, which this sender stands in for by resending.
 */
class Sender {
  accepted = 0;
  done = false;
  readonly finished: Promise<void>;
  private markFinished: () => void = () => undefined;
  private next = 0;
  private readonly signingKeys = loadSandboxSigningKeys();
  /** Agent that keeps connections open between deliveries. */
  private readonly agent = new http.Agent({ keepAlive: true });

  constructor(
    private readonly deliveries: PlannedDelivery[],
    private readonly concurrency: number,
    private readonly service: ServiceProcess,
  ) {
    this.finished = new Promise((resolve) => {
      this.markFinished = resolve;
    });
  }

  async run(): Promise<void> {
    const lanes = Array.from({ length: this.concurrency }, () => this.lane());
    await Promise.all(lanes);
    this.agent.destroy();
    this.done = true;
    this.markFinished();
  }

  private async lane(): Promise<void> {
    while (this.next < this.deliveries.length) {
      const delivery = this.deliveries[this.next++]!;
      const headers = {
        "content-type": "application/json",
        ...signWebhookBody(delivery.body, this.signingKeys, "ed25519"),
      };
      while (!(await this.post(delivery.body, headers)))
        await delay(50 + Math.random() * 150);
      this.accepted += 1;
    }
  }

  private post(
    body: string,
    headers: Record<string, string>,
  ): Promise<boolean> {
    const url = this.service.url;
    if (url === null) return Promise.resolve(false);
    return new Promise((resolve) => {
      const request = http.request(
        `${url}/webhooks/ghl`,
        { method: "POST", agent: this.agent, headers, timeout: 5000 },
        (response) => {
          response.resume();
          response.on("end", () => resolve(response.statusCode === 200));
          response.on("error", () => resolve(false));
        },
      );
      request.on("timeout", () => request.destroy());
      request.on("error", () => resolve(false));
      request.end(body);
    });
  }
}

async function waitForDrain(dbFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const db = new BetterSqlite3(dbFile, { readonly: true });
  try {
    for (;;) {
      const { n } = db
        .prepare(
          "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('pending', 'running')",
        )
        .get() as { n: number };
      if (n === 0) return;
      if (Date.now() > deadline)
        throw new Error(
          `${n} jobs still unfinished after ${timeoutMs} ms of draining`,
        );
      await delay(200);
    }
  } finally {
    db.close();
  }
}

/** Returns the node arguments that run the command line, from dist or from source. */
function cliCommand(fromDist: boolean): string[] {
  if (!fromDist)
    return ["--import", "tsx", path.join(root, "scripts/cli-from-source.ts")];
  const bin = path.join(root, "bin/ghl-coopel-sync.js");
  const main = path.join(root, "dist/cli/main.js");
  if (!existsSync(main))
    throw new Error(`${main} not found; run npm run build first`);
  return [bin];
}

/** Compiles src into dist with the build's TypeScript settings, so that dist matches the source. */
export function buildService(): void {
  execFileSync(
    process.execPath,
    [
      path.join(root, "node_modules/typescript/bin/tsc"),
      "-p",
      path.join(root, "tsconfig.build.json"),
    ],
    { cwd: root, stdio: "inherit" },
  );
}

/** Runs `replay --all` through the CLI and returns how many dead letters it queued. */
function replayDeadLetters(dir: string, cli: string[]): Promise<number> {
  const child = spawn(
    process.execPath,
    [...cli, "replay", "--all", "--config", path.join(dir, "sync.config.yaml")],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`replay did not finish within 60 s: ${output}`));
    }, 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      const match = /replayed (\d+)/.exec(output);
      if (code !== 0 || !match)
        reject(new Error(`replay failed with exit code ${code}: ${output}`));
      else resolve(Number(match[1]));
    });
  });
}

async function compare(
  coopel: CoopelSandbox,
  contacts: ChaosContact[],
): Promise<{
  lost: number;
  duplicates: number;
  drift: number;
  examples: string[];
}> {
  const mapping = new ContactMapping(
    parseConfig({ coopel: { base_url: "http://127.0.0.1:1", token: "t" } })
      .mapping,
  );
  const byGhlId = new Map<string, Record<string, unknown>[]>();
  for (const contact of coopel.contacts.values()) {
    const ghlId =
      typeof contact.external_id === "string" ? contact.external_id : "";
    const list = byGhlId.get(ghlId) ?? [];
    list.push(contact);
    byGhlId.set(ghlId, list);
  }
  let lost = 0;
  let duplicates = 0;
  let drift = 0;
  const examples: string[] = [];
  for (const contact of contacts) {
    const found = byGhlId.get(contact.id) ?? [];
    duplicates += Math.max(0, found.length - 1);
    if (found.length > 1 && examples.length < 5) examples.push(contact.id);
    if (contact.deleted) {
      if (found.length > 0) drift += 1;
      if (found.length > 0 && examples.length < 5) examples.push(contact.id);
      continue;
    }
    const record = found[0];
    if (!record) {
      lost += 1;
      if (examples.length < 5) examples.push(contact.id);
      continue;
    }
    const expected = (await mapping.map(contact.final)).fields;
    const differs = Object.entries(expected).some(
      ([key, value]) => (record[key] ?? null) !== value,
    );
    if (differs) drift += 1;
    if (differs && examples.length < 5) {
      examples.push(contact.id);
      const fields = Object.keys(expected).filter(
        (key) => (record[key] ?? null) !== expected[key],
      );
      process.stderr.write(
        `chaos: ${contact.id} expected ${JSON.stringify(fields.map((f) => [f, expected[f]]))} found ${JSON.stringify(fields.map((f) => [f, record[f]]))}\n`,
      );
    }
  }
  return { lost, duplicates, drift, examples };
}

/** Reads the jobs of one contact, oldest first, to explain a difference. */
function jobsOf(dbFile: string, contactId: string): unknown[] {
  const db = new BetterSqlite3(dbFile, { readonly: true });
  try {
    return db
      .prepare(
        `SELECT id, type, state, reason, attempt, source_updated_at AS sourceUpdatedAt,
           json_extract(payload, '$.firstName') AS firstName, last_error AS lastError
         FROM jobs WHERE json_extract(payload, '$.id') = ? ORDER BY id`,
      )
      .all(contactId);
  } finally {
    db.close();
  }
}

function jobCounts(dbFile: string): Record<string, number> {
  const db = new BetterSqlite3(dbFile, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT state || ':' || COALESCE(reason, error_class, '-') AS key, COUNT(*) AS n
         FROM jobs GROUP BY key ORDER BY n DESC`,
      )
      .all() as { key: string; n: number }[];
    return Object.fromEntries(rows.map((row) => [row.key, row.n]));
  } finally {
    db.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
