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

/** Who a code or token was issued to: one location, or an agency (company). */
interface Grant {
  userType: "Location" | "Company";
  /** The location id, or the company id for a company grant. */
  subject: string;
  expiresAt: number;
}

/** A company's install of the app: the locations it was installed on. */
interface CompanyInstall {
  locationIds: Set<string>;
}

/** One call to `POST /oauth/token`, as the tests count them. */
export interface TokenRequestRecord {
  grantType: string;
  /** The status the sandbox answered with. */
  status: number;
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
  readonly #refreshTokens = new Map<string, Grant>();
  readonly #companies = new Map<string, CompanyInstall>();
  readonly #inactiveLocations = new Set<string>();
  /** Every call to `POST /oauth/token`, oldest first. */
  readonly tokenRequests: TokenRequestRecord[] = [];

  constructor(options: GhlOAuthOptions | undefined) {
    this.#options = options;
  }

  /** Issues a code for `locationId` as the install redirect would; valid for 10 minutes, once. */
  issueAuthorizationCode(locationId: string): string {
    const code = newToken();
    this.#codes.set(code, {
      userType: "Location",
      subject: locationId,
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    return code;
  }

  /**
   * Installs the app on `locationIds` of a company, as a bulk agency install
   * does, and issues a code whose exchange returns a company token.
   */
  issueCompanyAuthorizationCode(
    companyId: string,
    locationIds: string[],
  ): string {
    const install = this.#companies.get(companyId) ?? {
      locationIds: new Set<string>(),
    };
    for (const id of locationIds) install.locationIds.add(id);
    this.#companies.set(companyId, install);
    const code = newToken();
    this.#codes.set(code, {
      userType: "Company",
      subject: companyId,
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    return code;
  }

  /** Returns the location an unexpired location access token was issued for. */
  locationOfAccessToken(token: string): string | undefined {
    const grant = this.#accessTokens.get(token);
    if (grant === undefined || grant.expiresAt <= Date.now()) return undefined;
    return grant.userType === "Location" ? grant.subject : undefined;
  }

  /** Returns the company an unexpired company access token was issued for. */
  companyOfAccessToken(token: string): string | undefined {
    const grant = this.#accessTokens.get(token);
    if (grant === undefined || grant.expiresAt <= Date.now()) return undefined;
    return grant.userType === "Company" ? grant.subject : undefined;
  }

  /** Expires every issued access token (of one location or company, when given), so the next call gets 401. */
  expireAccessTokens(subject?: string): void {
    for (const grant of this.#accessTokens.values()) {
      if (subject === undefined || grant.subject === subject) {
        grant.expiresAt = 0;
      }
    }
  }

  /** Makes refreshes of the location's tokens fail with 400 "Location is not active", or lifts that. */
  setLocationActive(locationId: string, active: boolean): void {
    if (active) this.#inactiveLocations.delete(locationId);
    else this.#inactiveLocations.add(locationId);
  }

  /** Counts calls to `POST /oauth/token`, of one grant type when given. */
  countTokenRequests(grantType?: string): number {
    return this.tokenRequests.filter(
      (r) => grantType === undefined || r.grantType === grantType,
    ).length;
  }

  /**
   * Mints a location token from a company token, as `POST /oauth/locationToken`
   * does: no refresh token comes with it.
   */
  mintLocationToken(
    companyId: string,
    locationId: string,
  ): Record<string, unknown> | undefined {
    const install = this.#companies.get(companyId);
    if (install === undefined || !install.locationIds.has(locationId))
      return undefined;
    const expiresIn = this.#options?.accessTokenTtlSeconds ?? 86399;
    const accessToken = newToken();
    this.#accessTokens.set(accessToken, {
      userType: "Location",
      subject: locationId,
      expiresAt: Date.now() + expiresIn * 1000,
    });
    return {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: expiresIn,
      scope: this.#options?.scope ?? DEFAULT_SCOPE,
      locationId,
      userId: SANDBOX_USER_ID,
    };
  }

  /** The locations a company installed the app on, as `GET /oauth/installedLocations` lists them. */
  installedLocations(companyId: string): string[] {
    return [...(this.#companies.get(companyId)?.locationIds ?? [])];
  }

  /** Adds `POST /oauth/token`, which takes a form-encoded body like the real endpoint. */
  register(app: FastifyInstance): void {
    app.post("/oauth/token", async (request, reply) => {
      const form = (request.body ?? {}) as Record<string, string | undefined>;
      const record: TokenRequestRecord = {
        grantType: String(form.grant_type ?? ""),
        status: 200,
      };
      this.tokenRequests.push(record);
      const fail = (
        status: number,
        error: string,
        description: string,
      ): FastifyReply => {
        record.status = status;
        return oauthError(reply, status, error, description);
      };
      if (
        !String(request.headers["content-type"] ?? "").startsWith(
          "application/x-www-form-urlencoded",
        )
      ) {
        return fail(
          400,
          "invalid_request",
          "The token endpoint takes an application/x-www-form-urlencoded body",
        );
      }
      if (!this.#clientMatches(form.client_id, form.client_secret)) {
        return fail(
          401,
          "invalid_client",
          "Unknown client_id or wrong client_secret",
        );
      }
      if (
        form.user_type !== undefined &&
        form.user_type !== "Location" &&
        form.user_type !== "Company"
      ) {
        return fail(
          400,
          "invalid_request",
          `user_type "${form.user_type}" is invalid; use Location or Company`,
        );
      }
      if (form.grant_type === "authorization_code") {
        const grant = takeGrant(this.#codes, form.code);
        if (grant === undefined) {
          return fail(
            400,
            "invalid_grant",
            "Authorization code is invalid, expired or already used",
          );
        }
        return this.#issueTokens(grant);
      }
      if (form.grant_type === "refresh_token") {
        const grant =
          form.refresh_token === undefined
            ? undefined
            : this.#refreshTokens.get(form.refresh_token);
        if (grant === undefined || form.refresh_token === undefined) {
          return fail(
            400,
            "invalid_grant",
            "Refresh token is invalid or has already been used",
          );
        }
        if (
          grant.userType === "Location" &&
          this.#inactiveLocations.has(grant.subject)
        ) {
          // The refresh token stays valid: the location may become active again.
          record.status = 400;
          return reply.code(400).send({
            statusCode: 400,
            message: "Location is not active",
            error: "Bad Request",
          });
        }
        this.#refreshTokens.delete(form.refresh_token);
        return this.#issueTokens(grant);
      }
      return fail(
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

  #issueTokens(grant: Grant): Record<string, unknown> {
    const expiresIn = this.#options?.accessTokenTtlSeconds ?? 86399;
    const accessToken = newToken();
    const refreshToken = newToken();
    const issued: Grant = {
      userType: grant.userType,
      subject: grant.subject,
      expiresAt: Date.now() + expiresIn * 1000,
    };
    this.#accessTokens.set(accessToken, issued);
    this.#refreshTokens.set(refreshToken, { ...issued });
    const common = {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: expiresIn,
      refresh_token: refreshToken,
      scope: this.#options?.scope ?? DEFAULT_SCOPE,
      userType: grant.userType,
      userId: SANDBOX_USER_ID,
    };
    if (grant.userType === "Company") {
      return {
        ...common,
        companyId: grant.subject,
        approvedLocations: this.installedLocations(grant.subject),
        isBulkInstallation: true,
      };
    }
    return {
      ...common,
      locationId: grant.subject,
      companyId: SANDBOX_COMPANY_ID,
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
