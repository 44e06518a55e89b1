import { seedFirstSync } from "../sandbox/first-sync-seed.js";
import type { LoadedConfig } from "../config/load.js";
import { createLogger } from "../runtime/logger.js";
import { startSandboxes, type RunningSandboxes } from "../runtime/sandboxes.js";

/** Runs both sandboxes until SIGINT or SIGTERM; returns 1 when they cannot start. */
export async function runSandbox(
  loaded: LoadedConfig,
  options: { seed?: number } = {},
): Promise<number> {
  const logger = createLogger(loaded.config.log);
  let sandboxes: RunningSandboxes;
  try {
    sandboxes = await startSandboxes(loaded.config, logger);
  } catch (error) {
    const { ghl_port: ghlPort, coopel_port: coopelPort } =
      loaded.config.sandbox;
    logger.error(
      { err: error },
      `the sandboxes could not start on ports ${ghlPort} and ${coopelPort} (${(error as Error).message}); free the ports or change sandbox.ghl_port and sandbox.coopel_port`,
    );
    logger.flush();
    return 1;
  }
  const locationId = loaded.config.ghl.locations[0]?.id;
  if (options.seed !== undefined && locationId !== undefined) {
    const seeded = seedFirstSync(
      sandboxes.ghl,
      sandboxes.coopel,
      locationId,
      options.seed,
    );
    logger.info(
      { ...seeded, locationId },
      `seeded ${seeded.ghlContacts} GHL contacts and ${seeded.coopelContacts} Coopel contacts for a first sync`,
    );
  }
  logger.info(
    { ghl: sandboxes.ghl.url, coopel: sandboxes.coopel.url },
    `sandboxes running: GHL ${sandboxes.ghl.url}, Coopel ${sandboxes.coopel.url} (OpenAPI: ${sandboxes.coopel.url}/openapi.json); Ctrl-C stops them`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await sandboxes.close();
  return 0;
}
