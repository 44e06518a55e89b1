import path from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger as PinoLogger } from "pino";
import type { Config } from "../config/schema.js";
import { CoopelRestClient } from "../connectors/coopel/client.js";
import { GhlRestApi } from "../connectors/ghl/api.js";
import { GhlHttpClient } from "../connectors/ghl/client.js";
import { dashboardPlugin } from "../dashboard/plugin.js";
import { ContactEventSync } from "../engine/contact-events.js";
import { ContactSync } from "../engine/contact-sync.js";
import {
  COALESCED_EVENT_TYPES,
  CONTACT_EVENT_TYPES,
  NOTE_EVENT_TYPES,
  SyncEngine,
  TASK_EVENT_TYPES,
  type Entity,
} from "../engine/engine.js";
import { NoteSync } from "../engine/note-sync.js";
import { TagRules } from "../engine/tag-rules.js";
import { TaskPoller } from "../engine/task-poll.js";
import { ContactPoller } from "../engine/contact-poll.js";
import { DailyBudgetTracker } from "../ratelimit/daily-remaining.js";
import { TaskSync } from "../engine/task-sync.js";
import { ContactEnricher } from "../mapping/contact-enrichment.js";
import type {
  Completion,
  CoopelClient,
  GhlApi,
  Logger,
  Queue,
  Store,
} from "../engine/ports.js";
import { DryRunCoopelClient } from "../connectors/coopel/dry-run.js";
import { DryRunGhlApi } from "../connectors/ghl/dry-run.js";
import { Worker } from "../engine/worker.js";
import { ContactMapping } from "../mapping/contact-mapping.js";
import { PostgresQueue } from "../queue/postgres-queue.js";
import { SqliteQueue } from "../queue/sqlite-queue.js";
import { createServer } from "../server/app.js";
import { registerGhlWebhookRoute } from "../server/ghl-webhook-route.js";
import { Metrics } from "../server/metrics.js";
import { openPostgres, redactPostgresUrl } from "../store/postgres/database.js";
import { migratePostgres } from "../store/postgres/migrations.js";
import { PostgresConnectionStore } from "../store/postgres/connections.js";
import { PostgresStore } from "../store/postgres/store.js";
import { openSqlite, sqliteFileFromUrl } from "../store/sqlite/database.js";
import { SqliteStore } from "../store/sqlite/store.js";
import { AccountRateLimiter } from "../ratelimit/account-limiter.js";
import type { GhlTokenSource } from "../connectors/ghl/client.js";
import type { ConnectionStore, SyncState } from "../engine/ports.js";
import { registerAdminAuth } from "../security/admin-auth.js";
import {
  registerConnectionRoutes,
  registerOAuthRoutes,
} from "../server/oauth-routes.js";
import { SqliteConnectionStore } from "../store/sqlite/connections.js";
import { SqliteSyncState } from "../store/sqlite/sync-state.js";
import { PostgresSyncState } from "../store/postgres/sync-state.js";
import { openGhlAccess, type GhlAccess } from "./ghl-access.js";
import { loadWebhookKeys } from "./keys.js";
import type { WebhookKeys } from "../connectors/ghl/webhook-signature.js";
import { registerSecretValues } from "./logger.js";

/** A running service: its server, store, queue and worker. */
export interface Service {
  url: string;
  /** Description of where the data lives, for the start-up log. */
  dataLocation: string;
  server: FastifyInstance;
  store: Store;
  queue: Queue;
  /** OAuth connections of GHL locations and agencies. */
  connections: ConnectionStore;
  /** Bearer tokens for GHL API calls: Private Integration tokens, then OAuth connections. */
  ghlTokens: GhlTokenSource;
  worker: Worker | null;
  /** Polls tasks for edits that fire no webhook; null when polling is off or no worker runs. */
  taskPoller: TaskPoller | null;
  /** Polls contacts for changes whose webhook was lost; null when no worker runs. */
  contactPoller: ContactPoller | null;
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
  /** Where the encryption key variables are read; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Thrown for a configuration that validates but cannot run, such as an unsupported store. */
export class StartupError extends Error {
  override name = "StartupError";
  /** 2 when the configuration is at fault, 1 when the environment is (a busy port, say). */
  readonly exitCode: 1 | 2;

