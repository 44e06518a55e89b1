import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { ConfigInput } from "../src/config/schema.js";
import {
  startCoopelSandbox,
  type CoopelSandbox,
} from "../src/sandbox/coopel-sandbox.js";
import {
  COOPEL_TOKEN,
  fixture,
  signatureHeaders,
  testConfig,
} from "./helpers/harness.js";
import { createTestDatabase, type TestDatabase } from "./helpers/postgres.js";
import {
  startServiceProcess,
  waitFor,
  type ServiceProcess,
} from "./helpers/processes.js";

let database: TestDatabase;
let coopel: CoopelSandbox;
let dir: string;
let processes: ServiceProcess[] = [];

beforeEach(async () => {
  database = await createTestDatabase();
  coopel = await startCoopelSandbox({ token: COOPEL_TOKEN, logger: false });
  dir = mkdtempSync(path.join(tmpdir(), "scale-out-"));
});

afterEach(async () => {
  for (const p of processes)
    if (p.child.exitCode === null) p.child.kill("SIGKILL");
  await Promise.all(processes.map((p) => p.exited));
  processes = [];
  await coopel.close();
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(worker: ConfigInput["worker"] = {}): string {
  const file = path.join(dir, "sync.config.yaml");
  const config = testConfig(dir, coopel.url, {
    store: { url: database.url },
    worker: {
      concurrency: 8,
      poll_ms: 50,
      lease_ms: 5_000,
      max_attempts: 30,
      retry_base_ms: 10,
      retry_max_ms: 100,
      ...worker,
    },
    log: { level: "debug", pretty: "never" },
  });
  writeFileSync(file, stringify(config));
  return file;
}

async function start(
  file: string,
  role: "receiver" | "worker" | "all",
): Promise<ServiceProcess> {
  const started = await startServiceProcess(file, role);
  processes.push(started);
  return started;
}

/** The webhook for change `n` of contact `i`: n = 0 creates it, later ones rename it. */
function contactEvent(i: number, n: number): Record<string, unknown> {
  const base = fixture(n === 0 ? "ContactCreate" : "ContactUpdate");
  return {
    ...base,
    webhookId: `wh-${i}-${n}`,
    id: `ghl-contact-${i}`,
    email: `contact${i}@example.com`,
    phone: `+1415555${String(1000 + i).padStart(4, "0")}`,
    firstName: `v${n}`,
  };
}

/** Sends every change of every contact: changes of one contact in order, contacts in parallel. */
async function sendAll(
  url: string,
  contacts: number,
  changes: number,
  parallel: number,
  onSent?: (count: number) => void,
): Promise<void> {
  let next = 0;
  let sent = 0;
  const sender = async () => {
    for (let i = next++; i < contacts; i = next++) {
      for (let n = 0; n < changes; n++) {
        const raw = JSON.stringify(contactEvent(i, n));
        for (let tries = 0; ; tries++) {
          const response = await fetch(`${url}/webhooks/ghl`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              ...signatureHeaders(raw, "ed25519"),
            },
            body: raw,
          });
          await response.arrayBuffer();
          if (response.status === 200) break;
          // GHL delivers again after a 429; any other status would lose the event.
          expect(response.status).toBe(429);
          expect(tries).toBeLessThan(50);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        onSent?.(++sent);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, sender));
}

async function activeJobs(): Promise<{ pending: number; running: number }> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ state: string; n: number }>(
      "SELECT state, COUNT(*)::int AS n FROM jobs WHERE state IN ('pending', 'running') GROUP BY state",
    );
    const count = (state: string) =>
      rows.find((r) => r.state === state)?.n ?? 0;
    return { pending: count("pending"), running: count("running") };
  } catch {
    return { pending: -1, running: -1 };
  } finally {
    await client.end();
  }
}

/** Jobs that ended merged into a newer update of the same contact. */
async function coalescedJobs(): Promise<number> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT COUNT(*)::int AS n FROM jobs WHERE state = 'done' AND reason = 'coalesced'",
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

async function leaseOwners(): Promise<string[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ lease_owner: string }>(
      "SELECT DISTINCT lease_owner FROM jobs WHERE state = 'running'",
    );
    return rows.map((r) => r.lease_owner);
  } finally {
    await client.end();
  }
}

async function idle(): Promise<boolean> {
  const jobs = await activeJobs();
  return jobs.pending === 0 && jobs.running === 0;
}

/**
 * Checks what Coopel holds after `changes` changes of `contacts` contacts:
 * one record per GHL contact with the last value, and, per contact, the
 * values written in the order they were made.
 */
