import type { Logger as PinoLogger } from "pino";
import type { LoadedConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { CoopelRestClient } from "../connectors/coopel/client.js";
import { GhlRestApi } from "../connectors/ghl/api.js";
import { GhlHttpClient } from "../connectors/ghl/client.js";
import type { Enrich } from "../engine/backfill.js";
import { ContactEnricher } from "../mapping/contact-enrichment.js";
import { ContactMapping } from "../mapping/contact-mapping.js";
import { openGhlAccess } from "../runtime/ghl-access.js";
import { createLogger, registerSecretValues } from "../runtime/logger.js";
import {
  createRateLimiter,
  openStorage,
  StartupError,
  type Storage,
} from "../runtime/service.js";
import { UsageError } from "./errors.js";
import { OptionError } from "./option-error.js";

/** The store and clients that the one-shot sync commands (backfill, reconcile, review, sync-one) use. */
export interface SyncContext {
  config: Config;
  storage: Storage;
  ghl: GhlRestApi;
  coopel: CoopelRestClient;
  mapping: ContactMapping;
  /** Reads GHL custom field definitions and enriches GHL records before mapping. */
  enricher: ContactEnricher;
  enrich: Enrich;
  logger: PinoLogger;
  close(): Promise<void>;
}

/** Opens the store, the GHL access of the configured locations and the Coopel client. Log lines go to standard error. */
export async function openSyncContext(
  loaded: LoadedConfig,
  logDestination: NodeJS.WritableStream = process.stderr,
): Promise<SyncContext> {
  const { config } = loaded;
  registerSecretValues([
    ...config.ghl.locations.map((l) => l.token),
    config.ghl.oauth?.client_secret,
    config.coopel.token,
    config.coopel.oauth?.client_secret,
  ]);
  const logger = createLogger(config.log, logDestination);
  let storage: Storage;
  try {
    storage = await openStorage(config, loaded.baseDir);
  } catch (error) {
    if (error instanceof StartupError) throw new UsageError(error.message);
    throw error;
  }
  let access;
  try {
    access = await openGhlAccess(config, storage.connections, logger);
  } catch (error) {
    await storage.queue.close();
    await storage.store.close();
    if (error instanceof StartupError) throw new UsageError(error.message);
    throw error;
  }
  const ghl = new GhlRestApi(
    new GhlHttpClient({
      baseUrl: config.ghl.base_url,
      apiVersion: config.ghl.api_version,
      timeoutMs: config.coopel.timeout_ms,
      tokens: access.tokens,
    }),
  );
  const coopel = new CoopelRestClient(
    config.coopel,
    // The Coopel client takes a budget only when coopel.rate_limit is set.
    config.coopel.rate_limit === null ? undefined : createRateLimiter(config),
  );
  const mapping = new ContactMapping(config.mapping);
  const enricher = new ContactEnricher({
    ghl,
    mapping,
    logger,
    defaultCountry: config.mapping.default_country,
  });
  return {
    config,
    storage,
    ghl,
    coopel,
    mapping,
    enricher,
    enrich: async (locationId, record, context) =>
      (await enricher.enrich(locationId, record, context)).payload,
    logger,
    async close() {
      access.stop();
      await storage.queue.close();
      await storage.store.close();
    },
  };
}

/** Returns the location a command works on: `--location`, or the only configured one. */
export function chooseLocation(config: Config, location?: string): string {
  const ids = config.ghl.locations.map((l) => l.id);
  if (location !== undefined) {
    if (!ids.includes(location))
      throw new OptionError(
        `--location ${location} is not in ghl.locations; use one of: ${ids.join(", ") || "(none configured)"}`,
      );
    return location;
  }
  if (ids.length === 1) return ids[0]!;
  throw new OptionError(
    ids.length === 0
      ? "no GHL location is configured; add one under ghl.locations"
      : `several GHL locations are configured; choose one with --location (${ids.join(", ")})`,
  );
}
