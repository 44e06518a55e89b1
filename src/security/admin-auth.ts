import {
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "../engine/ports.js";
import { verifyPassword } from "./passwords.js";

export interface AdminAuthOptions {
  /** scrypt hash of the admin password; null turns password login off. */
  passwordHash: string | null;
  /** Bearer token for scripts and scrapers; null turns it off. */
  token: string | null;
  sessionTtlMs: number;
  secureCookies: boolean;
  logger: Logger;
  now?: () => number;
}

/** Routes anyone may call: health, webhooks from GHL, the OAuth callback and the login form. */
const OPEN_ROUTES = new Set([
  "/healthz",
  "/readyz",
  "/oauth/callback",
  "/admin/login",
]);
const OPEN_PREFIXES = ["/webhooks/"];
const UNSAFE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
export const SESSION_COOKIE = "gcs_session";
const MAX_FAILED_LOGINS = 10;
const FAILED_LOGIN_WINDOW_MS = 15 * 60_000;

/** How a request proved it may use the admin side. */
export type AdminIdentity = "token" | "session";

declare module "fastify" {
  interface FastifyRequest {
    admin?: { via: AdminIdentity; csrfToken: string | null };
  }
}

/** Returns whether anyone may call `path` without logging in. */
export function isOpenRoute(path: string): boolean {
  return (
    OPEN_ROUTES.has(path) ||
    OPEN_PREFIXES.some((prefix) => path.startsWith(prefix))
  );
}

/**
 * Closes every route except the open ones unless the request carries the
 * admin token or a session cookie from `POST /admin/login`. Session cookies
 * are HMAC-signed, HTTP-only and SameSite=Strict, so every process that
 * shares the config accepts them. Unsafe methods under a session also need
 * the session's CSRF token in `x-csrf-token` or a `_csrf` form field. Adds
 * security headers to every answer.
 */
export function registerAdminAuth(
  app: FastifyInstance,
  options: AdminAuthOptions,
): void {
  const now = options.now ?? Date.now;
  const sessionKey = createHash("sha256")
    .update("ghl-coopel-sync admin session\0")
    .update(options.passwordHash ?? randomBytes(32).toString("hex"))
    .update("\0")
    .update(options.token ?? "")
    .digest();
  const failedLogins = new Map<string, { count: number; since: number }>();
  if (!app.hasContentTypeParser("application/x-www-form-urlencoded")) {
    app.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string" },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );
  }

  const sign = (payload: string): string =>
    createHmac("sha256", sessionKey).update(payload).digest("base64url");
  const csrfFor = (nonce: string): string => sign(`csrf.${nonce}`);

  const readSession = (request: FastifyRequest): string | null => {
    const cookie = parseCookies(request.headers.cookie)[SESSION_COOKIE];
    if (cookie === undefined) return null;
    const [expires, nonce, mac] = cookie.split(".");
    if (expires === undefined || nonce === undefined || mac === undefined)
      return null;
    if (!safeEqual(mac, sign(`${expires}.${nonce}`))) return null;
    if (Number(expires) <= now()) return null;
    return nonce;
  };

  app.addHook("onRequest", async (request, reply) => {
    setSecurityHeaders(reply, options.secureCookies);
    const path = request.url.split("?")[0] ?? "";
    if (isOpenRoute(path)) return undefined;
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(
      request.headers.authorization ?? "",
    )?.[1];
    if (bearer !== undefined && options.token !== null) {
      if (safeEqual(bearer, options.token)) {
        request.admin = { via: "token", csrfToken: null };
        return undefined;
      }
    }
    const nonce = readSession(request);
    if (nonce === null) {
      return reply.code(401).send({
        error: "unauthorized",
        message:
          "log in at POST /admin/login or send the admin token as a bearer token",
      });
    }
    request.admin = { via: "session", csrfToken: csrfFor(nonce) };
    return undefined;
  });

  // CSRF runs after body parsing so that a `_csrf` form field can be read.
  app.addHook("preHandler", async (request, reply) => {
    if (request.admin?.via !== "session") return undefined;
    if (!UNSAFE_METHODS.has(request.method)) return undefined;
    const header = request.headers["x-csrf-token"];
    const field = formField(request.body, "_csrf");
    const sent = typeof header === "string" ? header : field;
    if (sent === undefined || !safeEqual(sent, request.admin.csrfToken ?? "")) {
      return reply.code(403).send({
        error: "csrf_token_invalid",
        message:
          "send the CSRF token from GET /admin/session in the x-csrf-token header or a _csrf form field",
      });
    }
    return undefined;
  });

  app.post("/admin/login", async (request, reply) => {
    const ip = request.ip;
    const failures = failedLogins.get(ip);
    if (
      failures !== undefined &&
      now() - failures.since < FAILED_LOGIN_WINDOW_MS &&
      failures.count >= MAX_FAILED_LOGINS
    ) {
      return reply.code(429).header("retry-after", "900").send({
        error: "too_many_attempts",
        message: "too many failed logins from this address; wait 15 minutes",
      });
    }
    const password = formField(request.body, "password");
    const ok =
      options.passwordHash !== null &&
      password !== undefined &&
      (await verifyPassword(password, options.passwordHash));
    if (!ok) {
      const entry =
        failures === undefined ||
        now() - failures.since >= FAILED_LOGIN_WINDOW_MS
          ? { count: 0, since: now() }
          : failures;
      entry.count += 1;
      failedLogins.set(ip, entry);
      if (failedLogins.size > 10_000) failedLogins.clear();
      options.logger.warn({ ip }, "admin login failed");
      return reply.code(401).send({
        error: "login_failed",
        message:
          options.passwordHash === null
            ? "password login is off; set admin.password_hash in the config"
            : "wrong password",
      });
    }
    failedLogins.delete(ip);
    const expires = now() + options.sessionTtlMs;
    const nonce = randomBytes(16).toString("base64url");
    const value = `${expires}.${nonce}.${sign(`${expires}.${nonce}`)}`;
    reply.header(
      "set-cookie",
      serializeCookie(SESSION_COOKIE, value, {
        maxAgeSeconds: Math.floor(options.sessionTtlMs / 1000),
        secure: options.secureCookies,
      }),
    );
    options.logger.info({ ip }, "admin logged in");
    return { status: "logged_in", csrfToken: csrfFor(nonce) };
  });

  app.get("/admin/session", async (request) => ({
    via: request.admin?.via,
    csrfToken: request.admin?.csrfToken,
  }));

  app.post("/admin/logout", async (_request, reply) => {
    reply.header(
      "set-cookie",
      serializeCookie(SESSION_COOKIE, "", {
        maxAgeSeconds: 0,
        secure: options.secureCookies,
      }),
    );
    return { status: "logged_out" };
  });
}

function setSecurityHeaders(reply: FastifyReply, https: boolean): void {
  reply.header("x-content-type-options", "nosniff");
  reply.header("x-frame-options", "DENY");
  reply.header("referrer-policy", "no-referrer");
  reply.header(
    "content-security-policy",
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  );
  reply.header("cross-origin-opener-policy", "same-origin");
  reply.header("cross-origin-resource-policy", "same-origin");
  reply.header("cache-control", "no-store");
  if (https) reply.header("strict-transport-security", "max-age=31536000");
}

/** Reads a field of a parsed form or JSON body, which may still be raw JSON bytes. */
function formField(body: unknown, name: string): string | undefined {
  let record: unknown = body;
  if (Buffer.isBuffer(body)) {
    try {
      record = JSON.parse(body.toString("utf8"));
    } catch {
      return undefined;
    }
  }
  if (record === null || typeof record !== "object") return undefined;
  const value = (record as Record<string, unknown>)[name];
  return typeof value === "string" ? value : undefined;
}

export function parseCookies(
  header: string | undefined,
): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const index = part.indexOf("=");
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    const value = part.slice(index + 1).trim();
    try {
      cookies[name] = decodeURIComponent(value);
    } catch {
      cookies[name] = value;
    }
  }
  return cookies;
}

function serializeCookie(
  name: string,
  value: string,
  options: { maxAgeSeconds: number; secure: boolean },
): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    "Path=/",
    `Max-Age=${options.maxAgeSeconds}`,
    "HttpOnly",
    "SameSite=Strict",
    ...(options.secure ? ["Secure"] : []),
  ].join("; ");
}

function safeEqual(actual: string, expected: string): boolean {
  const left = createHash("sha256").update(actual).digest();
  const right = createHash("sha256").update(expected).digest();
  return timingSafeEqual(left, right) && actual === expected;
}
