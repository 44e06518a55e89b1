import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Config } from "../config/schema.js";
import {
  startCoopelSandbox,
  type CoopelSandbox,
} from "../sandbox/coopel-sandbox.js";
import { startGhlSandbox, type GhlSandbox } from "../sandbox/ghl-sandbox.js";

/** Both sandboxes, started for the embedded demo or by the `sandbox` command. */
export interface RunningSandboxes {
  ghl: GhlSandbox;
  coopel: CoopelSandbox;
  close(): Promise<void>;
}

/** Starts the GHL and Coopel sandboxes on 127.0.0.1 with the ports and tokens of the config. */
export async function startSandboxes(
  config: Config,
  logger: Logger,
): Promise<RunningSandboxes> {
  const ghl = await startGhlSandbox({
    host: "127.0.0.1",
    port: config.sandbox.ghl_port,
    // A location without a Private Integration token still needs one in the
    // sandbox; a random one that the service never learns does.
    locations: config.ghl.locations.map((l) => ({
      id: l.id,
      token: l.token ?? randomBytes(24).toString("base64url"),
    })),
    oauth: config.ghl.oauth && {
      clientId: config.ghl.oauth.client_id,
      clientSecret: config.ghl.oauth.client_secret,
    },
    logger: false,
  });
  let coopel: CoopelSandbox;
  try {
    coopel = await startCoopelSandbox({
      host: "127.0.0.1",
      port: config.sandbox.coopel_port,
      token: config.coopel.token ?? randomBytes(24).toString("base64url"),
      logger: false,
    });
  } catch (error) {
    await ghl.close();
    throw error;
  }
  logger.debug({ ghl: ghl.url, coopel: coopel.url }, "sandboxes started");
  return {
    ghl,
    coopel,
    async close() {
      await Promise.allSettled([ghl.close(), coopel.close()]);
    },
  };
}

/**
 * Points the Coopel sandbox's contact webhooks at the service, signed with
 * `coopel.webhooks.secret`. Does nothing unless contacts sync from Coopel
 * and that secret is set.
 */
export function connectSandboxWebhooks(
  config: Config,
  serviceUrl: string,
  sandboxes: RunningSandboxes,
): void {
  const webhooks = config.coopel.webhooks;
  if (config.sync.contacts.direction === "ghl_to_coopel" || !webhooks) return;
  sandboxes.coopel.setWebhookTarget({
    url: `${serviceUrl}/webhooks/coopel`,
    secret: webhooks.secret,
    header: webhooks.signature_header,
  });
}
