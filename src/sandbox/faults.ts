import { STATUS_CODES } from "node:http";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { createSeededRandom, type RandomSource } from "./random.js";
import { samePath, type FaultKind } from "./request-log.js";

/** Fixed latency in milliseconds, or a range drawn uniformly per request. */
export type LatencySpec = number | { min: number; max: number };

/** Fault switches for the requests that match one route pattern. Rates are probabilities in [0, 1]. */
export interface RouteFaults {
  /** Delay before the request is handled (or failed). */
  latencyMs?: LatencySpec;
  /** Status code to probability, e.g. `{ 500: 0.1, 503: 0.05, 429: 0.05 }`. The error is sent before the handler runs. */
  errorRate?: Record<number, number>;
  /** Value of the `Retry-After` header on injected 429s; the header is omitted when this is unset. */
  retryAfterSeconds?: number;
  /** Probability of holding the request open without running the handler or sending a response. */
  timeoutRate?: number;
  /** Probability of running the handler (so a create is stored) and then never sending the response. */
  afterHandlerTimeoutRate?: number;
  /** Probability of destroying the socket before the handler runs. */
  resetRate?: number;
  /** How long an unanswered request is held before its socket is destroyed; default and maximum 30 000 ms. */
  holdMs?: number;
}

/**
 * Fault injection settings of a sandbox. Keys of `routes` are `*`, `METHOD *`, `* /path` or
 * `METHOD /path`, where the path is a route template (`/contacts/:contactId`) or a concrete path.
 * When several keys match a request, the one naming both a method and a path wins, then a path,
 * then a method. With a `seed`, the same sequence of requests gets the same faults.
 */
export interface FaultConfig {
  seed?: number;
  routes: Record<string, RouteFaults>;
}

/** Fault decision of the injector for one request. */
export interface FaultDecision {
  latencyMs: number;
  kind: FaultKind | "none";
  status?: number;
  retryAfterSeconds?: number;
  holdMs: number;
}

const MAX_HOLD_MS = 30_000;

/** Decides per request which fault, if any, to inject. */
export class FaultInjector {
  #config: FaultConfig | undefined;
  #random: RandomSource = Math.random;

  constructor(config?: FaultConfig) {
    this.setConfig(config);
  }

  /** The current settings, or undefined when no fault is set. */
  get config(): FaultConfig | undefined {
    return this.#config;
  }

  /** Replaces the settings and restarts the seeded sequence; throws RangeError on invalid settings. */
  setConfig(config: FaultConfig | undefined): void {
    if (config !== undefined) {
      for (const [pattern, faults] of Object.entries(config.routes)) {
        validateRouteFaults(pattern, faults);
      }
    }
    this.#config = config;
    this.#random =
      config?.seed === undefined
        ? Math.random
        : createSeededRandom(config.seed);
  }

  decide(
    method: string,
    route: string | undefined,
    path: string,
  ): FaultDecision {
    const faults = this.#findRule(method, route, path);
    if (faults === undefined) {
      return { latencyMs: 0, kind: "none", holdMs: MAX_HOLD_MS };
    }
    const latencyMs = this.#drawLatency(faults.latencyMs);
    const holdMs = Math.min(faults.holdMs ?? MAX_HOLD_MS, MAX_HOLD_MS);
    // One draw picks the outcome, so the probabilities of all outcomes add up as configured.
    let threshold = 0;
    const draw = this.#random();
    threshold += faults.resetRate ?? 0;
    if (draw < threshold) {
      return { latencyMs, kind: "reset", holdMs };
    }
    threshold += faults.timeoutRate ?? 0;
    if (draw < threshold) {
      return { latencyMs, kind: "timeout", holdMs };
    }
    for (const [status, rate] of Object.entries(faults.errorRate ?? {})) {
      threshold += rate;
      if (draw < threshold) {
        const decision: FaultDecision = {
          latencyMs,
          kind: "error",
          status: Number(status),
          holdMs,
        };
        if (Number(status) === 429 && faults.retryAfterSeconds !== undefined) {
          decision.retryAfterSeconds = faults.retryAfterSeconds;
        }
        return decision;
      }
    }
    threshold += faults.afterHandlerTimeoutRate ?? 0;
    if (draw < threshold) {
      return { latencyMs, kind: "after-handler-timeout", holdMs };
    }
    return { latencyMs, kind: "none", holdMs };
  }

  #findRule(
    method: string,
    route: string | undefined,
    path: string,
  ): RouteFaults | undefined {
    let best: RouteFaults | undefined;
    let bestScore = -1;
    for (const [pattern, faults] of Object.entries(
      this.#config?.routes ?? {},
    )) {
      const score = scorePattern(pattern, method, route, path);
      if (score > bestScore) {
        best = faults;
        bestScore = score;
      }
    }
    return best;
  }

  #drawLatency(latency: LatencySpec | undefined): number {
    if (latency === undefined) {
      return 0;
    }
    if (typeof latency === "number") {
      return latency;
    }
    return latency.min + this.#random() * (latency.max - latency.min);
  }
}

