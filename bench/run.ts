// `npm run bench`: measures intake, end to end, coalescing, memory and
// scale-out on this machine, prints one table and writes it to BENCHMARKS.md.
// `--quick` runs every part small (the test suite runs it); `--profile`
// writes CPU profiles of the service processes to bench/profiles/.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import type { InboxEvent, Link } from "../src/engine/ports.js";
import { PostgresQueue } from "../src/queue/postgres-queue.js";
import {
  startCoopelSandbox,
  type CoopelSandbox,
} from "../src/sandbox/coopel-sandbox.js";
import { inTransaction, openPostgres } from "../src/store/postgres/database.js";
import { writeLinks as writePostgresLinks } from "../src/store/postgres/links.js";
import { migratePostgres } from "../src/store/postgres/migrations.js";
import { openSqlite } from "../src/store/sqlite/database.js";
import { budget, reconcileAtScale, type BenchRun } from "./ghl-parts.js";
import {
  childNodeFlags,
  COOPEL_TOKEN,
  createDatabase,
  fixture,
  percentile,
  post,
  ROOT,
  rssMb,
  seedSqlite,
  signedContactEvent,
  startBareServer,
  startService,
  waitUntil,
  writeServiceConfig,
  type Child,
} from "./lib.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const profile = args.includes("--profile");
const outIndex = args.indexOf("--out");
const outFile =
  outIndex >= 0
    ? path.resolve(args[outIndex + 1]!)
    : quick || args.includes("--only")
      ? null
      : path.join(ROOT, "BENCHMARKS.md");
if (profile) {
  const dir = path.join(ROOT, "bench/profiles");
  mkdirSync(dir, { recursive: true });
  childNodeFlags.push("--cpu-prof", `--cpu-prof-dir=${dir}`);
}

const LOCATION = "ve9EPM428h8vShlRW1KT";
const size = {
  intakeSeconds: quick ? 1 : 10,
  intakeRate: 1_000,
  e2eContacts: quick ? 100 : 500,
  e2eBurst: quick ? 500 : 10_000,
  e2eRate: 500,
  e2eRateSeconds: quick ? 1 : 10,
  coalesceUpdates: quick ? 200 : 1_000,
  coalesceContacts: 10,
  restLinks: quick ? 20_000 : 1_000_000,
  scaleEvents: quick ? 300 : 6_000,
  scaleContacts: quick ? 300 : 2_000,
  // NOTE: the sandboxes filter (Coopel) and sort (GHL) every contact for
  // each list page, so a page costs time in proportion to the count. At
  // 1 M the sandboxes, not reconcile, would take most of the time.
  reconcilePairs: quick ? 20_000 : 100_000,
};

interface Row {
  figure: string;
  measured: string;
  target: string;
  /** true met, false missed, null no target or not measured. */
  met: boolean | null;
}
const rows: Row[] = [];
function row(
  figure: string,
  measured: string,
  target = "",
  met: boolean | null = null,
): void {
  rows.push({ figure, measured, target, met });
  process.stderr.write(
    `  ${figure}: ${measured}${target ? ` (target ${target})` : ""}\n`,
  );
}

const fmt = (n: number | null, digits = 0) =>
  n === null
    ? "n/a"
    : n.toLocaleString("en-US", {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
      });

const loadAtStart = os.loadavg();
const work = mkdtempSync(path.join(tmpdir(), "ghl-coopel-sync-bench-"));
const cleanups: (() => Promise<void>)[] = [];

async function withCleanup<T>(fn: () => Promise<T>): Promise<T> {
  const mark = cleanups.length;
  try {
    return await fn();
  } finally {
    for (const cleanup of cleanups.splice(mark).reverse())
      await cleanup().catch(() => {});
  }
}

async function coopelSandbox(): Promise<CoopelSandbox> {
  const sandbox = await startCoopelSandbox({
    token: COOPEL_TOKEN,
    logger: false,
  });
  cleanups.push(() => sandbox.close());
  return sandbox;
}

