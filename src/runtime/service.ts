import path from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger as PinoLogger } from "pino";
import type { Config } from "../config/schema.js";
import { CoopelRestClient } from "../connectors/coopel/client.js";
import { GhlRestApi } from "../connectors/ghl/api.js";
import { GhlHttpClient } from "../connectors/ghl/client.js";
import { dashboardPlugin, type DashboardOptions } from "../dashboard/plugin.js";
import { ContactSync } from "../engine/contact-sync.js";
import { CONTACT_EVENT_TYPES, SyncEngine } from "../engine/engine.js";
import type { Queue, Store } from "../engine/ports.js";
import { Worker } from "../engine/worker.js";
import { ContactMapping } from "../mapping/contact-mapping.js";
import { SqliteQueue } from "../queue/sqlite-queue.js";
import { createServer } from "../server/app.js";
import { registerGhlWebhookRoute } from "../server/ghl-webhook-route.js";
import { Metrics } from "../server/metrics.js";
import { openSqlite, sqliteFileFromUrl } from "../store/sqlite/database.js";
import { SqliteStore } from "../store/sqlite/store.js";
import { loadWebhookKeys } from "./keys.js";

/** A running service: its server, store, queue and worker. */
export interface Service {
  url: string;
  /** Description of where the data lives, for the start-up log. */
  dataLocation: string;
  server: FastifyInstance;
  store: Store;
  queue: Queue;
  worker: Worker | null;
  metrics: Metrics;
  close(graceMs?: number): Promise<void>;
}

export interface ServiceOptions {
  config: Config;
  baseDir: string;
  logger: PinoLogger;
  /** Runs the worker; false makes a receiver-only process. */
  runWorker?: boolean;
  /** Serves the webhook routes; false makes a worker-only process. */
  receiveWebhooks?: boolean;
  /**
   * Serves the dashboard under /ui, behind `authenticate`. Without it the
   * process serves no dashboard.
   */
  dashboard?: Pick<DashboardOptions, "authenticate" | "csrfToken">;
}

/** Thrown for a configuration that validates but cannot run, such as an unsupported store. */
export class StartupError extends Error {
  override name = "StartupError";
}

/** Opens the store and queue the config names. */
export function openStorage(
  config: Config,
  baseDir: string,
): { store: Store; queue: Queue; dataLocation: string } {
  const url = config.store.url;
  if (!url.startsWith("sqlite:")) {
    // TODO: PostgreSQL adapters for the store and the queue.
    throw new StartupError(
      `store.url ${url}: only sqlite: URLs are supported in this version; use sqlite:./data/sync.db`,
    );
  }
  const file = sqliteFileFromUrl(url, baseDir);
  const db = openSqlite({ file, synchronous: config.store.synchronous });
  return {
    store: new SqliteStore(db),
    queue: new SqliteQueue(db),
    dataLocation: `SQLite file ${file}`,
  };
}

/**
 * Why the service cannot do its work now, or null when it can: the store
 * must take writes, the queue must answer, and at least one GHL location
 * must be active.
 */
export async function readiness(
  config: Config,
  store: Store,
  queue: Queue,
): Promise<string | null> {
  try {
    await store.checkWritable();
  } catch (error) {
    return `store not writable: ${(error as Error).message}`;
  }
  try {
    await queue.depth();
  } catch (error) {
    return `queue unavailable: ${(error as Error).message}`;
  }
  if (!config.ghl.locations.some((location) => !location.paused))
    return "no active GHL location: add one under ghl.locations or set paused: false";
  return null;
}

