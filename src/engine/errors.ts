import type { Source } from "./ports.js";

/** The account a request was sent for, so that an account-level failure can pause it. */
export interface ApiAccount {
  system: Source;
  accountId: string;
}

/**
 * A failed call to an external API, with what is needed to decide whether to
 * retry: the status (null when no response came), the parsed body and the cause.
 */
export class ApiError extends Error {
  readonly system: string;
  readonly method: string;
  readonly path: string;
  readonly status: number | null;
  readonly body: unknown;
  /** Seconds the server asked the client to wait, from Retry-After, when present. */
  readonly retryAfterSeconds: number | null;
  /** The account the request was sent for, when the connector has it. */
  readonly account: ApiAccount | null;

  constructor(options: {
    account?: ApiAccount | null;
    system: string;
    method: string;
    path: string;
    status: number | null;
    body?: unknown;
    retryAfterSeconds?: number | null;
    cause?: unknown;
    message?: string;
  }) {
    const what =
      options.status === null ? "no response" : `HTTP ${options.status}`;
    super(
      options.message ??
        `${options.system} ${options.method} ${options.path} failed: ${what}`,
      {
        cause: options.cause,
      },
    );
    this.name = "ApiError";
    this.system = options.system;
    this.method = options.method;
    this.path = options.path;
    this.status = options.status;
    this.body = options.body;
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
    this.account = options.account ?? null;
  }

  /** True when the request may have reached the server but no response came back (timeout, reset). */
  get outcomeUnknown(): boolean {
    return this.status === null;
  }

  /** True for failures that can heal by themselves: no response, 408, 429 and 5xx. */
  get retryable(): boolean {
    return (
      this.status === null ||
      this.status === 408 ||
      this.status === 429 ||
      this.status >= 500
    );
  }

  /** The `message` of the response body, joined when it is a list (GHL sends string[] on 422). */
  get bodyMessage(): string {
    const body = this.body;
    if (typeof body === "string") return body;
    if (body === null || typeof body !== "object") return "";
    const message = (body as { message?: unknown }).message;
    if (typeof message === "string") return message;
    if (Array.isArray(message)) return message.map(String).join("; ");
    return "";
  }
}

/**
 * How the worker treats a failure. `retryable` failures heal by themselves
 * and run again after a backoff. `permanent` failures concern the record and
 * go to the dead-letter list. `account` failures concern every record of an
 * account (a revoked token, a missing scope, a wrong or inactive location),
 * so the account is paused and its jobs wait instead of failing one by one.
 */
export type ErrorClass = "retryable" | "permanent" | "account";

/** Why an account was paused. */
export type AccountPauseReason =
  | "connection_unavailable"
  | "token_invalid"
  | "missing_scope"
  | "wrong_location"
  | "location_inactive"
  | "forbidden";

export interface ErrorClassification {
  errorClass: ErrorClass;
  /** Set for account failures. */
  pauseReason: AccountPauseReason | null;
}

// GHL returns 401 for a missing scope with "The token is not authorized for this scope."
const SCOPE_MESSAGE = /\bscope\b/i;
const INACTIVE_MESSAGE = /\b(inactive|deactivated|suspended|disabled)\b/i;
const LOCATION_MESSAGE = /\blocation\b/i;

/**
 * Classifies an API failure on its status and body together. GHL uses 401
 * both for an expired or revoked token and for a token without the needed
 * scope, so only the message tells them apart; it uses 403 for a token of
 * another location.
 */
export function classifyApiError(error: ApiError): ErrorClassification {
  const status = error.status;
  const message = error.bodyMessage;
  const account = (reason: AccountPauseReason): ErrorClassification => ({
    errorClass: "account",
    pauseReason: reason,
  });
  if (error.retryable) return { errorClass: "retryable", pauseReason: null };
  if (status !== null && status >= 400 && INACTIVE_MESSAGE.test(message))
    if (LOCATION_MESSAGE.test(message) || status === 401 || status === 403)
      return account("location_inactive");
  if (status === 401)
    return account(
      SCOPE_MESSAGE.test(message) ? "missing_scope" : "token_invalid",
    );
  if (status === 403)
    return account(
      LOCATION_MESSAGE.test(message) ? "wrong_location" : "forbidden",
    );
  return { errorClass: "permanent", pauseReason: null };
}

/**
 * Returns the id of the existing contact from GHL's 400 "This location does
 * not allow duplicated contacts." (carried in `meta.contactId`), or null for
 * any other failure.
 */
export function duplicateContactId(error: unknown): string | null {
  if (!(error instanceof ApiError) || error.status !== 400) return null;
  const body = error.body as { meta?: { contactId?: unknown } } | null;
  const id = body?.meta?.contactId;
  if (typeof id !== "string" || id === "") return null;
  return /duplicat/i.test(error.bodyMessage) ? id : null;
}

/**
 * Work set aside because an account cannot take more requests yet (its rate
 * budget is spent). The worker holds the account's jobs until `retryAt`
 * without counting an attempt.
 */
export class DeferralError extends Error {
  override name = "DeferralError";

  constructor(
    readonly account: ApiAccount,
    /** Epoch milliseconds when the account can take requests again. */
    readonly retryAt: number,
    /** Machine-readable reason, stored as the pause reason. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Thrown for a Coopel operation whose route is set to null in config. The
 * engine ends the event as `unsupported`, because retrying cannot help.
 */
export class UnsupportedRouteError extends Error {
  override name = "UnsupportedRouteError";

  constructor(readonly route: string) {
    super(
      `Coopel route ${route} is set to null in config (coopel.routes.${route}), so this operation is not available`,
    );
  }
}

/** A handler failure together with the requests the attempt sent before it failed. */
export class AttemptError extends Error {
  readonly requests: import("./ports.js").RequestSummary[];

  constructor(cause: unknown, requests: import("./ports.js").RequestSummary[]) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = "AttemptError";
    this.requests = requests;
  }
}

/**
 * An account that cannot be called now for a reason only a person or time
 * can fix, such as a connection that needs a new authorization. The worker
 * pauses the account and keeps its jobs queued, without counting attempts.
 */
export class AccountUnavailableError extends Error {
  override name = "AccountUnavailableError";
  readonly system: "ghl" | "coopel";
  readonly accountId: string;

  constructor(system: "ghl" | "coopel", accountId: string, message: string) {
    super(message);
    this.system = system;
    this.accountId = accountId;
  }
}

/**
 * A record that cannot be written as it is, such as a due date that does
 * not parse. Retrying cannot help, so the worker keeps it as a dead letter.
 */
export class InvalidRecordError extends Error {
  override name = "InvalidRecordError";
}