async function service(
  file: string,
  role: "all" | "receiver" | "worker",
): Promise<Child> {
  const child = await startService(file, role);
  cleanups.push(() => child.stop());
  return child;
}

async function database(): Promise<string> {
  const db = await createDatabase();
  cleanups.push(() => db.drop());
  return db.url;
}

let eventSeq = 0;

/** Drives autocannon against `url` with fresh signed webhooks; `rate` caps requests per second. */
async function load(url: string, seconds: number, rate?: number) {
  const count = Math.ceil(seconds * (rate ?? 15_000));
  const bodies = Array.from({ length: count }, () => {
    const n = ++eventSeq;
    return signedContactEvent(LOCATION, `intake-${n}`, 1, `wh-intake-${n}`);
  });
  let next = 0;
  const result = await autocannon({
    url: `${url}/webhooks/ghl`,
    connections: rate ? 16 : 64,
    duration: seconds,
    ...(rate ? { overallRate: rate } : {}),
    requests: [
      {
        method: "POST",
        setupRequest: (request) => {
          const event = bodies[next++ % bodies.length]!;
          return { ...request, body: event.body, headers: event.headers };
        },
      },
    ],
  });
  const non2xx = result.non2xx + result.errors + result.timeouts;
  return {
    perSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: non2xx,
  };
}

async function intake(): Promise<void> {
  process.stderr.write("intake\n");
  const coopelUrl = "http://127.0.0.1:9";
  const bare = await withCleanup(async () => {
    const server = await startBareServer();
    cleanups.push(() => server.stop());
    return load(server.url, size.intakeSeconds);
  });
  row(
    "Intake, bare Fastify route",
    `${fmt(bare.perSecond)}/s, p50 ${bare.p50} ms, p99 ${bare.p99} ms`,
  );

  for (const mode of ["embedded", "PostgreSQL"] as const) {
    await withCleanup(async () => {
      const storeUrl =
        mode === "embedded"
          ? `sqlite:${path.join(work, `intake-${Date.now()}.db`)}`
          : await database();
      const file = writeServiceConfig(work, {
        storeUrl,
        coopelUrl,
        locations: [LOCATION],
        workerEnabled: false,
      });
      const receiver = await service(file, "receiver");
      const max = await load(receiver.url, size.intakeSeconds);
      const ratio = max.perSecond / bare.perSecond;
      const paced = await load(
        receiver.url,
        size.intakeSeconds,
        size.intakeRate,
      );
      const failed = max.failed + paced.failed;
      if (mode === "embedded") {
        row(
          "Intake, durable, embedded",
          `${fmt(max.perSecond)}/s (${fmt(ratio * 100)} % of bare), p50 ${max.p50} ms, p99 ${max.p99} ms${failed ? `, ${failed} not 200` : ""}`,
          "≥ 40 % of bare and ≥ 5,000/s",
          ratio >= 0.4 && max.perSecond >= 5_000,
        );
        row(
          `Intake, embedded, at ${fmt(size.intakeRate)}/s`,
          `p50 ${paced.p50} ms, p99 ${paced.p99} ms`,
          "p99 < 20 ms",
          paced.p99 < 20,
        );
      } else {
        row(
          "Intake, durable, PostgreSQL",
          `${fmt(max.perSecond)}/s (${fmt(ratio * 100)} % of bare), p50 ${max.p50} ms, p99 ${max.p99} ms${failed ? `, ${failed} not 200` : ""}`,
        );
        row(
          `Intake, PostgreSQL, at ${fmt(size.intakeRate)}/s`,
          `p50 ${paced.p50} ms, p99 ${paced.p99} ms`,
        );
      }
    });
  }
}

