import { existsSync, rmSync } from "node:fs";
import type { Logger } from "pino";
import { sqliteFileFromUrl } from "../store/sqlite/database.js";
import type { LoadedConfig } from "../config/load.js";
import { createLogger } from "../runtime/logger.js";
import {
  StartupError,
  startService,
  type Service,
} from "../runtime/service.js";
import type { RunningSandboxes } from "../runtime/sandboxes.js";

/** Starts the service as configured and resolves with the exit code once it is stopped by a signal. */
export async function runStart(
  loaded: LoadedConfig,
  role: "all" | "receiver" | "worker",
): Promise<number> {
  const { config, baseDir } = loaded;
  const logger = createLogger(config.log);

  let sandboxes: RunningSandboxes | null = null;
  let service: Service;
  try {
    if (config.sandbox.enabled) {
      // Loaded on demand so that a production start never loads simulator code.
      const { startSandboxes } = await import("../runtime/sandboxes.js");
      sandboxes = await startSandboxes(config, logger);
    }
    if (config.demo.enabled && config.sandbox.enabled)
      resetDemoStore(loaded, logger);
    service = await startService({
      config,
      baseDir,
      logger,
      runWorker: role !== "receiver" && config.worker.enabled,
      receiveWebhooks: role !== "worker",
    });
  } catch (error) {
    await sandboxes?.close();
    if (error instanceof StartupError) {
      logger.error(error.message);
      logger.flush();
      return error.exitCode;
    }
    throw error;
  }

  const mode = config.store.url.startsWith("sqlite:")
    ? "embedded"
    : "scale-out";
  logger.info(
    { mode, role, url: service.url, data: service.dataLocation },
    `ghl-coopel-sync started in ${mode} mode (role ${role}); webhooks: POST ${service.url}/webhooks/ghl; data: ${service.dataLocation}`,
  );
  if (sandboxes) {
    const { connectSandboxWebhooks } = await import("../runtime/sandboxes.js");
    connectSandboxWebhooks(config, service.url, sandboxes);
    logger.info(
      { ghlSandbox: sandboxes.ghl.url, coopelSandbox: sandboxes.coopel.url },
      `sandboxes on 127.0.0.1: GHL ${sandboxes.ghl.url}, Coopel ${sandboxes.coopel.url} (Coopel OpenAPI: ${sandboxes.coopel.url}/openapi.json)`,
    );
    logger.info(
      "to go live: set ghl.base_url, ghl.locations (id and token), coopel.base_url and coopel.token to the real services, set sandbox.enabled and demo.enabled to false, and point the GHL app's webhook URL at /webhooks/ghl (see README, How to go live)",
    );
  }

  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info(
        { signal },
        "stopping: intake closed, letting running jobs finish",
      );
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });

  if (config.demo.enabled && sandboxes) {
    const { runDemo } = await import("../runtime/demo.js");
    runDemo({ config, service, sandboxes, logger }).catch((error: unknown) => {
      logger.error({ err: error }, "demo traffic failed");
    });
  } else if (config.demo.enabled) {
    logger.warn("demo.enabled needs sandbox.enabled; no demo traffic sent");
  }

  await stopped;
  await service.close();
  await sandboxes?.close();
  logger.info("stopped");
  logger.flush();
  return 0;
}

/**
 * Deletes the SQLite file of a demo run. The in-process sandboxes start
 * empty, so links kept from an earlier run would point at Coopel contacts
 * that no longer exist.
 */
function resetDemoStore(loaded: LoadedConfig, logger: Logger): void {
  const url = loaded.config.store.url;
  if (!url.startsWith("sqlite:")) return;
  const file = sqliteFileFromUrl(url, loaded.baseDir);
  if (file === ":memory:" || !existsSync(file)) return;
  for (const suffix of ["", "-wal", "-shm"])
    rmSync(`${file}${suffix}`, { force: true });
  logger.info(
    { file },
    "demo with in-process sandboxes: starting from an empty store (set demo.enabled to false to keep data between runs)",
  );
}
