// The benchmark parts that talk to a GHL sandbox: the GHL write budget and
// reconcile at scale.
import { spawn } from "node:child_process";
import path from "node:path";
import type { Link } from "../src/engine/ports.js";
import { signCoopelBody } from "../src/server/coopel-webhook-route.js";
import { startCoopelSandbox } from "../src/sandbox/coopel-sandbox.js";
import {
  startGhlSandbox,
  type GhlSandbox,
} from "../src/sandbox/ghl-sandbox.js";
import {
  childNodeFlags,
  COOPEL_TOKEN,
  peakRssMb,
  post,
  ROOT,
  seedSqlite,
  startService,
  waitUntil,
  writeServiceConfig,
} from "./lib.js";

/** The runner's settings, table and cleanups that a part uses. */
export interface BenchRun {
  quick: boolean;
  work: string;
  location: string;
  row: (
    figure: string,
    measured: string,
    target?: string,
    met?: boolean | null,
  ) => void;
  cleanups: (() => Promise<void>)[];
  withCleanup: <T>(fn: () => Promise<T>) => Promise<T>;
  fmt: (n: number | null, digits?: number) => string;
}

/** Token of the benchmark's GHL locations, as `writeServiceConfig` sets it. */
const GHL_TOKEN = "bench";
const COOPEL_WEBHOOK_SECRET = "bench-coopel-webhook-secret";
/** Workers of the budget part: as many as may wait for one account's budget at a time. */
const BUDGET_CONCURRENCY = 4;

async function ghlSandbox(
  run: BenchRun,
  rateLimits?: { burst: number; intervalMs: number; daily: number },
): Promise<GhlSandbox> {
  const sandbox = await startGhlSandbox({
    locations: [{ id: run.location, token: GHL_TOKEN }],
    rateLimits,
    logger: false,
  });
  run.cleanups.push(() => sandbox.close());
  return sandbox;
}

async function coopelSandbox(run: BenchRun) {
  const sandbox = await startCoopelSandbox({
    token: COOPEL_TOKEN,
    logger: false,
  });
  run.cleanups.push(() => sandbox.close());
  return sandbox;
}

/**
 * Sends Coopel contact changes through the service's two-way path to a GHL
 * sandbox that enforces GHL's budget shape, time-scaled from 100 requests
 * per 10 s to 100 per 1 s. Compares the time taken with the least time the
 * budget allows for the GHL requests sent.
 */