/** Coopel contacts that the links already point at, so that every change is one PUT. */
function seedContacts(
  sandbox: CoopelSandbox,
  prefix: string,
  count: number,
): Link[] {
  return Array.from({ length: count }, (_, i) => {
    const ghlId = `${prefix}-${i}`;
    const record = sandbox.userCreateContact({
      first_name: "v0",
      email: `${ghlId}@example.com`,
      external_id: ghlId,
    });
    return {
      entity: "contact" as const,
      ghlLocationId: LOCATION,
      ghlId,
      coopelAccountId: "default",
      coopelId: record.id,
      fieldHashes: {},
      deletedAt: null,
      updatedAt: Date.now(),
    };
  });
}

async function seedPostgres(url: string, links: Link[]): Promise<void> {
  const pool = openPostgres({ url });
  await migratePostgres(pool);
  await inTransaction(pool, (client) => writePostgresLinks(client, links));
  await pool.end();
}

/** Arrival times of the successful PUTs that wrote one of `values` as `first_name`. */
function writesOf(
  sandbox: CoopelSandbox,
  values: Set<string>,
): Map<string, number> {
  const found = new Map<string, number>();
  for (const request of sandbox.requests) {
    if (
      request.method !== "PUT" ||
      request.status === null ||
      request.status >= 300
    )
      continue;
    const value = (request.body as Record<string, unknown> | undefined)
      ?.first_name;
    if (typeof value === "string" && values.has(value))
      found.set(value, request.time);
  }
  return found;
}

/**
 * The newest `first_name` value of each contact among `events`. Pending
 * updates of one contact merge into the newest, so only these values are
 * sure to be written; waiting for every value would wait forever.
 */
function newestPerContact(
  events: { id: string; firstName: string }[],
): Set<string> {
  const newest = new Map<string, string>();
  for (const event of events) newest.set(event.id, event.firstName);
  return new Set(newest.values());
}

async function endToEnd(): Promise<void> {
  process.stderr.write("end to end\n");
  await withCleanup(async () => {
    const sandbox = await coopelSandbox();
    const links = seedContacts(sandbox, "e2e", size.e2eContacts);
    const file = path.join(work, `e2e-${Date.now()}.db`);
    seedSqlite(file, links);
    const config = writeServiceConfig(work, {
      storeUrl: `sqlite:${file}`,
      coopelUrl: sandbox.url,
      locations: [LOCATION],
    });
    const svc = await service(config, "all");

    // Throughput: a burst, as fast as the service takes it.
    const burst = Array.from({ length: size.e2eBurst }, (_, i) => {
      const n = ++eventSeq;
      return signedContactEvent(
        LOCATION,
        links[i % links.length]!.ghlId,
        n,
        `wh-e2e-${n}`,
      );
    });
    const burstValues = new Set(
      burst.map(
        (e) =>
          `v${(JSON.parse(e.body) as { firstName: string }).firstName.slice(1)}`,
      ),
    );
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < burst.length) {
          const event = burst[next++]!;
          while ((await post(svc.url, event.body, event.headers)) === 429)
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }),
    );
    await waitUntil(() => unfinishedJobs(file) === 0, 600_000, "burst written");
    const last = Math.max(...writesOf(sandbox, burstValues).values());
    const perSecond = (burst.length / (last - started)) * 1000;
    row(
      "End to end, one process, embedded",
      `${fmt(perSecond)} changes/s (${fmt(burst.length)} changes)`,
      "≥ 2,000/s",
      perSecond >= 2_000,
    );

    const withDelay = await pacedLatency(sandbox, svc.url, file, links);
    row(
      `End to end at ${size.e2eRate}/s, webhook to Coopel write, updates held ${DEFAULT_COALESCE_MS} ms`,
      `p50 ${fmt(withDelay.p50)} ms, p99 ${fmt(withDelay.p99)} ms`,
    );
  });

  // The same rate with updates not held for coalescing shows the service's
  // own latency, because by default every update waits 250 ms.
  await withCleanup(async () => {
    const sandbox = await coopelSandbox();
    const links = seedContacts(sandbox, "e2e-now", size.e2eContacts);
    const file = path.join(work, `e2e-now-${Date.now()}.db`);
    seedSqlite(file, links);
    const config = writeServiceConfig(work, {
      storeUrl: `sqlite:${file}`,
      coopelUrl: sandbox.url,
      locations: [LOCATION],
      coalesceMs: 0,
    });
    const svc = await service(config, "all");
    const { p50, p99 } = await pacedLatency(sandbox, svc.url, file, links);
    row(
      `End to end at ${size.e2eRate}/s, webhook to Coopel write, updates not held`,
      `p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms`,
      "p99 < 50 ms",
      p99 !== null && p99 < 50,
    );
  });
}

