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
  type SyncEngineOptions,
} from "../engine/engine.js";
import { NoteSync } from "../engine/note-sync.js";
import { CoopelContactSync } from "../engine/coopel-contact-sync.js";
import { ReviewDecider } from "../engine/review-decisions.js";
import { ContactReconciler } from "../engine/two-way-merge.js";
import type { TwoWayOptions } from "../engine/two-way.js";
import {
  moneyFieldProblems,
  ReverseContactMapping,
} from "../mapping/reverse-mapping.js";
import { registerCoopelWebhookRoute } from "../server/coopel-webhook-route.js";
import { CoopelPoller } from "../engine/coopel-poll.js";
import { TagRules } from "../engine/tag-rules.js";
import { TaskPoller } from "../engine/task-poll.js";
import { ContactPoller } from "../engine/contact-poll.js";
import { DailyBudgetTracker } from "../ratelimit/daily-remaining.js";
import { TaskSync } from "../engine/task-sync.js";
import { CoopelTaskSync } from "../engine/coopel-task-sync.js";
import { ContactEnricher } from "../mapping/contact-enrichment.js";
import type {
  Completion,
  CoopelClient,
  GhlApi,
  Logger,
  Queue,
  Store,
  TwoWayStore,
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
import {
  AccountRateLimiter,
  type LimiterFactory,
} from "../ratelimit/account-limiter.js";
import { postgresLimiterFactory } from "../ratelimit/postgres-store.js";
import { SqliteTwoWayStore } from "../store/sqlite/two-way.js";
import { PostgresTwoWayStore } from "../store/postgres/two-way.js";
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
import { LocationPauses } from "./location-pauses.js";
import { missingRoutes } from "./missing-routes.js";
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
  /**
   * Polls Coopel contacts for changes; null unless coopel.polling is set and
   * contacts sync from Coopel. With `interval_ms` 0 it exists but only polls when called.
   */
  coopelPoller: CoopelPoller | null;
  /** Reverse link lookups, write intents, the conflict log and poll cursors. */
  twoWay: TwoWayStore;
  /** Cursors, the review list and direct link writes of backfill and reconcile. */
  syncState: SyncState;
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
  /** Reverse link lookups, write intents, the conflict log and poll cursors. */
  twoWay: TwoWayStore;
  connections: ConnectionStore;
  /** Cursors, the review list and direct link writes of backfill and reconcile. */
  syncState: SyncState;
  /** Description of where the data lives, for the start-up log. */
  dataLocation: string;
  /** Schema versions this start applied; empty when the schema was current. */
  migrated: number[];
  /** Request counters shared by every process on the database; absent for SQLite. */
  limiterFactory?: LimiterFactory;
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
      twoWay: new PostgresTwoWayStore(pool),
      connections: new PostgresConnectionStore(pool),
      syncState: new PostgresSyncState(pool),
      dataLocation: `PostgreSQL ${redactPostgresUrl(url)}`,
      migrated,
      limiterFactory: postgresLimiterFactory(pool),
    };
  }
  const file = sqliteFileFromUrl(url, baseDir);
  const db = openSqlite({ file, synchronous: config.store.synchronous });
  return {
    store: new SqliteStore(db),
    queue: new SqliteQueue(db),
    twoWay: new SqliteTwoWayStore(db),
    connections: new SqliteConnectionStore(db),
    syncState: new SqliteSyncState(db),
    dataLocation: `SQLite file ${file}`,
    migrated: [],
  };
}

/**
 * Creates the per-account request budgets: `ghl.rate_limit` for locations
 * and `coopel.rate_limit` for the Coopel account. Counters come from
 * `limiterFactory` when given (PostgreSQL, shared by all processes), else
 * from memory.
 */
