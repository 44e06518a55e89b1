import { ApiError } from "../../engine/errors.js";

/** Where the Coopel client gets its bearer token. */
export interface CoopelTokenProvider {
  getToken(): Promise<string>;
  /** Called once after Coopel answered 401; returns a token to retry with, or null. */
  refreshAfterUnauthorized(rejectedToken: string): Promise<string | null>;
}

/** A static bearer token from config. */
export class StaticCoopelToken implements CoopelTokenProvider {
  constructor(private readonly token: string) {}

  getToken(): Promise<string> {
    return Promise.resolve(this.token);
  }

  refreshAfterUnauthorized(): Promise<string | null> {
    return Promise.resolve(null);
  }
}

export interface ClientCredentialsOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  /** Fetch a new token this long before the current one expires. */
  refreshMarginMs: number;
  timeoutMs: number;
  now?: () => number;
}

/**
 * OAuth 2.0 client credentials (RFC 6749 section 4.4). Tokens are fetched
 * before they expire and once after a 401, one request at a time: callers
 * that arrive during a fetch share it. Client credentials do not rotate, so
 * processes need no shared lock and the token stays in memory.
 */
export class ClientCredentialsToken implements CoopelTokenProvider {
  private current: { token: string; expiresAt: number } | null = null;
  private inflight: Promise<string> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: ClientCredentialsOptions) {
    this.now = options.now ?? Date.now;
  }

  getToken(): Promise<string> {
    const current = this.current;
    if (
      current !== null &&
      current.expiresAt - this.options.refreshMarginMs > this.now()
    )
      return Promise.resolve(current.token);
    return this.fetchOnce();
  }

  async refreshAfterUnauthorized(rejectedToken: string): Promise<string> {
    if (this.current !== null && this.current.token !== rejectedToken)
      return this.current.token;
    this.current = null;
    return this.fetchOnce();
  }

  private fetchOnce(): Promise<string> {
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetchToken(): Promise<string> {
    const url = new URL(this.options.tokenUrl);
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: this.options.clientId,
      client_secret: this.options.clientSecret,
    });
    if (this.options.scope !== undefined) form.set("scope", this.options.scope);
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: form.toString(),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (cause) {
      throw new ApiError({
        system: "Coopel",
        method: "POST",
        path: url.pathname,
        status: null,
        cause,
      });
    }
    const body = (await response.json().catch(() => null)) as Record<
      string,
      unknown
    > | null;
    const token = body?.access_token;
    if (!response.ok || typeof token !== "string" || token === "") {
      const reason = typeof body?.error === "string" ? ` (${body.error})` : "";
      throw new ApiError({
        system: "Coopel",
        method: "POST",
        path: url.pathname,
        status: response.ok ? 502 : response.status,
        message: `Coopel token request to ${url.origin}${url.pathname} failed: HTTP ${response.status}${reason}; check coopel.oauth.client_id and client_secret`,
      });
    }
    const expiresIn = Number(body?.expires_in);
    this.current = {
      token,
      expiresAt:
        this.now() +
        (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600) * 1000,
    };
    return token;
  }
}