/** `sync.coalesce_ms` when the configuration leaves it out. */
const DEFAULT_COALESCE_MS = 250;

/** Sends changes at `size.e2eRate` per second and measures the time from each webhook to its Coopel write. */
async function pacedLatency(
  sandbox: CoopelSandbox,
  url: string,
  file: string,
  links: Link[],
): Promise<{ p50: number | null; p99: number | null }> {
  // The first second warms the service up (JIT, first statements and
  // connections) and is left out of the figures.
  const warmup = size.e2eRate;
  const total = warmup + size.e2eRate * size.e2eRateSeconds;
  const sentAt = new Map<string, number>();
  const begin = performance.now();
  const sends: Promise<number>[] = [];

  for (let i = 0; i < total; i++) {
    const due = begin + (i * 1000) / size.e2eRate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const n = ++eventSeq;
    const event = signedContactEvent(
      LOCATION,
      links[i % links.length]!.ghlId,
      n,
      `wh-e2e-${n}`,
    );
    if (i >= warmup) sentAt.set(`v${n}`, Date.now());
    sends.push(post(url, event.body, event.headers));
  }
  await Promise.all(sends);
  const pacedValues = new Set(sentAt.keys());
  await waitUntil(
    () => unfinishedJobs(file) === 0,
    120_000,
    "paced changes written",
  );

  // NOTE: updates merged into a newer one have no write of their own, so
  // the latencies cover the values that were written.
  const latencies = [...writesOf(sandbox, pacedValues)].map(
    ([value, at]) => at - sentAt.get(value)!,
  );
  return {
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
  };
}

/** Jobs of the SQLite store in `file` that are not finished yet. */
function unfinishedJobs(file: string): number {
  const db = openSqlite({ file, synchronous: "normal" });
  try {
    const row = db
      .prepare(
        "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('pending', 'running')",
      )
      .get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

async function coalescing(): Promise<void> {
  process.stderr.write("coalescing\n");
  await withCleanup(async () => {
    const sandbox = await coopelSandbox();
    const links = seedContacts(sandbox, "coalesce", size.coalesceContacts);
    const file = path.join(work, `coalesce-${Date.now()}.db`);
    seedSqlite(file, links);
    const config = writeServiceConfig(work, {
      storeUrl: `sqlite:${file}`,
      coopelUrl: sandbox.url,
      locations: [LOCATION],
    });
    const svc = await service(config, "all");
    const before = sandbox.requests.length;
    const events = Array.from({ length: size.coalesceUpdates }, (_, i) => {
      const n = ++eventSeq;
      return signedContactEvent(
        LOCATION,
        links[i % links.length]!.ghlId,
        n,
        `wh-co-${n}`,
      );
    });
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < events.length) {
          const event = events[next++]!;
          await post(svc.url, event.body, event.headers);
        }
      }),
    );
    // Posts from 32 senders arrive in any order, so the queue, not the last
    // value sent, tells when every update is handled.
    await waitUntil(
      () => unfinishedJobs(file) === 0,
      120_000,
      "updates handled",
    );
    const writes = sandbox.requests
      .slice(before)
      .filter((r) => r.method !== "GET").length;
    row(
      `Coalescing, ${fmt(events.length)} updates of ${size.coalesceContacts} contacts`,
      `${fmt(writes)} writes sent`,
      `${size.coalesceContacts} writes`,
      writes <= size.coalesceContacts,
    );
  });
}

