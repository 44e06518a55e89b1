import { randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply } from "fastify";

/** OAuth client of the marketplace app that the sandbox accepts at `POST /oauth/token`. */
export interface GhlOAuthOptions {
  clientId: string;
  clientSecret: string;
  /** `expires_in` of issued access tokens in seconds; default 86399 like the real API. */
  accessTokenTtlSeconds?: number;
  /** Space-separated scopes put in token responses. */
  scope?: string;
}

const CODE_TTL_MS = 10 * 60 * 1000;
const DEFAULT_SCOPE =
  "contacts.readonly contacts.write locations/customFields.readonly users.readonly";
export const SANDBOX_COMPANY_ID = "SandboxCompany000001";
export const SANDBOX_USER_ID = "SandboxUser000000001";

interface Grant {
  locationId: string;
  expiresAt: number;
}

function newToken(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * OAuth state of the GHL sandbox: single-use authorization codes, access tokens that expire,
 * and refresh tokens that stop working once used, since each refresh returns a new pair.
 */
export class GhlOAuthServer {
  readonly #options: GhlOAuthOptions | undefined;
  readonly #codes = new Map<string, Grant>();
  readonly #accessTokens = new Map<string, Grant>();
  readonly #refreshTokens = new Map<string, string>();

  constructor(options: GhlOAuthOptions | undefined) {
    this.#options = options;
  }

  /** Issues a code for `locationId` as the install redirect would; valid for 10 minutes, once. */
  issueAuthorizationCode(locationId: string): string {
    const code = newToken();
    this.#codes.set(code, { locationId, expiresAt: Date.now() + CODE_TTL_MS });
    return code;
  }

  /** Returns the location an unexpired access token was issued for. */
  locationOfAccessToken(token: string): string | undefined {
    const grant = this.#accessTokens.get(token);
    if (grant === undefined || grant.expiresAt <= Date.now()) {
      return undefined;
    }
    return grant.locationId;
  }

  /** Expires every issued access token (of one location, when given), so the next call gets 401. */
  expireAccessTokens(locationId?: string): void {
    for (const grant of this.#accessTokens.values()) {
      if (locationId === undefined || grant.locationId === locationId) {
        grant.expiresAt = 0;
      }
    }
  }

  /** Adds `POST /oauth/token`, which takes a form-encoded body like the real endpoint. */
  register(app: FastifyInstance): void {
    app.post("/oauth/token", async (request, reply) => {
      if (
        !String(request.headers["content-type"] ?? "").startsWith(
          "application/x-www-form-urlencoded",
        )
      ) {
        return oauthError(
          reply,
          400,
          "invalid_request",
          "The token endpoint takes an application/x-www-form-urlencoded body",
        );
      }
      const form = (request.body ?? {}) as Record<string, string | undefined>;
      if (!this.#clientMatches(form.client_id, form.client_secret)) {
        return oauthError(
          reply,
          401,
          "invalid_client",
          "Unknown client_id or wrong client_secret",
        );
      }
      if (form.user_type !== undefined && form.user_type !== "Location") {
        return oauthError(
          reply,
          400,
          "invalid_request",
          `user_type "${form.user_type}" is not supported by the sandbox; use Location`,
        );
      }
      if (form.grant_type === "authorization_code") {
        const grant = takeGrant(this.#codes, form.code);
        if (grant === undefined) {
          return oauthError(
            reply,
            400,
            "invalid_grant",
            "Authorization code is invalid, expired or already used",
          );
        }
        return this.#issueTokens(grant.locationId);
      }
      if (form.grant_type === "refresh_token") {
        const locationId =
          form.refresh_token === undefined
            ? undefined
            : this.#refreshTokens.get(form.refresh_token);
        if (locationId === undefined || form.refresh_token === undefined) {
          return oauthError(
            reply,
            400,
            "invalid_grant",
            "Refresh token is invalid or has already been used",
          );
        }
        this.#refreshTokens.delete(form.refresh_token);
        return this.#issueTokens(locationId);
      }
      return oauthError(
        reply,
        400,
        "unsupported_grant_type",
        `grant_type must be authorization_code or refresh_token, got "${form.grant_type ?? ""}"`,
      );
    });
  }

  #clientMatches(
    clientId: string | undefined,
    clientSecret: string | undefined,
  ): boolean {
    if (
      this.#options === undefined ||
      clientId === undefined ||
      clientSecret === undefined
    ) {
      return false;
    }
    return (
      safeEqual(clientId, this.#options.clientId) &&
      safeEqual(clientSecret, this.#options.clientSecret)
    );
  }

  #issueTokens(locationId: string): Record<string, unknown> {
    const expiresIn = this.#options?.accessTokenTtlSeconds ?? 86399;
    const accessToken = newToken();
    const refreshToken = newToken();
    this.#accessTokens.set(accessToken, {
      locationId,
      expiresAt: Date.now() + expiresIn * 1000,
    });
    this.#refreshTokens.set(refreshToken, locationId);
    return {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: expiresIn,
      refresh_token: refreshToken,
      scope: this.#options?.scope ?? DEFAULT_SCOPE,
      userType: "Location",
      locationId,
      companyId: SANDBOX_COMPANY_ID,
      userId: SANDBOX_USER_ID,
      isBulkInstallation: false,
    };
  }
}

function takeGrant(
  codes: Map<string, Grant>,
  code: string | undefined,
): Grant | undefined {
  const grant = code === undefined ? undefined : codes.get(code);
  if (code === undefined || grant === undefined) {
    return undefined;
  }
  codes.delete(code);
  return grant.expiresAt > Date.now() ? grant : undefined;
}

function safeEqual(actual: string, expected: string): boolean {
  const left = Buffer.from(actual);
  const right = Buffer.from(expected);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Sends an RFC 6749 error body; the real endpoint does not document its error bodies. */
function oauthError(
  reply: FastifyReply,
  status: number,
  error: string,
  description: string,
): FastifyReply {
  return reply.code(status).send({ error, error_description: description });
}
