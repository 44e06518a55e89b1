import type { FastifyInstance, FastifyRequest } from "fastify";

/** Kind of injected fault that ended a request (see faults.ts). */
export type FaultKind = "error" | "timeout" | "reset" | "after-handler-timeout";

/** One request as a sandbox received it. */
export interface RecordedRequest {
  method: string;
  /** Request path without the query string, e.g. `/contacts/abc`. */
  path: string;
  /** Route template that matched, e.g. `/contacts/:contactId`; undefined for unknown routes. */
  route: string | undefined;
  query: Record<string, unknown>;
  /** Parsed body: an object for JSON and form bodies, undefined when there was none. */
  body: unknown;
  /** Status sent to the client, or null when the sandbox never sent a response (timeout or reset fault). */
  status: number | null;
  /** Injected fault that decided the outcome, if any. */
  fault?: FaultKind;
  /** Arrival time in milliseconds since the epoch. */
  time: number;
}

/** Method and path filter for counting requests; `*` as method matches every method. */
export type RequestPattern = string | RegExp;

const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * In-memory list of received requests, oldest first. When it grows past `maxEntries` the
 * oldest tenth is dropped, so a long benchmark cannot exhaust memory.
 */
export class RequestLog {
  readonly entries: RecordedRequest[] = [];
  readonly #maxEntries: number;
  readonly #byRequest = new WeakMap<FastifyRequest, RecordedRequest>();

  constructor(maxEntries = DEFAULT_MAX_ENTRIES) {
    this.#maxEntries = maxEntries;
  }

  /** Counts requests with this method (or `*`) whose route template or path matches `pattern`. */
  count(method: string, pattern?: RequestPattern): number {
    return this.entries.filter((entry) =>
      matchesRequest(entry, method, pattern),
    ).length;
  }

  clear(): void {
    this.entries.length = 0;
  }

  /** Returns the entry of a request that is being handled. */
  entryOf(request: FastifyRequest): RecordedRequest | undefined {
    return this.#byRequest.get(request);
  }

  /** Records a fault outcome on the entry of `request`. */
  markFault(request: FastifyRequest, fault: FaultKind): void {
    const entry = this.#byRequest.get(request);
    if (entry === undefined) {
      return;
    }
    entry.fault = fault;
    if (fault !== "error") {
      entry.status = null;
    }
  }

  /** Adds hooks to `app` that record every request it receives. Register before the fault hooks. */
  register(app: FastifyInstance): void {
    app.addHook("onRequest", (request, _reply, done) => {
      const entry: RecordedRequest = {
        method: request.method,
        path: request.url.split("?")[0] ?? request.url,
        route: request.routeOptions.url,
        query: { ...(request.query as Record<string, unknown>) },
        body: undefined,
        status: null,
        time: Date.now(),
      };
      this.#byRequest.set(request, entry);
      this.entries.push(entry);
      if (this.entries.length > this.#maxEntries) {
        this.entries.splice(0, Math.ceil(this.#maxEntries / 10));
      }
      done();
    });
    app.addHook("preHandler", (request, _reply, done) => {
      const entry = this.#byRequest.get(request);
      if (entry !== undefined) {
        entry.body = request.body;
      }
      done();
    });
    app.addHook("onSend", (request, reply, payload, done) => {
      const entry = this.#byRequest.get(request);
      if (entry !== undefined) {
        entry.status = reply.statusCode;
      }
      done(null, payload);
    });
  }
}

function matchesRequest(
  entry: RecordedRequest,
  method: string,
  pattern?: RequestPattern,
): boolean {
  if (method !== "*" && entry.method !== method.toUpperCase()) {
    return false;
  }
  if (pattern === undefined) {
    return true;
  }
  if (pattern instanceof RegExp) {
    return pattern.test(entry.path);
  }
  return samePath(entry.route, pattern) || samePath(entry.path, pattern);
}

/** Compares two paths, treating `/contacts` and `/contacts/` as the same. */
export function samePath(left: string | undefined, right: string): boolean {
  if (left === undefined) {
    return false;
  }
  return stripTrailingSlash(left) === stripTrailingSlash(right);
}

function stripTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}
