import type { Config } from "../config/schema.js";
import {
  StaticTokenSource,
  type GhlTokenSource,
} from "../connectors/ghl/client.js";
import { GhlOAuthClient } from "../connectors/ghl/oauth-client.js";
import {
  GhlConnections,
  type LocationState,
} from "../connectors/ghl/oauth-connections.js";
import { OAuthTokenSource } from "../connectors/ghl/oauth-tokens.js";
import type { ConnectionStore, Logger } from "../engine/ports.js";
import {
  ENCRYPTION_KEY_FILE_VARIABLE,
  ENCRYPTION_KEY_VARIABLE,
  EncryptionKeyError,
  loadEncryptionKey,
  sealedKeyId,
  SecretBox,
} from "../security/secret-box.js";
import type { OAuthRouteOptions } from "../server/oauth-routes.js";
import { StartupError } from "./service.js";

/** How the service reaches GHL: tokens per location, and the OAuth parts when configured. */
export interface GhlAccess {
  tokens: GhlTokenSource;
  /** Present when ghl.oauth is configured. */
  connections: GhlConnections | null;
  oauthRoutes: OAuthRouteOptions | null;
  locationState(locationId: string): LocationState;
  stop(): void;
}

const RELOAD_INTERVAL_MS = 30_000;

/**
 * Loads the encryption key, checks that it opens the stored secrets, and
 * builds the token sources. Stops with StartupError when stored secrets
 * exist and no key is set, or when the key is not the one they were sealed
 * under.
 */
export async function openGhlAccess(
  config: Config,
  store: ConnectionStore,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<GhlAccess> {
  let key: Buffer | null;
  try {
    key = loadEncryptionKey(env);
  } catch (error) {
    if (error instanceof EncryptionKeyError)
      throw new StartupError(error.message);
    throw error;
  }
  const sealed = (await store.listConnections()).filter(
    (c) => c.sealedTokens !== null,
  );
  if (key === null && sealed.length > 0) {
    throw new StartupError(
      `the store holds ${sealed.length} encrypted GHL connection(s), but ${ENCRYPTION_KEY_VARIABLE} and ${ENCRYPTION_KEY_FILE_VARIABLE} are not set; set the key they were encrypted with`,
    );
  }
  const box = key === null ? null : new SecretBox(key);
  const foreign = sealed.filter(
    (c) => sealedKeyId(c.sealedTokens ?? "") !== box?.keyId,
  );
  if (box !== null && foreign.length > 0) {
    throw new StartupError(
      `${foreign.length} stored GHL connection(s) were encrypted under another key than ${ENCRYPTION_KEY_VARIABLE} (key id ${box.keyId}); set the old key, or run \`ghl-coopel-sync reencrypt\` with the old and new keys`,
    );
  }

  const configured = config.ghl.locations.map((l) => ({
    id: l.id,
    paused: l.paused,
  }));
  const privateTokens = config.ghl.locations.flatMap((l) =>
    l.token === undefined ? [] : [{ id: l.id, token: l.token }],
  );
  const staticTokens = new StaticTokenSource(privateTokens);
  const oauthConfig = config.ghl.oauth;
  if (oauthConfig === undefined) {
    if (sealed.length > 0)
      logger.warn(
        { connections: sealed.length },
        "the store holds GHL OAuth connections, but ghl.oauth is not configured, so they are not used",
      );
    const states = new Map(
      configured.map((l) => [l.id, l.paused ? "paused" : "active"] as const),
    );
    return {
      tokens: staticTokens,
      connections: null,
      oauthRoutes: null,
      locationState: (id) => states.get(id) ?? "unknown",
      stop: () => undefined,
    };
  }
  if (box === null) {
    throw new StartupError(
      `ghl.oauth stores GHL tokens encrypted, so it needs a key: set ${ENCRYPTION_KEY_VARIABLE} to 32 random bytes in base64 (\`openssl rand -base64 32\`), or ${ENCRYPTION_KEY_FILE_VARIABLE} to a file that holds them`,
    );
  }
  const redirectUri =
    oauthConfig.redirect_uri ??
    (config.server.public_url === undefined
      ? undefined
      : new URL("/oauth/callback", config.server.public_url).toString());
  if (redirectUri === undefined) {
    throw new StartupError(
      "ghl.oauth needs ghl.oauth.redirect_uri or server.public_url, so that GHL can send the operator back to /oauth/callback",
    );
  }

  const client = new GhlOAuthClient({
    clientId: oauthConfig.client_id,
    clientSecret: oauthConfig.client_secret,
    baseUrl: config.ghl.base_url,
    apiVersion: config.ghl.api_version,
    timeoutMs: 10_000,
  });
  const oauthTokens = new OAuthTokenSource({
    store,
    box,
    oauth: client,
    logger,
    refreshMarginMs: oauthConfig.refresh_margin_ms,
    probeIntervalMs: oauthConfig.probe_interval_ms,
  });
  const connections = new GhlConnections({
    store,
    tokens: oauthTokens,
    oauth: client,
    logger,
    configured,
  });
  await connections.reload();
  const timer = setInterval(() => {
    Promise.all([connections.reload(), connections.probe()]).catch(
      (error: unknown) => {
        logger.warn({ err: error }, "reloading GHL connections failed");
      },
    );
  }, RELOAD_INTERVAL_MS);
  timer.unref();

  const privateIds = new Set(privateTokens.map((t) => t.id));
  const tokens: GhlTokenSource = {
    getToken: (locationId) =>
      privateIds.has(locationId)
        ? staticTokens.getToken(locationId)
        : oauthTokens.getToken(locationId),
    refreshAfterUnauthorized: (locationId, rejected) =>
      privateIds.has(locationId)
        ? Promise.resolve(null)
        : oauthTokens.refreshAfterUnauthorized(locationId, rejected),
  };
  return {
    tokens,
    connections,
    oauthRoutes: {
      oauth: client,
      connections,
      logger,
      clientId: oauthConfig.client_id,
      stateKey: oauthConfig.client_secret,
      authorizeUrl: oauthConfig.authorize_url,
      redirectUri,
      scopes: oauthConfig.scopes,
    },
    locationState: (id) => connections.locationState(id),
    stop: () => clearInterval(timer),
  };
}
