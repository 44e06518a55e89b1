import { ApiError, type ApiAccount } from "../engine/errors.js";
import type { RequestSummary } from "../engine/ports.js";

export interface JsonRequest {
  system: string;
  baseUrl: string;
  method: string;
  /** Path with parameters already filled in, for example `/contacts/abc`. */
  path: string;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  /** Receives a summary of the request, without headers or bodies. */
  log?: RequestSummary[];
  /** The account the request is sent for; carried on ApiError and used for rate limits. */
  account?: ApiAccount;
  /** Budget of the account: `acquire` runs before sending, `observe` on every response. */
  rateLimiter?: RequestRateLimiter;
  priority?: "webhook" | "background";
}

/** The part of AccountRateLimiter that requestJson uses. */
export interface RequestRateLimiter {
  acquire(
    account: ApiAccount,
    priority?: "webhook" | "background",
  ): Promise<void>;
  observe(account: ApiAccount, headers: Headers): void;
}

/**
 * Sends a JSON request and returns the parsed response body. Any status
 * outside 2xx, a timeout or a network error throws ApiError with the status
 * (null when no answer came), the body and the cause.
 */
export async function requestJson(request: JsonRequest): Promise<unknown> {
  const url = new URL(
    request.path.replace(/^\//, ""),
    withTrailingSlash(request.baseUrl),
  );
  // Requests go only to the configured base URL, whatever the path holds.
  if (url.origin !== new URL(request.baseUrl).origin) {
    throw new Error(
      `${request.system} request path ${request.path} leaves the configured base URL ${request.baseUrl}; the request was not sent`,
    );
  }
  for (const [key, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, value);
  }
  const headers: Record<string, string> = {
    accept: "application/json",
    ...request.headers,
  };
  let body: string | undefined;
  if (request.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(request.body);
  }

  if (request.rateLimiter && request.account)
    await request.rateLimiter.acquire(request.account, request.priority);
  const started = performance.now();
  const summary: RequestSummary = {
    api: request.system,
    method: request.method,
    path: request.path,
    status: null,
    durationMs: 0,
  };
  request.log?.push(summary);
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method,
      headers,
      body,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (cause) {
    summary.durationMs = Math.round(performance.now() - started);
    const timedOut =
      cause instanceof DOMException && cause.name === "TimeoutError";
    throw new ApiError({
      system: request.system,
      method: request.method,
      path: request.path,
      status: null,
      account: request.account,
      cause,
      message: `${request.system} ${request.method} ${request.path} failed: ${
        timedOut
          ? `timed out after ${request.timeoutMs} ms`
          : describeNetworkError(cause)
      }`,
    });
  }

  if (request.rateLimiter && request.account)
    request.rateLimiter.observe(request.account, response.headers);
  const text = await response.text().catch(() => "");
  summary.status = response.status;
  summary.durationMs = Math.round(performance.now() - started);
  const parsed = parseBody(text);
  if (!response.ok) {
    throw new ApiError({
      system: request.system,
      method: request.method,
      path: request.path,
      status: response.status,
      account: request.account,
      body: parsed,
      retryAfterSeconds: parseRetryAfter(response.headers.get("retry-after")),
      message: `${request.system} ${request.method} ${request.path} failed: HTTP ${response.status} ${summarise(parsed)}`,
    });
  }
  return parsed;
}

function withTrailingSlash(base: string): string {
  return base.endsWith("/") ? base : `${base}/`;
}

function parseBody(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function summarise(body: unknown): string {
  if (body === null) return "";
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function describeNetworkError(cause: unknown): string {
  const inner =
    cause instanceof Error && cause.cause instanceof Error
      ? cause.cause
      : cause;
  const code = (inner as { code?: string } | null)?.code;
  const message = inner instanceof Error ? inner.message : String(inner);
  return code ? `${code} (${message})` : message;
}

/** Parses Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(
  value: string | null,
  now = Date.now(),
): number | null {
  if (value === null || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - now) / 1000);
}