async function memoryAtRest(): Promise<void> {
  process.stderr.write("memory at rest\n");
  await withCleanup(async () => {
    const file = path.join(work, `rest-${Date.now()}.db`);
    const db = openSqlite({ file, synchronous: "normal" });
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO links (entity, ghl_location_id, ghl_id, coopel_account_id, coopel_id, field_hashes, updated_at)
       SELECT 'contact', ?, 'ghl-' || i, 'default', 'coopel-' || i,
              '{"first_name":"0123456789abcdef","email":"0123456789abcdef"}', 0 FROM n`,
    ).run(size.restLinks, LOCATION);
    db.close();
    const config = writeServiceConfig(work, {
      storeUrl: `sqlite:${file}`,
      coopelUrl: "http://127.0.0.1:9",
      locations: [LOCATION],
    });
    const svc = await service(config, "all");
    await new Promise((resolve) => setTimeout(resolve, quick ? 500 : 2_000));
    const rss = rssMb(svc.process.pid!);
    const full = size.restLinks >= 1_000_000;
    row(
      `Memory at rest, ${fmt(size.restLinks)} links`,
      `RSS ${fmt(rss)} MB`,
      full ? "< 150 MB" : "< 150 MB (at 1 M links)",
      full ? rss < 150 : null,
    );
  });
}

function scaleEvent(ghlId: string, n: number): InboxEvent {
  return {
    source: "ghl",
    accountId: LOCATION,
    type: "ContactUpdate",
    orderingKey: `ghl:${LOCATION}:contact:${ghlId}`,
    deliveryId: `wh-scale-${n}`,
    receivedAt: Date.now(),
    payload: {
      ...fixture("ContactUpdate"),
      locationId: LOCATION,
      id: ghlId,
      email: `${ghlId}@example.com`,
      firstName: `v${n}`,
    },
  };
}

async function scaleOut(): Promise<void> {
  process.stderr.write("scale-out\n");
  const results = new Map<number, number>();
  for (const workers of [1, 2, 4]) {
    await withCleanup(async () => {
      const sandbox = await coopelSandbox();
      const links = seedContacts(
        sandbox,
        `scale${workers}`,
        size.scaleContacts,
      );
      const url = await database();
      await seedPostgres(url, links);
      const config = writeServiceConfig(work, {
        storeUrl: url,
        coopelUrl: sandbox.url,
        locations: [LOCATION],
      });
      await Promise.all(
        Array.from({ length: workers }, () => service(config, "worker")),
      );
      const pool = openPostgres({ url });
      const queue = new PostgresQueue(pool, { url });
      const events = Array.from({ length: size.scaleEvents }, (_, i) =>
        scaleEvent(links[i % links.length]!.ghlId, ++eventSeq),
      );
      const started = Date.now();
      for (let i = 0; i < events.length; i += 500)
        await queue.enqueue(events.slice(i, i + 500));
      await queue.close();
      await pool.end();
      const values = new Set(events.map((e) => e.payload.firstName as string));
      const newest = newestPerContact(
        events.map((e) => ({
          id: e.payload.id as string,
          firstName: e.payload.firstName as string,
        })),
      );
      await waitUntil(
        () => writesOf(sandbox, newest).size >= newest.size,
        600_000,
        `${workers} workers done`,
      );
      const last = Math.max(...writesOf(sandbox, values).values());
      results.set(workers, (events.length / (last - started)) * 1000);
    });
  }
  const one = results.get(1)!;
  const four = results.get(4)!;
  row(
    "Scale-out on PostgreSQL, 1 / 2 / 4 workers",
    `${fmt(one)} / ${fmt(results.get(2)!)} / ${fmt(four)} changes/s (4 workers: ${fmt(four / one, 2)} ×)`,
    "4 workers ≥ 2.5 × 1 worker",
    four / one >= 2.5,
  );
}

const benchRun: BenchRun = {
  quick,
  work,
  location: LOCATION,
  row,
  cleanups,
  withCleanup,
  fmt,
};

/**
 * Reconcile over linked pairs that agree. Below 1 M pairs the row gives a
 * linear extrapolation to 1 M, labelled as an estimate.
 */
async function reconcileRow(): Promise<void> {
  process.stderr.write("reconcile\n");
  const count = size.reconcilePairs;
  const result = await reconcileAtScale(benchRun, count);
  const full = count >= 1_000_000;
  const seconds = result.reconcileMs / 1000;
  const measured = `${fmt(seconds, 1)} s (process ${fmt(result.processSeconds, 1)} s with start-up), peak RSS ${fmt(result.peakMb)} MB, ${fmt(count)} linked pairs in agreement, ${fmt(result.ghlRequests)} GHL and ${fmt(result.coopelRequests)} Coopel requests`;
  const estimate = `; at 1 M, linearly: about ${fmt((seconds * 1_000_000) / count)} s (an estimate)`;
  row(
    `Reconcile, 1 M records per side${full ? "" : `, run with ${fmt(count)}`}`,
    full ? measured : measured + estimate,
    "< 60 s, peak RSS < 300 MB",
    full ? seconds < 60 && result.peakMb < 300 : null,
  );
}

function commit(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: ROOT,
    })
      .toString()
      .trim();
    const dirty =
      execFileSync("git", ["status", "--porcelain"], { cwd: ROOT })
        .toString()
        .trim() !== "";
    return dirty ? `${head} (with uncommitted changes)` : head;
  } catch {
    return "unknown";
  }
}

function table(): string {
  const cpus = os.cpus();
  const lines = [
    `Measured ${new Date().toISOString()}${quick ? " (quick run: small sizes, not comparable with the targets)" : ""}`,
    `Node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? "unknown CPU"}, ${fmt(os.totalmem() / 2 ** 30, 1)} GB RAM, commit ${commit()}`,
    `Load average (1 min) at start ${fmt(loadAtStart[0] ?? 0, 1)}, at end ${fmt(os.loadavg()[0] ?? 0, 1)}: other work on the machine shares its cores`,
    "",
    "| Figure | Measured | Target | Met |",
    "| --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.figure} | ${r.measured} | ${r.target || "–"} | ${r.met === null ? "–" : r.met ? "yes" : "**no**"} |`,
    ),
  ];
  return lines.join("\n");
}