  constructor(
    message: string,
    options: { cause?: unknown; exitCode?: 1 | 2 } = {},
  ) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 2;
  }
}

/** The store and queue of one configured database, migrated and ready. */
export interface Storage {
  store: Store;
  queue: Queue;
  connections: ConnectionStore;
  /** Cursors, the review list and direct link writes of backfill and reconcile. */
  syncState: SyncState;
  /** Description of where the data lives, for the start-up log. */
  dataLocation: string;
  /** Schema versions this start applied; empty when the schema was current. */
  migrated: number[];
}

/**
 * Opens the database that `store.url` names, brings its schema up to date
 * and returns the store and queue on it: SQLite for a `sqlite:` URL,
 * PostgreSQL for a `postgres://` or `postgresql://` URL.
 */
export async function openStorage(
  config: Config,
  baseDir: string,
): Promise<Storage> {
  const url = config.store.url;
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = openPostgres({
      url,
      maxConnections: config.store.max_connections,
    });
    let migrated: number[];
    try {
      migrated = await migratePostgres(pool);
    } catch (error) {
      await pool.end().catch(() => {});
      throw new StartupError(
        `store.url ${redactPostgresUrl(url)}: cannot open the PostgreSQL database (${(error as Error).message}); check that PostgreSQL runs, that the database exists and that the user may create tables in it`,
      );
    }
    return {
      store: new PostgresStore(pool),
      queue: new PostgresQueue(pool, { url }),
      connections: new PostgresConnectionStore(pool),
      syncState: new PostgresSyncState(pool),
      dataLocation: `PostgreSQL ${redactPostgresUrl(url)}`,
      migrated,
    };
  }
  const file = sqliteFileFromUrl(url, baseDir);
  const db = openSqlite({ file, synchronous: config.store.synchronous });
  return {
    store: new SqliteStore(db),
    queue: new SqliteQueue(db),
    connections: new SqliteConnectionStore(db),
    syncState: new SqliteSyncState(db),
    dataLocation: `SQLite file ${file}`,
    migrated: [],
  };
}

/**
 * Creates the per-account request budgets: `ghl.rate_limit` for locations
 * and `coopel.rate_limit` for the Coopel account. Returns null when
 * `coopel.rate_limit` is null, because the Coopel client is the only one
 * that takes a limiter here.
 */
export function createRateLimiter(config: Config): AccountRateLimiter | null {
  const coopel = config.coopel.rate_limit;
  if (coopel === null) return null;
  const ghl = config.ghl.rate_limit;
  return new AccountRateLimiter({
    budgetOf: (account) => {
      const budget = account.system === "ghl" ? ghl : coopel;
      return {
        requests: budget.requests,
        perMs: budget.per_ms,
        daily: budget.daily,
        backgroundReserve: budget.background_reserve,
      };
    },
  });
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
  locationState: (id: string) => string = () => "active",
  acceptsInstalls = false,
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
  const active = config.ghl.locations.some(
    (location) => !location.paused && locationState(location.id) === "active",
  );
  if (!active && !acceptsInstalls)
    return "no active GHL location: add one under ghl.locations, set paused: false, or configure ghl.oauth to accept installs";
  return null;
}

/** Builds a per-location test of which entities sync, from `sync.*.enabled` and `ghl.locations[].entities`. */
export function entitySettings(
  config: Config,
): (locationId: string, entity: Entity) => boolean {
  const locations = new Map(config.ghl.locations.map((l) => [l.id, l]));
  return (locationId, entity) => {
    if (!config.sync[entity].enabled) return false;
    const only = locations.get(locationId)?.entities;
    return only === undefined || only.includes(entity);
  };
}

/** Logs each entity whose Coopel routes are set to null; its events are counted as unsupported. */
export function unsupportedOperations(config: Config): string[] {
  return Object.entries(config.coopel.routes)
    .filter(([, route]) => route === null)
    .map(([name]) => name);
}

