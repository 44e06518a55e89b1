import type { LoadedConfig } from "../config/load.js";
import { createLogger } from "../runtime/logger.js";
import { startSandboxes } from "../runtime/sandboxes.js";

/** Runs both sandboxes until SIGINT or SIGTERM. */
export async function runSandbox(loaded: LoadedConfig): Promise<number> {
  const logger = createLogger(loaded.config.log);
  const sandboxes = await startSandboxes(loaded.config, logger);
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