const parts: [string, () => Promise<void>][] = [
  ["intake", intake],
  ["end to end", endToEnd],
  ["coalescing", coalescing],
  ["memory at rest", memoryAtRest],
  ["scale-out", scaleOut],
  ["budget", () => budget(benchRun)],
  ["reconcile", reconcileRow],
];
const onlyIndex = args.indexOf("--only");
const only = onlyIndex >= 0 ? args[onlyIndex + 1] : undefined;
if (only !== undefined && !parts.some(([name]) => name === only)) {
  process.stderr.write(
    `--only ${only}: not a part; use one of ${parts.map(([n]) => `"${n}"`).join(", ")}\n`,
  );
  process.exit(2);
}
let failures = 0;
try {
  for (const [name, part] of parts) {
    if (only !== undefined && name !== only) continue;
    try {
      await part();
    } catch (error) {
      failures++;
      row(
        name,
        `failed: ${(error as Error).message.split("\n")[0]}`,
        "",
        false,
      );
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const output = table();
process.stdout.write(`${output}\n`);
if (outFile) {
  writeFileSync(
    outFile,
    `# Benchmarks\n\nWritten by \`npm run bench\` on the machine named below; both sandboxes on 127.0.0.1, no injected latency. See the README (Benchmarks) for what each figure measures and what stands behind a missed target.\n\n${output}\n`,
  );
  process.stderr.write(`wrote ${outFile}\n`);
}
process.exitCode = failures > 0 ? 1 : 0;