/** Returns -1 when `pattern` does not match, else a higher number for a more specific pattern. */
function scorePattern(
  pattern: string,
  method: string,
  route: string | undefined,
  path: string,
): number {
  if (pattern.trim() === "*") {
    return 0;
  }
  const [patternMethod = "", patternPath = "*"] = pattern
    .trim()
    .split(/\s+/, 2);
  const methodMatches =
    patternMethod === "*" || patternMethod.toUpperCase() === method;
  const pathMatches =
    patternPath === "*" ||
    samePath(route, patternPath) ||
    samePath(path, patternPath);
  if (!methodMatches || !pathMatches) {
    return -1;
  }
  return (patternMethod === "*" ? 0 : 1) + (patternPath === "*" ? 0 : 2);
}

function validateRouteFaults(pattern: string, faults: RouteFaults): void {
  const rates: [string, number | undefined][] = [
    ["resetRate", faults.resetRate],
    ["timeoutRate", faults.timeoutRate],
    ["afterHandlerTimeoutRate", faults.afterHandlerTimeoutRate],
    ...Object.entries(faults.errorRate ?? {}).map(
      ([status, rate]): [string, number] => [`errorRate[${status}]`, rate],
    ),
  ];
  for (const [name, rate] of rates) {
    if (rate !== undefined && !(rate >= 0 && rate <= 1)) {
      throw new RangeError(
        `Fault "${pattern}": ${name} must be between 0 and 1, got ${rate}`,
      );
    }
  }
  const total = rates.reduce((sum, [, rate]) => sum + (rate ?? 0), 0);
  if (total > 1 + 1e-9) {
    throw new RangeError(
      `Fault "${pattern}": the rates add up to ${total}, more than 1`,
    );
  }
  for (const status of Object.keys(faults.errorRate ?? {})) {
    const code = Number(status);
    if (!Number.isInteger(code) || code < 400 || code > 599) {
      throw new RangeError(
        `Fault "${pattern}": errorRate status must be 400 to 599, got ${status}`,
      );
    }
  }
  const latency = faults.latencyMs;
  const latencyValid =
    latency === undefined ||
    (typeof latency === "number"
      ? latency >= 0
      : latency.min >= 0 && latency.max >= latency.min);
  if (!latencyValid) {
    throw new RangeError(
      `Fault "${pattern}": latencyMs must be >= 0, or {min, max} with 0 <= min <= max`,
    );
  }
  for (const [name, value] of [
    ["holdMs", faults.holdMs],
    ["retryAfterSeconds", faults.retryAfterSeconds],
  ] as const) {
    if (value !== undefined && !(value >= 0)) {
      throw new RangeError(
        `Fault "${pattern}": ${name} must be >= 0, got ${value}`,
      );
    }
  }
}

/** Keeps a request unanswered until the client closes it or `holdMs` passes, then destroys its socket. */
function holdOpen(request: FastifyRequest, holdMs: number): void {
  const socket = request.raw.socket;
  const timer = setTimeout(() => socket.destroy(), holdMs);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}

/**
 * Adds the fault hooks to `app`. Latency and the faults that act before the handler run in
 * `preHandler`, after the body is parsed. `after-handler-timeout` runs in `onSend`, so the
 * handler has already changed the store. `onFault` is called for each injected fault.
 */
export function registerFaultHooks(
  app: FastifyInstance,
  injector: FaultInjector,
  onFault: (request: FastifyRequest, kind: FaultKind) => void,
): void {
  const decisions = new WeakMap<FastifyRequest, FaultDecision>();

  app.addHook("preHandler", async (request, reply) => {
    if (request.routeOptions.url?.startsWith("/_sandbox/")) return undefined;
    const path = request.url.split("?")[0] ?? request.url;
    const decision = injector.decide(
      request.method,
      request.routeOptions.url,
      path,
    );
    decisions.set(request, decision);
    if (decision.latencyMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, decision.latencyMs));
    }
    if (decision.kind === "error" && decision.status !== undefined) {
      onFault(request, "error");
      if (decision.retryAfterSeconds !== undefined) {
        void reply.header("retry-after", String(decision.retryAfterSeconds));
      }
      const error = STATUS_CODES[decision.status] ?? "Error";
      return reply.code(decision.status).send({
        statusCode: decision.status,
        error,
        message: `Simulated ${decision.status} ${error}`,
      });
    }
    if (decision.kind === "timeout" || decision.kind === "reset") {
      onFault(request, decision.kind);
      reply.hijack();
      if (decision.kind === "reset") {
        request.raw.socket.destroy();
      } else {
        holdOpen(request, decision.holdMs);
      }
      return reply;
    }
    return undefined;
  });

  app.addHook("onSend", async (request, _reply, payload) => {
    const decision = decisions.get(request);
    if (decision?.kind !== "after-handler-timeout") {
      return payload;
    }
    onFault(request, "after-handler-timeout");
    holdOpen(request, decision.holdMs);
    // Never settles: the response is never written, and the socket is destroyed by holdOpen
    // or closed by the client. The pending promise is garbage once the request is gone.
    return new Promise<never>(() => undefined);
  });
}
