import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { GhlOAuthClient } from "../connectors/ghl/oauth-client.js";
import type { GhlConnections } from "../connectors/ghl/oauth-connections.js";
import { ApiError } from "../engine/errors.js";
import type { Logger } from "../engine/ports.js";

export interface OAuthRouteOptions {
  oauth: GhlOAuthClient;
  connections: GhlConnections;
  logger: Logger;
  clientId: string;
  /** Key that signs the `state` parameter; the OAuth client secret serves. */
  stateKey: string;
  authorizeUrl: string;
  redirectUri: string;
  scopes: string[];
  now?: () => number;
}

const STATE_TTL_MS = 15 * 60_000;

/**
 * Registers `GET /oauth/connect`, which sends the operator to GHL's
 * location chooser, and `GET /oauth/callback`, which exchanges the code and
 * stores the tokens. Installs started from the GHL marketplace reach the
 * callback without a `state`; a `state` that is present must be valid.
 */
export function registerOAuthRoutes(
  app: FastifyInstance,
  options: OAuthRouteOptions,
): void {
  const now = options.now ?? Date.now;
  const sign = (payload: string): string =>
    createHmac("sha256", options.stateKey)
      .update(`oauth-state.${payload}`)
      .digest("base64url");

  app.get("/oauth/connect", async (_request, reply) => {
    const payload = `${now() + STATE_TTL_MS}.${randomBytes(12).toString("base64url")}`;
    const url = new URL(options.authorizeUrl);
    url.searchParams.set("response_type", "code");
    url.searchParams.set("client_id", options.clientId);
    url.searchParams.set("redirect_uri", options.redirectUri);
    url.searchParams.set("scope", options.scopes.join(" "));
    url.searchParams.set("state", `${payload}.${sign(payload)}`);
    return reply.redirect(url.toString(), 302);
  });

  app.get("/oauth/callback", async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    if (query.error !== undefined) {
      return page(reply, 400, "Connection cancelled", [
        `GHL answered: ${query.error}. Start again from /oauth/connect.`,
      ]);
    }
    if (query.state !== undefined && !stateValid(query.state, sign, now())) {
      return page(reply, 400, "Connection failed", [
        "The state parameter is invalid or older than 15 minutes. Start again from /oauth/connect.",
      ]);
    }
    if (query.code === undefined || query.code === "") {
      return page(reply, 400, "Connection failed", [
        "The callback came without a code. Start again from /oauth/connect.",
      ]);
    }
    try {
      const answer = await options.oauth.exchangeCode(
        query.code,
        options.redirectUri,
      );
      const result = await options.connections.connect(answer);
      return page(reply, 200, "Connected", [
        result.userType === "Company"
          ? `Agency ${result.companyId ?? ""}: ${result.connected.length} location(s) connected, ${result.alreadyConnected.length} already connected.`
          : `Location ${result.connected.join(", ")} connected.`,
        "You can close this page.",
      ]);
    } catch (error) {
      options.logger.error(
        { err: error },
        "exchanging a GHL authorization code failed",
      );
      const reason =
        error instanceof ApiError && error.status !== null && error.status < 500
          ? "GHL rejected the code; it may be used or expired."
          : "GHL could not be reached or failed.";
      return page(
        reply,
        error instanceof ApiError ? 502 : 500,
        "Connection failed",
        [`${reason} Start again from /oauth/connect.`],
      );
    }
  });
}

function stateValid(
  state: string,
  sign: (payload: string) => string,
  now: number,
): boolean {
  const parts = state.split(".");
  if (parts.length !== 3) return false;
  const [expires, nonce, mac] = parts as [string, string, string];
  const expected = Buffer.from(sign(`${expires}.${nonce}`));
  const received = Buffer.from(mac);
  return (
    expected.length === received.length &&
    timingSafeEqual(expected, received) &&
    Number(expires) > now
  );
}

function page(
  reply: FastifyReply,
  status: number,
  title: string,
  lines: string[],
): FastifyReply {
  const body = lines.map((line) => `<p>${escapeHtml(line)}</p>`).join("");
  return reply
    .code(status)
    .type("text/html; charset=utf-8")
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[
        c
      ]!,
  );
}