export function createRateLimiter(
  config: Config,
  limiterFactory?: LimiterFactory,
): AccountRateLimiter {
  const ghl = config.ghl.rate_limit;
  const coopel = config.coopel.rate_limit;
  return new AccountRateLimiter({
    budgetOf: (account) => {
      // The Coopel client takes the limiter only when coopel.rate_limit is set.
      const budget = account.system === "ghl" || coopel === null ? ghl : coopel;
      return {
        requests: budget.requests,
        perMs: budget.per_ms,
        daily: budget.daily,
        backgroundReserve: budget.background_reserve,
      };
    },
    ...(limiterFactory ? { limiterFactory } : {}),
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

/** Logs one warning per synced entity whose Coopel routes are set to null; its events are counted as unsupported. */
function reportMissingRoutes(config: Config, logger: PinoLogger): void {
  for (const missing of missingRoutes(config))
    logger.warn(
      {
        entity: missing.entity,
        routes: missing.routes,
        configKeys: missing.configKeys,
      },
      missing.message,
    );
}

/** Returns the GHL location that contacts first seen on Coopel are created in, or null when none is configured. */
export function coopelTargetLocation(config: Config): string | null {
  return config.coopel.ghl_location_id ?? config.ghl.locations[0]?.id ?? null;
}

/**
 * Checks, before the service starts, that a direction that writes GHL can
 * work: the reverse mapping compiles and there is a GHL location to
 * create contacts in. Throws StartupError naming the problem.
 */
export function checkTwoWayConfig(config: Config): ReverseContactMapping {
  let reverse: ReverseContactMapping;
  try {
    reverse = new ReverseContactMapping(config.mapping);
  } catch (error) {
    throw new StartupError(
      `sync.contacts.direction ${config.sync.contacts.direction}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (coopelTargetLocation(config) === null)
    throw new StartupError(
      `sync.contacts.direction ${config.sync.contacts.direction} creates contacts in GHL, but no location is configured; add one to ghl.locations or set coopel.ghl_location_id`,
    );
  return reverse;
}

/**
 * Rejects a mapping that writes a GHL money custom field, which GHL's API
 * cannot write. Reads each active location's custom field definitions; a
 * location whose definitions cannot be read is logged and left to fail on
 * its first write.
 */
async function checkMoneyFields(
  config: Config,
  reverse: ReverseContactMapping,
  ghl: GhlApi,
  logger: Logger,
): Promise<void> {
  if (reverse.customFieldSelectors().length === 0) return;
  const problems: string[] = [];
  for (const location of config.ghl.locations.filter((l) => !l.paused)) {
    try {
      const definitions = await ghl.listCustomFields(location.id, {
        requests: [],
      });
      problems.push(...moneyFieldProblems(reverse, definitions, location.id));
    } catch (error) {
      logger.warn(
        { err: error, locationId: location.id },
        "reading GHL custom fields failed, so money fields of this location were not checked at start",
      );
    }
  }
  if (problems.length > 0) throw new StartupError(problems.join("; "));
}

/** State and hooks that two-way sync needs beyond the one-way engine. */
export interface TwoWayWiring {
  store: TwoWayStore;
  onEcho?: TwoWayOptions["onEcho"];
  onConflict?: TwoWayOptions["onConflict"];
}

/** The contact handlers of both directions that events run through. */
export interface ContactSyncs {
  contactEvents: ContactEventSync;
  coopelContacts?: CoopelContactSync;
  /** The three-way field merge; present when a direction writes GHL. */
  reconciler?: ContactReconciler;
}

/** Wires the contact sync, the enrichment, the tag rules and, when a direction writes GHL, the Coopel contact handler. */
export function buildContactSyncs(
  config: Config,
  store: Store,
  coopel: CoopelClient,
  ghl: GhlApi,
  logger: Logger,
  syncs: (locationId: string, entity: Entity) => boolean,
  twoWay?: TwoWayWiring,
  syncState?: SyncState,
): ContactSyncs {
  const mapping = new ContactMapping(config.mapping);
  const enricher = new ContactEnricher({
    ghl,
    mapping,
    logger,
    defaultCountry: config.mapping.default_country,
  });
  const direction = config.sync.contacts.direction;
  let reconciler: ContactReconciler | null = null;
  let coopelContacts: CoopelContactSync | undefined;
  let twoWayOptions: TwoWayOptions | null = null;
  if (twoWay && direction !== "ghl_to_coopel") {
    const reverse = checkTwoWayConfig(config);
    twoWayOptions = {
      store: twoWay.store,
      policy: config.sync.contacts.conflicts,
      onEcho: twoWay.onEcho,
      onConflict: twoWay.onConflict,
    };
    reconciler = new ContactReconciler({
      ...twoWayOptions,
      ghl,
      coopel,
      forward: mapping,
      reverse,
      enricher,
      coopelUpdatedAtField: config.coopel.updated_at_field,
    });
    coopelContacts = new CoopelContactSync({
      ...twoWayOptions,
      links: store,
      coopel,
      ghl,
      reverse,
      enricher,
      reconciler,
      locationId: coopelTargetLocation(config)!,
      syncTags: config.sync.tags.enabled,
      deletePolicy: config.sync.contacts.delete.policy,
    });
  }
  const contacts = new ContactSync({
    store,
    coopel,
    mapping,
    deletePolicy: config.sync.contacts.delete,
    underReview: syncState
      ? (locationId, ghlId) => syncState.hasOpenReview(locationId, ghlId)
      : undefined,
    twoWay:
      reconciler && twoWayOptions && direction === "two_way"
        ? { reconciler, options: twoWayOptions }
        : undefined,
  });
  const contactEvents = new ContactEventSync({
    contacts,
    enricher,
    rules: new TagRules(config.mapping.tag_rules),
    store,
    coopel,
    ghl,
    syncTags: (locationId) => syncs(locationId, "tags"),
    tagsOnCreate: config.mapping.contact.tags_on_create,
  });
  return { contactEvents, coopelContacts, reconciler: reconciler ?? undefined };
}

/** Wires the contact sync, the enrichment and the tag rules that GHL contact events run through. */
export function buildContactEventSync(
  config: Config,
  store: Store,
  coopel: CoopelClient,
  ghl: GhlApi,
  logger: Logger,
  syncs: (locationId: string, entity: Entity) => boolean,
): ContactEventSync {
  return buildContactSyncs(config, store, coopel, ghl, logger, syncs)
    .contactEvents;
}

/** Optional inputs of the engine beyond the entity handlers. */
export interface EngineExtras {
  /** The operator's pause of a location, or null; a paused location's events wait. */
  pausedLocation?: SyncEngineOptions["pausedLocation"];
  /** Set when a direction writes GHL. */
  twoWay?: TwoWayWiring;
  /** The first sync's state; events of contacts on its review list wait. */
  syncState?: SyncState;
}

/** Wires the entity handlers, the GHL API client and the mapping into a sync engine. */
export function buildEngine(
  config: Config,
  store: Store,
  coopel: CoopelClient,
  ghl: GhlApi,
  logger: Logger,
  syncs: (locationId: string, entity: Entity) => boolean,
  extras: EngineExtras = {},
): SyncEngine {
  const { contactEvents, coopelContacts } = buildContactSyncs(
    config,
    store,
    coopel,
    ghl,
    logger,
    syncs,
    extras.twoWay,
    extras.syncState,
  );
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
  const taskDirection = config.sync.tasks.direction;
  const coopelTasks =
    extras.twoWay && taskDirection !== "ghl_to_coopel"
      ? new CoopelTaskSync({
          store: extras.twoWay.store,
          links: store,
          ghl,
          coopelAccountId: coopel.accountId,
          timeZoneOf: (id) =>
            locations.get(id)?.time_zone ?? config.sync.tasks.time_zone,
          dueInDays: config.sync.tasks.due_in_days,
        })
      : undefined;
  engine = new SyncEngine({
    contacts: contactEvents,
    tasks,
    notes,
    store,
    ghl,
    syncs,
    pausedLocation: extras.pausedLocation,
    coopelContacts,
    contactsFromGhl: config.sync.contacts.direction !== "coopel_to_ghl",
    coopelTasks,
    tasksFromGhl: taskDirection !== "coopel_to_ghl",
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
  const writesGhl = config.sync.contacts.direction !== "ghl_to_coopel";
  const reverse = writesGhl ? checkTwoWayConfig(config) : null;
  const {
    store,
    queue,
    connections,
    twoWay,
    syncState,
    dataLocation,
    limiterFactory,
  } = await openStorage(config, baseDir);
  // One limiter for every client of this process, so that they share each budget.
  const rateLimiter = createRateLimiter(config, limiterFactory);
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
    config.coopel.rate_limit === null ? undefined : rateLimiter,
  );
  const coopel: CoopelClient = config.dry_run
    ? new DryRunCoopelClient(restCoopel, logger)
    : restCoopel;
  if (config.dry_run)
    logger.warn(
      "dry_run is on: every write to Coopel and GHL is logged as a plan and not sent, and events end as skipped (reason dry_run) without storing links",
    );
  reportMissingRoutes(config, logger);
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

  const pauses = new LocationPauses(store, queue);
  const coopelWebhooks = config.coopel.webhooks;
  if (writesGhl && !coopelWebhooks && !config.coopel.polling)
    logger.warn(
      `sync.contacts.direction is ${config.sync.contacts.direction}, but neither coopel.webhooks nor coopel.polling is set, so no Coopel change is found; set one of them`,
    );
  const tasksFromCoopel =
    config.sync.tasks.enabled &&
    config.sync.tasks.direction !== "ghl_to_coopel";
  if (
    !writesGhl &&
    !tasksFromCoopel &&
    (coopelWebhooks || config.coopel.polling)
  )
    logger.warn(
      "coopel.webhooks or coopel.polling is set, but sync.contacts.direction and sync.tasks.direction are ghl_to_coopel, so POST /webhooks/coopel and polling stay off",
    );
  if (tasksFromCoopel && !coopelWebhooks)
    logger.warn(
      `sync.tasks.direction is ${config.sync.tasks.direction}, but coopel.webhooks is not set, so no Coopel task change is found; set coopel.webhooks`,
    );
  if (
    (options.receiveWebhooks ?? true) &&
    (writesGhl || tasksFromCoopel) &&
    coopelWebhooks
  )
    registerCoopelWebhookRoute(server, {
      contacts: writesGhl,
      tasks: tasksFromCoopel,
      queue,
      store: twoWay,
      logger,
      metrics,
      accountId: config.coopel.account_id,
      secret: coopelWebhooks.secret,
      signatureHeader: coopelWebhooks.signature_header,
      updatedAtField: config.coopel.updated_at_field,
      maxInboxDepth: config.server.max_inbox_depth,
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
  const reviewMapping = new ContactMapping(config.mapping);
  const reviewEnricher = new ContactEnricher({
    ghl: ghlReader,
    mapping: reviewMapping,
    logger,
    defaultCountry: config.mapping.default_country,
  });
  const reviewDecider = new ReviewDecider({
    state: syncState,
    ghl: ghlReader,
    coopel,
    mapping: reviewMapping,
    enrich: async (locationId, record, context) =>
      (await reviewEnricher.enrich(locationId, record, context)).payload,
    syncTags: config.sync.tags.enabled,
    dryRun: config.dry_run,
  });
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
    locationPauses: pauses,
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
    conflicts: (filter) => twoWay.listConflicts(filter),
    review: { state: syncState, decider: reviewDecider },
  });

  let worker: Worker | null = null;
  let taskPoller: TaskPoller | null = null;
  let coopelPoller: CoopelPoller | null = null;
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
        rateLimiter: {
          acquire: (account, priority) =>
            rateLimiter.acquire(account, priority),
          observe: (account, headers) => {
            rateLimiter.observe(account, headers);
            dailyBudget.observe(account, headers);
          },
        },
      }),
    );
    const ghlApi: GhlApi = config.dry_run
      ? new DryRunGhlApi(restGhl, logger)
      : restGhl;
    if (reverse) {
      try {
        await checkMoneyFields(config, reverse, ghlApi, logger);
      } catch (error) {
        ghl.stop();
        await queue.close();
        await store.close();
        throw error;
      }
    }
    const engine = buildEngine(config, store, coopel, ghlApi, logger, syncs, {
      pausedLocation: (id) => pauses.get(id),
      syncState,
      twoWay: {
        store: twoWay,
        onEcho: (side) => metrics.echoes.inc({ side }),
        onConflict: (conflict) =>
          metrics.conflicts.inc({
            winner: conflict.winner,
            rule: conflict.rule,
          }),
      },
    });
    const polling = config.coopel.polling;
    if (writesGhl && polling) {
      coopelPoller = new CoopelPoller({
        queue,
        store: twoWay,
        logger,
        accountId: config.coopel.account_id,
        list: (query, context) => restCoopel.listContactsPage(query, context),
        intervalMs: polling.interval_ms,
        pageSize: polling.page_size,
        overlapMs: polling.overlap_ms,
        updatedSinceParam: polling.updated_since_param,
        limitParam: polling.limit_param,
        cursorParam: polling.cursor_param,
        updatedAtField: config.coopel.updated_at_field,
      });
      if (polling.interval_ms > 0) coopelPoller.start();
    }
    if (config.sync.tasks.enabled) {
      taskPoller = new TaskPoller({
        queue,
        ghl: ghlApi,
        logger,
        // A location paused from the dashboard is not polled either, so it gets no GHL reads.
        locationIds: async () => {
          const ids: string[] = [];
          for (const l of config.ghl.locations)
            if (!l.paused && syncs(l.id, "tasks") && !(await pauses.get(l.id)))
              ids.push(l.id);
          return ids;
        },
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
    await coopelPoller?.stop();
    await server.close().catch(() => {});
    await queue.close();
    await store.close();
    throw new StartupError(
      `cannot listen on ${config.server.host}:${config.server.port} (${(error as Error).message}); free the port or change server.host and server.port`,
      { cause: error, exitCode: 1 },
    );
  }
  worker?.start();
  const counter = worker ? startContactCounts(store, logger) : null;
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
    coopelPoller,
    twoWay,
    syncState,
    contactPoller,
    metrics,
    async close(graceMs = 10_000) {
      if (closed) return;
      closed = true;
      if (counter) clearInterval(counter);
      ghl.stop();
      await taskPoller?.stop();
      await coopelPoller?.stop();
      await contactPoller?.stop();
      await server.close();
      await worker?.stop(graceMs);
      await queue.close();
      await store.close();
    },
  };
}

/** How often a worker process records the contact counts of the dashboard chart. */
export const CONTACT_COUNT_INTERVAL_MS = 15 * 60 * 1000;

/** Records the contact counts now and every CONTACT_COUNT_INTERVAL_MS; a failure is logged and the next one tried. */
function startContactCounts(store: Store, logger: Logger): NodeJS.Timeout {
  const record = () => {
    store.recordContactCounts(Date.now()).catch((error: unknown) => {
      logger.warn({ err: error }, "recording the contact counts failed");
    });
  };
  record();
  const timer = setInterval(record, CONTACT_COUNT_INTERVAL_MS);
  timer.unref();
  return timer;
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
    config.coopel.webhooks?.secret,
    config.admin.token,
    config.admin.password_hash,
  ];
}
