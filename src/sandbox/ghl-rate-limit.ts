import type { FastifyReply } from "fastify";

/** Request budgets per location. GHL documents 100 requests per 10 s and 200 000 per day. */
export interface GhlRateLimits {
  /** Maximum requests per interval (`X-RateLimit-Max`). */
  burst: number;
  /** Length of the burst interval in milliseconds (`X-RateLimit-Interval-Milliseconds`). */
  intervalMs: number;
  /** Maximum requests per day (`X-RateLimit-Limit-Daily`). */
  daily: number;
}

/** The budgets GHL documents for each app and location. */
export const GHL_DOCUMENTED_RATE_LIMITS: GhlRateLimits = {
  burst: 100,
  intervalMs: 10_000,
  daily: 200_000,
};

const DAY_MS = 24 * 60 * 60 * 1000;

interface Usage {
  intervalStart: number;
  intervalCount: number;
  dayStart: number;
  dayCount: number;
}

/**
 * Counts requests per location in fixed windows, sets GHL's rate-limit headers and responds with 429
 * when a budget is spent. NOTE: GHL does not document its 429 body or a `Retry-After` header, so
 * the sandbox sends a NestJS-style error body and no `Retry-After`.
 */
export class GhlRateLimiter {
  readonly #limits: GhlRateLimits;
  readonly #usage = new Map<string, Usage>();

  constructor(limits: GhlRateLimits) {
    this.#limits = limits;
  }

  /** Counts one request; returns the reply after sending a 429, else undefined. */
  apply(locationId: string, reply: FastifyReply): FastifyReply | undefined {
    const now = Date.now();
    const usage = this.#usage.get(locationId) ?? {
      intervalStart: now,
      intervalCount: 0,
      dayStart: now,
      dayCount: 0,
    };
    this.#usage.set(locationId, usage);
    if (now - usage.intervalStart >= this.#limits.intervalMs) {
      usage.intervalStart = now;
      usage.intervalCount = 0;
    }
    if (now - usage.dayStart >= DAY_MS) {
      usage.dayStart = now;
      usage.dayCount = 0;
    }
    const allowed =
      usage.intervalCount < this.#limits.burst &&
      usage.dayCount < this.#limits.daily;
    if (allowed) {
      usage.intervalCount += 1;
      usage.dayCount += 1;
    }
    void reply.headers({
      "x-ratelimit-limit-daily": String(this.#limits.daily),
      "x-ratelimit-daily-remaining": String(
        this.#limits.daily - usage.dayCount,
      ),
      "x-ratelimit-interval-milliseconds": String(this.#limits.intervalMs),
      "x-ratelimit-max": String(this.#limits.burst),
      "x-ratelimit-remaining": String(this.#limits.burst - usage.intervalCount),
    });
    if (allowed) {
      return undefined;
    }
    return reply.code(429).send({
      statusCode: 429,
      message: "Too many requests",
      error: "Too Many Requests",
    });
  }
}
