import { ApiError } from "../../engine/errors.js";
import type { CallContext } from "../../engine/ports.js";
import { requestJson, type RequestRateLimiter } from "../http.js";

/** Where the GHL client gets the bearer token of a location. */
export interface GhlTokenSource {
  /** Returns the access token to use for `locationId`; throws when the location has none. */
  getToken(locationId: string): Promise<string>;
  /**
   * Called once after GHL answered 401 for an expired token. Returns a fresh
   * token to retry with, or null when none can be had.
   */
  refreshAfterUnauthorized?(
    locationId: string,
    rejectedToken: string,
  ): Promise<string | null>;
}

export interface GhlClientOptions {
  baseUrl: string;
  /** Value of the Version header; the contacts API accepts only 2021-07-28. */
  apiVersion: string;
  timeoutMs: number;
  tokens: GhlTokenSource;
  /** Budget of each location, tightened by each response's rate-limit headers; requests wait for it when given. */
  rateLimiter?: RequestRateLimiter;
}

export interface GhlRequest {
  query?: Record<string, string | undefined>;
  body?: unknown;
  context: CallContext;
}

/**
 * The GHL API v2 client core: base URL, the Version header and the bearer
 * token of the location on every call, and one retry after a refresh when
 * GHL reports an expired token.
 */
export class GhlHttpClient {
  constructor(private readonly options: GhlClientOptions) {}

  async request(
    locationId: string,
    method: string,
    path: string,
    request: GhlRequest,
  ): Promise<unknown> {
    const token = await this.options.tokens.getToken(locationId);
    try {
      return await this.send(locationId, token, method, path, request);
    } catch (error) {
      const tokens = this.options.tokens;
      if (!(error instanceof ApiError) || !isExpiredToken(error)) throw error;
      if (!tokens.refreshAfterUnauthorized) throw error;
      const fresh = await tokens.refreshAfterUnauthorized(locationId, token);
      if (fresh === null) throw error;
      return this.send(locationId, fresh, method, path, request);
    }
  }

  private send(
    locationId: string,
    token: string,
    method: string,
    path: string,
    request: GhlRequest,
  ): Promise<unknown> {
    return requestJson({
      system: "GHL",
      baseUrl: this.options.baseUrl,
      method,
      path,
      query: request.query,
      body: request.body,
      headers: {
        authorization: `Bearer ${token}`,
        version: this.options.apiVersion,
      },
      timeoutMs: this.options.timeoutMs,
      log: request.context.requests,
      // The account goes with the limiter only, so that errors of a client
      // without one carry no account, as before.
      ...(this.options.rateLimiter
        ? {
            rateLimiter: this.options.rateLimiter,
            account: { system: "ghl", accountId: locationId },
            priority: request.context.priority,
          }
        : {}),
    });
  }
}

/**
 * GHL answers 401 both for an expired token and for a token without the
 * needed scope; only the message tells them apart.
 */
export function isExpiredToken(error: ApiError): boolean {
  if (error.status !== 401) return false;
  const message = messageOf(error.body).toLowerCase();
  return (
    !message.includes("scope") && !message.includes("not authorized for this")
  );
}

/** The `message` of a GHL error body, which is a string or an array of strings. */
export function messageOf(body: unknown): string {
  if (body === null || typeof body !== "object")
    return typeof body === "string" ? body : "";
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String).join("; ");
  return typeof message === "string" ? message : "";
}

/** Tokens from the configuration: one Private Integration token per location. */
export class StaticTokenSource implements GhlTokenSource {
  private readonly tokens: Map<string, string>;

  constructor(locations: { id: string; token: string }[]) {
    this.tokens = new Map(locations.map((l) => [l.id, l.token]));
  }

  getToken(locationId: string): Promise<string> {
    const token = this.tokens.get(locationId);
    if (token === undefined) {
      return Promise.reject(
        new Error(
          `no GHL token for location ${locationId}; add it to ghl.locations in the config`,
        ),
      );
    }
    return Promise.resolve(token);
  }
}