export async function budget(run: BenchRun): Promise<void> {
  process.stderr.write("budget\n");
  const writes =
    Number(process.env.BENCH_BUDGET_WRITES ?? 0) || (run.quick ? 200 : 2_000);
  const limits = { burst: 100, intervalMs: 1_000, daily: 100_000_000 };
  await run.withCleanup(async () => {
    const ghl = await ghlSandbox(run, limits);
    const coopel = await coopelSandbox(run);
    const coopelIds: string[] = [];
    const links: Link[] = [];
    for (let i = 0; i < writes; i++) {
      const email = `budget-${i}@example.com`;
      const contact = ghl.userCreateContact(run.location, {
        firstName: "v0",
        email,
      });
      const record = coopel.userCreateContact({
        first_name: "v0",
        email,
        external_id: contact.id,
      });
      coopelIds.push(record.id);
      links.push({
        entity: "contact",
        ghlLocationId: run.location,
        ghlId: contact.id,
        coopelAccountId: "default",
        coopelId: record.id,
        fieldHashes: {},
        deletedAt: null,
        updatedAt: Date.now(),
      });
    }
    const file = path.join(run.work, `budget-${Date.now()}.db`);
    seedSqlite(file, links);
    const config = writeServiceConfig(run.work, {
      storeUrl: `sqlite:${file}`,
      coopelUrl: coopel.url,
      locations: [run.location],
      // Updates are not held, so the time taken is the budget's, not the hold's.
      coalesceMs: 0,
      // NOTE: at the default worker.concurrency of 16 the run does not
      // finish: jobs deferred by the budget run again from the start, and
      // their repeated GHL reads use up the budget that updates need.
      concurrency: BUDGET_CONCURRENCY,
      overrides: {
        ghl: {
          base_url: ghl.url,
          rate_limit: {
            requests: limits.burst,
            per_ms: limits.intervalMs,
            daily: null,
          },
        },
        coopel: { webhooks: { secret: COOPEL_WEBHOOK_SECRET } },
        // Coopel owns every field, so each change is one GHL update.
        sync: {
          contacts: { direction: "two_way", conflicts: { policy: "coopel" } },
        },
        polling: { contacts_minutes: 0 },
      },
    });
    const svc = await startService(config, "all");
    run.cleanups.push(() => svc.stop());

    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < coopelIds.length) {
          const id = coopelIds[next++]!;
          coopel.userUpdateContact(id, { first_name: "v1" });
          const body = JSON.stringify({
            event_id: `budget-${id}`,
            type: "contact.updated",
            contact: { id },
          });
          const headers = {
            "content-type": "application/json",
            "x-coopel-signature": signCoopelBody(COOPEL_WEBHOOK_SECRET, body),
          };
          while (
            (await post(svc.url, body, headers, "/webhooks/coopel")) === 429
          )
            await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }),
    );
    const updates = () =>
      ghl.requests.filter(
        (r) =>
          r.method === "PUT" &&
          r.route === "/contacts/:contactId" &&
          r.status !== null &&
          r.status < 300,
      );
    try {
      await waitUntil(
        () => updates().length >= writes,
        run.quick ? 30_000 : 300_000,
        "GHL updates written",
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}; GHL received ${describeRequests(ghl.requests)}`,
        { cause: error },
      );
    }
    const last = Math.max(...updates().map((r) => r.time));
    const sent = ghl.requests.filter((r) => r.time >= started);
    const rejected = sent.filter((r) => r.status === 429).length;
    const answered = sent.length - rejected;
    // With a full window at the start, R requests need ceil(R / burst) - 1
    // further windows.
    const floorMs =
      (Math.ceil(answered / limits.burst) - 1) * limits.intervalMs;
    const elapsed = last - started;
    const ratio = elapsed / floorMs;
    const { fmt } = run;
    run.row(
      `Budget, 2,000 writes at 100 per 10 s${run.quick ? `, run with ${fmt(writes)}` : ""}`,
      `${fmt(elapsed / 1000, 2)} s for ${fmt(answered)} GHL requests (${fmt(writes)} updates, ${fmt(answered - writes)} reads) against a floor of ${fmt(floorMs / 1000, 2)} s: ${fmt(ratio, 2)} × floor, ${fmt(rejected)} 429s (budget time-scaled to 100 per 1 s, ${BUDGET_CONCURRENCY} workers)`,
      "≤ 1.03 × floor, zero 429",
      ratio <= 1.03 && rejected === 0,
    );
  });
}

/**
 * Runs `reconcile` from the command line over `count` linked pairs that
 * agree, with both sandboxes in this process, and samples the peak RSS of
 * the reconcile process.
 */
export async function reconcileAtScale(
  run: BenchRun,
  count: number,
): Promise<{
  /** Duration of the run as reconcile reports it, without process start-up. */
  reconcileMs: number;
  processSeconds: number;
  peakMb: number;
  ghlRequests: number;
  coopelRequests: number;
}> {
  return run.withCleanup(async () => {
    const ghl = await ghlSandbox(run);
    const coopel = await coopelSandbox(run);
    const file = path.join(run.work, `reconcile-${Date.now()}.db`);
    const batch: Link[] = [];
    for (let i = 0; i < count; i++) {
      const email = `reconcile-${i}@example.com`;
      const contact = ghl.userCreateContact(run.location, {
        firstName: `First${i}`,
        lastName: `Last${i}`,
        email,
      });
      const record = coopel.userCreateContact({
        first_name: `First${i}`,
        last_name: `Last${i}`,
        email,
        external_id: contact.id,
      });
      batch.push({
        entity: "contact",
        ghlLocationId: run.location,
        ghlId: contact.id,
        coopelAccountId: "default",
        coopelId: record.id,
        fieldHashes: {},
        deletedAt: null,
        updatedAt: 0,
      });
      if (batch.length === 10_000) seedSqlite(file, batch.splice(0));
    }
    seedSqlite(file, batch.splice(0));
    const config = writeServiceConfig(run.work, {
      storeUrl: `sqlite:${file}`,
      coopelUrl: coopel.url,
      locations: [run.location],
      overrides: { ghl: { base_url: ghl.url }, log: { level: "warn" } },
    });

    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        ...childNodeFlags,
        "bench/cli.ts",
        "reconcile",
        "--json",
        "--config",
        config,
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    run.cleanups.push(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
      return Promise.resolve();
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    let peakMb = 0;
    const sampler = setInterval(() => {
      try {
        peakMb = Math.max(peakMb, peakRssMb(child.pid!));
      } catch {
        // The process has exited, so its last sample is the peak.
      }
    }, 100);
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) =>
      child.on("exit", resolve),
    );
    clearInterval(sampler);
    const processSeconds = (Date.now() - started) / 1000;
    if (code !== 0)
      throw new Error(
        `reconcile exited with ${code}: ${stderr.slice(0, 500)} ${stdout.slice(0, 500)}`,
      );
    const output = JSON.parse(stdout) as {
      summary: {
        inSync: number;
        durationMs: number;
        ghlRequests: number;
        coopelRequests: number;
      };
    };
    if (output.summary.inSync !== count)
      throw new Error(
        `reconcile found ${output.summary.inSync} of ${count} pairs in sync`,
      );
    return {
      reconcileMs: output.summary.durationMs,
      processSeconds,
      peakMb,
      ghlRequests: output.summary.ghlRequests,
      coopelRequests: output.summary.coopelRequests,
    };
  });
}

/** Counts requests by method, route and status, for an error message. */
function describeRequests(
  requests: {
    method: string;
    route: string | undefined;
    status: number | null;
  }[],
): string {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const key = `${r.method} ${r.route ?? "?"} ${r.status ?? "none"}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => `${n} × ${key}`).join(", ") || "nothing";
}