function reportUnsupported(config: Config, logger: PinoLogger): void {
  const missing = unsupportedOperations(config);
  if (missing.length > 0)
    logger.warn(
      { routes: missing },
      `Coopel routes set to null: ${missing.join(", ")}; events that need them are counted as unsupported and not retried`,
    );
}

/** Wires the entity handlers, the GHL API client and the mapping into a sync engine. */
export function buildEngine(
  config: Config,
  store: Store,
  coopel: CoopelClient,
  ghl: GhlApi,
  logger: Logger,
  syncs: (locationId: string, entity: Entity) => boolean,
  syncState?: SyncState,
): SyncEngine {
  const mapping = new ContactMapping(config.mapping);
  const contacts = new ContactSync({
    store,
    coopel,
    mapping,
    deletePolicy: config.sync.contacts.delete,
    underReview: syncState
      ? (locationId, ghlId) => syncState.hasOpenReview(locationId, ghlId)
      : undefined,
  });
  const contactEvents = new ContactEventSync({
    contacts,
    enricher: new ContactEnricher({
      ghl,
      mapping,
      logger,
      defaultCountry: config.mapping.default_country,
    }),
    rules: new TagRules(config.mapping.tag_rules),
    store,
    coopel,
    ghl,
    syncTags: (locationId) => syncs(locationId, "tags"),
    tagsOnCreate: config.mapping.contact.tags_on_create,
  });
  const locations = new Map(config.ghl.locations.map((l) => [l.id, l]));
  let engine: SyncEngine | null = null;
  const linkContact = (
    ...args: Parameters<SyncEngine["linkContact"]>
  ): ReturnType<SyncEngine["linkContact"]> => engine!.linkContact(...args);
  const tasks = new TaskSync({
    store,
    coopel,
    ghl,
    linkContact,
    timeZoneOf: (id) =>
      locations.get(id)?.time_zone ?? config.sync.tasks.time_zone,
    missingDueDate: config.sync.tasks.missing_due_date,
    dueInDays: config.sync.tasks.due_in_days,
  });
  const notes = new NoteSync({ store, coopel, ghl, linkContact });
  engine = new SyncEngine({
    contacts: contactEvents,
    tasks,
    notes,
    store,
    ghl,
    syncs,
  });
  return engine;
}