/** Opens storage, starts the HTTP server and, unless told not to, the worker. */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { config, baseDir, logger } = options;
  const keys = config.ghl.webhooks.verify_signatures
    ? loadWebhookKeys(config.ghl.webhooks, baseDir)
    : null;
  if (!keys)
    logger.warn(
      "webhook signature checks are off (ghl.webhooks.verify_signatures: false); anyone can post events",
    );

  const { store, queue, dataLocation } = openStorage(config, baseDir);
  const metrics = new Metrics();
  metrics.watchQueue(queue);
  const server = createServer({
    logger,
    metrics,
    bodyLimitBytes: config.server.body_limit_bytes,
    readiness: () => readiness(config, store, queue),
  });

  const locations = new Map(config.ghl.locations.map((l) => [l.id, l]));
  const syncedTypes = new Set<string>(
    config.sync.contacts.enabled ? CONTACT_EVENT_TYPES : [],
  );
  if (options.receiveWebhooks ?? true)
    registerGhlWebhookRoute(server, {
      queue,
      logger,
      metrics,
      keys,
      syncedTypes,
      locationState: (id) => {
        const location = locations.get(id);
        if (!location) return "unknown";
        return location.paused ? "paused" : "active";
      },
      maxInboxDepth: config.server.max_inbox_depth,
    });

  if (options.dashboard) {
    const coopel = new CoopelRestClient(config.coopel);
    const tokens = new Map(config.ghl.locations.map((l) => [l.id, l.token]));
    const ghl = new GhlRestApi(
      new GhlHttpClient({
        baseUrl: config.ghl.base_url,
        apiVersion: config.ghl.api_version,
        timeoutMs: config.coopel.timeout_ms,
        tokens: {
          getToken: (locationId) => {
            const token = tokens.get(locationId);
            if (token === undefined)
              return Promise.reject(
                new Error(`GHL location ${locationId} is not in ghl.locations`),
              );
            return Promise.resolve(token);
          },
        },
      }),
    );
    const context = () => ({ requests: [] });
    await server.register(dashboardPlugin, {
      prefix: "/ui",
      ...options.dashboard,
      config,
      store,
      queue,
      fixturesDir: path.resolve(
        import.meta.dirname,
        "../../fixtures/ghl/webhooks",
      ),
      contacts: {
        ghl: (locationId, contactId) =>
          ghl.getContact(locationId, contactId, context()),
        coopel: (id) => coopel.getContact(id, context()),
        findCoopel: (lookup) => coopel.findContacts(lookup, context()),
      },
    });
  }

  let worker: Worker | null = null;
  if (options.runWorker ?? config.worker.enabled) {
    const contacts = new ContactSync({
      store,
      coopel: new CoopelRestClient(config.coopel),
      mapping: new ContactMapping(config.mapping),
      deletePolicy: config.sync.contacts.delete,
    });
    const engine = new SyncEngine(contacts);
    worker = new Worker({
      queue,
      handle: (job) => engine.handle(job),
      logger,
      concurrency: config.worker.concurrency,
      leaseMs: config.worker.lease_ms,
      pollMs: config.worker.poll_ms,
      maxAttempts: config.worker.max_attempts,
      retryBaseMs: config.worker.retry_base_ms,
      retryMaxMs: config.worker.retry_max_ms,
      onJobEnd: (job, result, completion, failure) => {
        const type = job.event.type;
        metrics.countRequests(completion?.requests ?? failure?.requests ?? []);
        if (result === "retry") {
          metrics.retries.inc({ type });
          return;
        }
        if (result === "dead") metrics.deadLetters.inc({ type });
        const outcome = completion?.outcome ?? "failed";
        metrics.jobs.inc({ type, outcome });
        if (completion && completion.requests.some((r) => r.method !== "GET")) {
          metrics.writeLatency.observe(
            (Date.now() - job.event.receivedAt) / 1000,
          );
        }
      },
    });
    worker.start();
  }

  const address = await server.listen({
    host: config.server.host,
    port: config.server.port,
  });
  let closed = false;
  return {
    url: address,
    dataLocation,
    server,
    store,
    queue,
    worker,
    metrics,
    async close(graceMs = 10_000) {
      if (closed) return;
      closed = true;
      await server.close();
      await worker?.stop(graceMs);
      await queue.close();
      await store.close();
    },
  };
}