function expectSyncedInOrder(contacts: number, changes: number): void {
  const records = [...coopel.contacts.values()];
  const byGhlId = new Map(records.map((r) => [r.external_id as string, r]));
  expect(records).toHaveLength(contacts);
  expect(byGhlId.size).toBe(contacts);
  const ghlIdByCoopelId = new Map(
    records.map((r) => [r.id, r.external_id as string]),
  );
  for (let i = 0; i < contacts; i++)
    expect(byGhlId.get(`ghl-contact-${i}`)?.first_name).toBe(`v${changes - 1}`);

  const written = new Map<string, number[]>();
  for (const request of coopel.requests) {
    if (request.status === null || request.status >= 300) continue;
    const body = request.body as Record<string, unknown> | undefined;
    if (typeof body?.first_name !== "string") continue;
    let ghlId: string | undefined;
    if (request.method === "POST" && request.route === "/contacts/")
      ghlId = body.external_id as string;
    else if (
      request.method === "PUT" &&
      request.route === "/contacts/:contactId"
    )
      ghlId = ghlIdByCoopelId.get(request.path.split("/")[2]!);
    if (!ghlId) continue;
    const list = written.get(ghlId) ?? [];
    list.push(Number(body.first_name.slice(1)));
    written.set(ghlId, list);
  }
  for (const [ghlId, values] of written) {
    const sorted = [...values].sort((a, b) => a - b);
    expect(values, `writes to ${ghlId} out of order`).toEqual(sorted);
  }
}

function jobsFinishedBy(p: ServiceProcess): number {
  return p.lines.filter((l) => l.msg === "job finished").length;
}

describe("scale-out on PostgreSQL", () => {
  it(
    "one receiver and two workers sync 5,000 events over 200 contacts in order, with faults on",
    { timeout: 240_000 },
    async () => {
      coopel.setFaults({
        seed: 7,
        routes: {
          "*": { errorRate: { 500: 0.03, 503: 0.03, 429: 0.02 } },
          "POST /contacts/": { afterHandlerTimeoutRate: 0.02, holdMs: 100 },
          "PUT /contacts/:contactId": {
            errorRate: { 500: 0.03, 503: 0.03 },
            afterHandlerTimeoutRate: 0.01,
            holdMs: 100,
          },
        },
      });
      const file = writeConfig();
      const receiver = await start(file, "receiver");
      const workers = [
        await start(file, "worker"),
        await start(file, "worker"),
      ];

      const contacts = 200;
      const changes = 25;
      await sendAll(receiver.url, contacts, changes, 32);
      await waitFor(idle, 180_000, "queue drained");

      expectSyncedInOrder(contacts, changes);
      // Every event either ran on a worker or merged into a newer update
      // of its contact, and both workers took a fair share of the runs.
      const ran = jobsFinishedBy(workers[0]!) + jobsFinishedBy(workers[1]!);
      expect(ran + (await coalescedJobs())).toBe(contacts * changes);
      for (const worker of workers)
        expect(jobsFinishedBy(worker)).toBeGreaterThan(ran / 5);
      expect(coopel.requests.some((r) => r.fault !== undefined)).toBe(true);
      // A receiver runs no jobs.
      expect(jobsFinishedBy(receiver)).toBe(0);
    },
  );

  it(
    "SIGTERM lets running jobs finish, and a killed worker's jobs run again after their lease",
    { timeout: 180_000 },
    async () => {
      coopel.setFaults({
        routes: { "*": { latencyMs: { min: 20, max: 60 } } },
      });
      const file = writeConfig({ lease_ms: 2_000 });
      const receiver = await start(file, "receiver");
      const stopping = await start(file, "worker");
      const killed = await start(file, "worker");

      const contacts = 60;
      const changes = 10;
      let signalled = false;
      await sendAll(receiver.url, contacts, changes, 16, (sent) => {
        if (sent === 200 && !signalled) {
          signalled = true;
          stopping.child.kill("SIGTERM");
        }
      });
      expect(await stopping.exited).toBe(0);
      expect(stopping.lines.some((l) => l.msg === "stopped")).toBe(true);
      // Had the stopped worker left a job unfinished, a second lease owner would show here.
      expect((await leaseOwners()).length).toBeLessThanOrEqual(1);
      const finishedBeforeStop = jobsFinishedBy(stopping);
      expect(finishedBeforeStop).toBeGreaterThan(0);

      await waitFor(
        () => jobsFinishedBy(killed) > 20,
        60_000,
        "second worker busy",
      );
      killed.child.kill("SIGKILL");
      await killed.exited;
      // Jobs the killed worker held stay leased until their lease ends; a new worker then runs them.
      const left = await activeJobs();
      expect(left.pending + left.running).toBeGreaterThan(0);
      const replacement = await start(file, "worker");
      await waitFor(idle, 120_000, "queue drained");
      expect(jobsFinishedBy(replacement)).toBeGreaterThan(0);

      expectSyncedInOrder(contacts, changes);
      receiver.child.kill("SIGTERM");
      expect(await receiver.exited).toBe(0);
    },
  );
});
