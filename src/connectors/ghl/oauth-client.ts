import { ApiError } from "../../engine/errors.js";
import { messageOf } from "./client.js";

/** The marketplace app's OAuth client, from config. */
export interface GhlOAuthApp {
  clientId: string;
  clientSecret: string;
  /** GHL's API base URL; the token routes live under it. */
  baseUrl: string;
  apiVersion: string;
  timeoutMs: number;
}

/** A token answer of `POST /oauth/token` or `POST /oauth/locationToken`. */
export interface TokenAnswer {
  accessToken: string;
  /** Null for location tokens minted from a company token. */
  refreshToken: string | null;
  /** Seconds the access token lives. */
  expiresIn: number;
  scope: string;
  userType: "Location" | "Company";
  locationId: string | null;
  companyId: string | null;
}

/**
 * Calls GHL's OAuth endpoints with form-encoded bodies. Errors throw
 * ApiError; bodies that could echo a token are never put in the message.
 */
export class GhlOAuthClient {
  constructor(private readonly app: GhlOAuthApp) {}

  /** Exchanges an authorization code from the install redirect. */
  exchangeCode(
    code: string,
    redirectUri: string | undefined,
    userType?: "Location" | "Company",
  ): Promise<TokenAnswer> {
    return this.tokenRequest({
      grant_type: "authorization_code",
      code,
      ...(redirectUri === undefined ? {} : { redirect_uri: redirectUri }),
      ...(userType === undefined ? {} : { user_type: userType }),
    });
  }

  /** Trades a refresh token for a new pair; the old refresh token stops working. */
  refresh(
    refreshToken: string,
    userType: "Location" | "Company",
  ): Promise<TokenAnswer> {
    return this.tokenRequest({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      user_type: userType,
    });
  }

  /** Mints a location token from a company token; it comes without a refresh token. */
  async locationToken(
    companyToken: string,
    companyId: string,
    locationId: string,
  ): Promise<TokenAnswer> {
    const body = await this.send("POST", "/oauth/locationToken", {
      token: companyToken,
      form: { companyId, locationId },
    });
    return readTokenAnswer(body, "/oauth/locationToken", {
      userType: "Location",
      locationId,
      companyId,
    });
  }

  /** Lists the locations of a company that have the app installed, following pages. */
  async installedLocations(
    companyToken: string,
    companyId: string,
  ): Promise<string[]> {
    const appId = this.app.clientId.split("-")[0] ?? this.app.clientId;
    const ids: string[] = [];
    const limit = 100;
    for (let skip = 0; skip < 100_000; skip += limit) {
      const query = new URLSearchParams({
        companyId,
        appId,
        isInstalled: "true",
        skip: String(skip),
        limit: String(limit),
      });
      const body = (await this.send(
        "GET",
        `/oauth/installedLocations?${query.toString()}`,
        { token: companyToken },
      )) as { locations?: { _id?: unknown }[]; count?: unknown };
      const page = Array.isArray(body.locations) ? body.locations : [];
      for (const location of page) {
        if (typeof location._id === "string") ids.push(location._id);
      }
      const count = typeof body.count === "number" ? body.count : ids.length;
      if (page.length < limit || ids.length >= count) break;
    }
    return ids;
  }

  private async tokenRequest(
    form: Record<string, string>,
  ): Promise<TokenAnswer> {
    const body = await this.send("POST", "/oauth/token", {
      form: {
        client_id: this.app.clientId,
        client_secret: this.app.clientSecret,
        ...form,
      },
    });
    return readTokenAnswer(body, "/oauth/token", {});
  }

  private async send(
    method: string,
    pathAndQuery: string,
    options: { token?: string; form?: Record<string, string> },
  ): Promise<unknown> {
    const base = new URL(this.app.baseUrl);
    const url = new URL(
      pathAndQuery.replace(/^\//, ""),
      `${base.href.replace(/\/?$/, "/")}`,
    );
    const path = url.pathname;
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.token !== undefined) {
      headers.authorization = `Bearer ${options.token}`;
      headers.version = this.app.apiVersion;
    }
    let body: string | undefined;
    if (options.form !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(options.form).toString();
    }
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(this.app.timeoutMs),
      });
    } catch (cause) {
      throw new ApiError({ system: "GHL", method, path, status: null, cause });
    }
    const text = await response.text().catch(() => "");
    let parsed: unknown = text;
    try {
      parsed = text === "" ? null : (JSON.parse(text) as unknown);
    } catch {
      // A non-JSON body stays as text.
    }
    if (!response.ok) {
      throw new ApiError({
        system: "GHL",
        method,
        path,
        status: response.status,
        body: parsed,
        message: `GHL ${method} ${path} failed: HTTP ${response.status} ${oauthErrorText(parsed)}`,
      });
    }
    return parsed;
  }
}

/** The error code and description of an OAuth or GHL error body, without anything else in it. */
export function oauthErrorText(body: unknown): string {
  if (body === null || typeof body !== "object") return "";
  const record = body as Record<string, unknown>;
  const text =
    typeof record.error_description === "string"
      ? `${String(record.error)}: ${record.error_description}`
      : messageOf(body) ||
        (typeof record.error === "string" ? record.error : "");
  return text.slice(0, 300);
}

/** True when the token endpoint rejected the refresh token or code itself. */
export function isInvalidGrant(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    (error.status === 400 || error.status === 401) &&
    typeof error.body === "object" &&
    error.body !== null &&
    (error.body as { error?: unknown }).error === "invalid_grant"
  );
}

function readTokenAnswer(
  body: unknown,
  path: string,
  defaults: Partial<TokenAnswer>,
): TokenAnswer {
  const record = (body ?? {}) as Record<string, unknown>;
  const text = (key: string): string | null =>
    typeof record[key] === "string" && record[key] !== ""
      ? (record[key] as string)
      : null;
  const accessToken = text("access_token");
  if (accessToken === null) {
    throw new ApiError({
      system: "GHL",
      method: "POST",
      path,
      status: 200,
      message: `GHL POST ${path} answered without an access_token`,
    });
  }
  const expiresIn = Number(record.expires_in);
  return {
    accessToken,
    refreshToken: text("refresh_token"),
    expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 86399,
    scope: text("scope") ?? "",
    userType:
      text("userType") === "Company"
        ? "Company"
        : (defaults.userType ?? "Location"),
    locationId: text("locationId") ?? defaults.locationId ?? null,
    companyId: text("companyId") ?? defaults.companyId ?? null,
  };
}
