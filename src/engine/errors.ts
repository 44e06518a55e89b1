/**
 * A failed call to an external API, with what is needed to decide whether to
 * retry: the status (null when no answer came), the parsed body and the cause.
 */
export class ApiError extends Error {
  readonly system: string;
  readonly method: string;
  readonly path: string;
  readonly status: number | null;
  readonly body: unknown;
  /** Seconds the server asked the client to wait, from Retry-After, when present. */
  readonly retryAfterSeconds: number | null;

  constructor(options: {
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
  }

  /** True when the request may have reached the server but no answer came back (timeout, reset). */
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