/** Opens storage, starts the HTTP server and, unless `runWorker` is false, the worker. */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { config, baseDir, logger } = options;
  let keys: WebhookKeys | null = null;
  try {
    if (config.ghl.webhooks.verify_signatures)
      keys = loadWebhookKeys(config.ghl.webhooks, baseDir);
  } catch (error) {
    throw new StartupError((error as Error).message, { cause: error });
  }
  if (!keys)
    logger.warn(
      "webhook signature checks are off (ghl.webhooks.verify_signatures: false); anyone can post events",
    );

  registerSecretValues(configSecrets(config));
  const { store, queue, connections, syncState, dataLocation } =
    await openStorage(config, baseDir);
  let ghl: GhlAccess;
  try {
    ghl = await openGhlAccess(config, connections, logger, options.env);
  } catch (error) {
    await queue.close();
    await store.close();
    throw error;
  }
  const metrics = new Metrics();
  metrics.watchQueue(queue);
  const server = createServer({
    logger,
    metrics,
    bodyLimitBytes: config.server.body_limit_bytes,
    readiness: () =>
      readiness(
        config,
        store,
        queue,
        (id) => ghl.locationState(id),
        ghl.connections !== null,
      ),
  });

  registerAdminAuth(server, {
    passwordHash: config.admin.password_hash ?? null,
    token: config.admin.token ?? null,
    sessionTtlMs: config.admin.session_ttl_ms,
    secureCookies: config.admin.secure_cookies,
    logger,
  });
  if (!config.admin.password_hash && !config.admin.token)
    logger.warn(
      "the admin side is closed to everyone: set admin.password_hash (from `ghl-coopel-sync hash-password`) or admin.token to use it",
    );
  if (ghl.oauthRoutes) registerOAuthRoutes(server, ghl.oauthRoutes);
  registerConnectionRoutes(server, connections);

  const syncs = entitySettings(config);
  const syncedTypes = new Set<string>([
    ...(config.sync.contacts.enabled
      ? CONTACT_EVENT_TYPES.filter((t) => t !== "ContactTagUpdate")
      : []),
    ...(config.sync.tags.enabled || config.mapping.tag_rules.length > 0
      ? ["ContactTagUpdate"]
      : []),
    ...(config.sync.tasks.enabled ? TASK_EVENT_TYPES : []),
    ...(config.sync.notes.enabled ? NOTE_EVENT_TYPES : []),
  ]);
  const restCoopel = new CoopelRestClient(
    config.coopel,
    createRateLimiter(config) ?? undefined,
  );
  const coopel: CoopelClient = config.dry_run
    ? new DryRunCoopelClient(restCoopel, logger)
    : restCoopel;
  if (config.dry_run)
    logger.warn(
      "dry_run is on: every write to Coopel and GHL is logged as a plan and not sent, and events end as skipped (reason dry_run) without storing links",
    );
  reportUnsupported(config, logger);
  if (options.receiveWebhooks ?? true)
    registerGhlWebhookRoute(server, {
      queue,
      logger,
      metrics,
      keys,
      syncedTypes,
      locationState: (id) => ghl.locationState(id),
      maxInboxDepth: config.server.max_inbox_depth,
      coalesceMs: config.sync.coalesce_ms,
      appEvents: ghl.connections ?? undefined,
      timestampWindow: {
        maxAgeMs: config.ghl.webhooks.max_age_ms,
        maxFutureSkewMs: config.ghl.webhooks.max_future_skew_ms,
      },
    });

  const coopelReader = new CoopelRestClient(config.coopel);
  const ghlReader = new GhlRestApi(
    new GhlHttpClient({
      baseUrl: config.ghl.base_url,
      apiVersion: config.ghl.api_version,
      timeoutMs: config.coopel.timeout_ms,
      tokens: ghl.tokens,
    }),
  );
  const noRequests = () => ({ requests: [] });
  await server.register(dashboardPlugin, {
    prefix: "/ui",
    // The admin hook has already checked every request; this refuses any it let through.
    authenticate: async (request, reply) => {
      if (!request.admin) await reply.code(401).send({ error: "unauthorized" });
    },
    csrfToken: (request) => request.admin?.csrfToken ?? null,
    config,
    store,
    queue,
    replay: (ids) => queue.replayDeadLetters(ids === "all" ? {} : { ids }),
    locationState: (id) => ghl.locationState(id),
    fixturesDir: path.resolve(
      import.meta.dirname,
      "../../fixtures/ghl/webhooks",
    ),
    contacts: {
      ghl: (locationId, contactId) =>
        ghlReader.getContact(locationId, contactId, noRequests()),
      coopel: (id) => coopelReader.getContact(id, noRequests()),
      findCoopel: (lookup) => coopelReader.findContacts(lookup, noRequests()),
    },
  });

  let worker: Worker | null = null;
  let taskPoller: TaskPoller | null = null;
  let contactPoller: ContactPoller | null = null;
  if (options.runWorker ?? config.worker.enabled) {
    // NOTE: GHL reads reuse coopel.timeout_ms; the ghl section has no timeout of its own yet.
    const dailyBudget = new DailyBudgetTracker();
    const restGhl = new GhlRestApi(
      new GhlHttpClient({
        baseUrl: config.ghl.base_url,
        apiVersion: config.ghl.api_version,
        timeoutMs: config.coopel.timeout_ms,
        tokens: ghl.tokens,
        rateLimiter: dailyBudget,
      }),
    );
    const ghlApi: GhlApi = config.dry_run
      ? new DryRunGhlApi(restGhl, logger)
      : restGhl;
    const engine = buildEngine(
      config,
      store,
      coopel,
      ghlApi,
      logger,
      syncs,
      syncState,
    );
    if (config.sync.tasks.enabled) {
      taskPoller = new TaskPoller({
        queue,
        ghl: ghlApi,
        logger,
        locationIds: () =>
          config.ghl.locations
            .filter((l) => !l.paused && syncs(l.id, "tasks"))
            .map((l) => l.id),
        intervalMs: Math.max(1, config.sync.tasks.poll_minutes) * 60_000,
      });
      if (config.sync.tasks.poll_minutes > 0) taskPoller.start();
    }
    if (config.sync.contacts.enabled) {
      contactPoller = new ContactPoller({
        queue,
        ghl: ghlApi,
        state: syncState,
        logger,
        locations: () => contactPollSchedule(config, syncs),
        overlapMs: config.polling.overlap_ms,
        pageSize: config.polling.page_size,
        maxPages: config.polling.max_pages,
        budgetLow: (id) =>
          (dailyBudget.remainingShare(id) ?? 1) <
          config.polling.min_daily_remaining,
      });
      if (contactPollSchedule(config, syncs).length > 0) contactPoller.start();
    }
    worker = new Worker({
      queue,
      handle: config.dry_run
        ? async (job) => dryRunCompletion(await engine.handle(job))
        : (job) => engine.handle(job),
      logger,
      concurrency: config.worker.concurrency,
      leaseMs: config.worker.lease_ms,
      pollMs: config.worker.poll_ms,
      maxAttempts: config.worker.max_attempts,
      retryBaseMs: config.worker.retry_base_ms,
      retryMaxMs: config.worker.retry_max_ms,
      accountPauseMs: config.worker.account_pause_ms,
      coalesceTypes: COALESCED_EVENT_TYPES,
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
  }

  let address: string;
  try {
    address = await server.listen({
      host: config.server.host,
      port: config.server.port,
    });
  } catch (error) {
    // Nothing may keep running half-started: no worker without its server.
    ghl.stop();
    await server.close().catch(() => {});
    await queue.close();
    await store.close();
    throw new StartupError(
      `cannot listen on ${config.server.host}:${config.server.port} (${(error as Error).message}); free the port or change server.host and server.port`,
      { cause: error, exitCode: 1 },
    );
  }
  worker?.start();
  let closed = false;
  return {
    url: address,
    dataLocation,
    server,
    store,
    queue,
    connections,
    ghlTokens: ghl.tokens,
    worker,
    taskPoller,
    contactPoller,
    metrics,
    async close(graceMs = 10_000) {
      if (closed) return;
      closed = true;
      ghl.stop();
      await taskPoller?.stop();
      await contactPoller?.stop();
      await server.close();
      await worker?.stop(graceMs);
      await queue.close();
      await store.close();
    },
  };
}

/** Lists the locations whose contacts are polled, each with its interval. */
export function contactPollSchedule(
  config: Config,
  syncs: (locationId: string, entity: Entity) => boolean,
): { id: string; intervalMs: number }[] {
  return config.ghl.locations
    .filter((l) => !l.paused && syncs(l.id, "contacts"))
    .map((l) => ({
      id: l.id,
      intervalMs:
        (l.contacts_poll_minutes ?? config.polling.contacts_minutes) * 60_000,
    }))
    .filter((l) => l.intervalMs > 0);
}

/**
 * Turns a job's completion into that of a dry run. The job ends as skipped with reason `dry_run` and stores no links,
 * because the planned creates have no real ids. Its planned writes stay in
 * the log.
 */
function dryRunCompletion(completion: Completion): Completion {
  return {
    ...completion,
    outcome: "skipped",
    reason: "dry_run",
    links: [],
    warnings: [
      ...completion.warnings,
      `dry run: planned outcome ${completion.outcome} (${completion.reason ?? "no reason"})`,
    ],
  };
}

/** Collects every secret value in the config, so that log lines can never show one. */
function configSecrets(config: Config): (string | undefined)[] {
  return [
    ...config.ghl.locations.map((l) => l.token),
    config.ghl.oauth?.client_secret,
    config.coopel.token,
    config.coopel.oauth?.client_secret,
    config.admin.token,
    config.admin.password_hash,
  ];
}
