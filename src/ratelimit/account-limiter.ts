import {
  RateLimiterMemory,
  RateLimiterRes,
  type RateLimiterAbstract,
} from "rate-limiter-flexible";
import { DeferralError, type ApiAccount } from "../engine/errors.js";

/** Request budget of one account. */
export interface RateBudget {
  /** Requests allowed in any window of `perMs` milliseconds. */
  requests: number;
  perMs: number;
  /** Requests allowed per day, or null when the API has no daily budget. */
  daily: number | null;
  /**
   * Share of the daily budget kept for webhook-driven work: background work
   * (polling, backfill) is deferred once less than this share is left.
   */
  backgroundReserve: number;
}

/** Whether a request serves a webhook event or background work such as polling. */
export type RequestPriority = "webhook" | "background";

/**
 * Thrown when an account has no budget left soon enough; the caller should
 * set the work aside until `retryAt` instead of holding a worker.
 */
export class RateLimitDeferral extends DeferralError {
  override name = "RateLimitDeferral";

  constructor(
    account: ApiAccount,
    retryAt: number,
    readonly limit: "burst" | "daily" | "daily_reserve",
  ) {
    super(
      account,
      retryAt,
      `rate_limited_${limit}`,
      `${account.system} account ${account.accountId}: rate limit (${limit}) reached; next request allowed at ${new Date(retryAt).toISOString()}`,
    );
  }
}

/** Creates the counter of one window; the default keeps counts in memory, one process only. */
export type LimiterFactory = (options: {
  keyPrefix: string;
  points: number;
  durationSeconds: number;
}) => RateLimiterAbstract;

const memoryLimiter: LimiterFactory = (options) =>
  new RateLimiterMemory({
    keyPrefix: options.keyPrefix,
    points: options.points,
    duration: options.durationSeconds,
  });

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Splits a budget of `requests` per `perMs` into `slices` sub-windows of
 * `perSlice` requests each. The server may align its window anywhere, and a
 * window of `perMs` overlaps at most `slices + 1` sub-windows, so
 * `(slices + 1) * perSlice` stays at or below the budget. One request is
 * kept back for arrival-time jitter when the budget allows it.
 */
export function sliceBudget(
  requests: number,
  perMs: number,
): { slices: number; perSlice: number; sliceMs: number } {
  const usable = requests > 2 ? requests - 1 : requests;
  let best = { slices: 1, perSlice: Math.max(1, Math.floor(usable / 2)) };
  for (let slices = 1; slices <= Math.min(usable, 100); slices++) {
    const perSlice = Math.floor(usable / (slices + 1));
    if (perSlice >= 1 && slices * perSlice > best.slices * best.perSlice)
      best = { slices, perSlice };
  }
  return { ...best, sliceMs: perMs / best.slices };
}

interface AccountState {
  burst: RateLimiterAbstract;
  daily: RateLimiterAbstract | null;
  budget: RateBudget;
  /** Daily remaining as the server last reported it, or null. */
  reportedDailyRemaining: number | null;
  /** Epoch milliseconds until which the server reported the burst window spent. */
  blockedUntil: number;
  waiting: number;
}

export interface AccountRateLimiterOptions {
  /** The budget of an account, before response headers tighten it. */
  budgetOf: (account: ApiAccount) => RateBudget;
  /** Maximum wait, in milliseconds, spent in `acquire` before deferring. */
  maxWaitMs?: number;
  /** Maximum number of requests of one account waiting in `acquire` at a time; more are deferred. */
  maxWaiting?: number;
  limiterFactory?: LimiterFactory;
}

/**
 * Request budgets per account (a GHL location, a Coopel account), counted
 * with rate-limiter-flexible and tightened by the `X-RateLimit-*` headers
 * the API returns. A request that would wait long, or that would queue
 * behind many others of the same account, is deferred with
 * RateLimitDeferral so that one busy account never occupies every worker.
 *
 * NOTE: the default counters live in memory, so two processes sharing an
 * account each get the whole budget; pass a `limiterFactory` that uses a
 * shared store (rate-limiter-flexible has SQLite and PostgreSQL ones) for
 * several processes.
 */
export class AccountRateLimiter {
  private readonly accounts = new Map<string, AccountState>();
  private readonly maxWaitMs: number;
  private readonly maxWaiting: number;
  private readonly limiterFactory: LimiterFactory;

  constructor(private readonly options: AccountRateLimiterOptions) {
    this.maxWaitMs = options.maxWaitMs ?? 2000;
    this.maxWaiting = options.maxWaiting ?? 4;
    this.limiterFactory = options.limiterFactory ?? memoryLimiter;
  }

  /**
   * Waits until the account may send one more request and counts it.
   * Throws RateLimitDeferral when that would take longer than `maxWaitMs`,
   * when too many requests of the account already wait, or when the daily
   * budget (or, for background work, the daily reserve) is spent.
   */
  async acquire(
    account: ApiAccount,
    priority: RequestPriority = "webhook",
  ): Promise<void> {
    const state = this.stateOf(account);
    const deadline = Date.now() + this.maxWaitMs;
    this.checkDaily(account, state, priority);
    if (state.waiting >= this.maxWaiting)
      throw new RateLimitDeferral(
        account,
        Date.now() + state.budget.perMs / 10,
        "burst",
      );
    state.waiting += 1;
    try {
      for (;;) {
        const now = Date.now();
        if (state.blockedUntil > now) {
          if (state.blockedUntil > deadline)
            throw new RateLimitDeferral(account, state.blockedUntil, "burst");
          await sleep(state.blockedUntil - now);
          continue;
        }
        const waitMs = await consume(state.burst);
        if (waitMs === 0) break;
        if (Date.now() + waitMs > deadline)
          throw new RateLimitDeferral(account, Date.now() + waitMs, "burst");
        await sleep(waitMs);
      }
    } finally {
      // A budget tightened by `observe` replaces the state and carries the
      // waiting count over, so the count to lower is the current state's.
      this.stateOf(account).waiting -= 1;
    }
    if (state.daily) {
      const waitMs = await consume(state.daily);
      if (waitMs > 0)
        throw new RateLimitDeferral(account, Date.now() + waitMs, "daily");
    }
  }

  /**
   * Tightens the account's budget from GHL's response headers:
   * `X-RateLimit-Max` and `X-RateLimit-Interval-Milliseconds` (burst),
   * `X-RateLimit-Remaining` (left in the server's current window),
   * `X-RateLimit-Limit-Daily` and `X-RateLimit-Daily-Remaining`. Headers
   * that are absent or unreadable change nothing, and a reported budget
   * larger than the configured one never loosens it.
   */
  observe(account: ApiAccount, headers: Headers): void {
    const state = this.stateOf(account);
    const max = readNumber(headers, "x-ratelimit-max");
    const interval = readNumber(headers, "x-ratelimit-interval-milliseconds");
    const remaining = readNumber(headers, "x-ratelimit-remaining");
    const dailyLimit = readNumber(headers, "x-ratelimit-limit-daily");
    const dailyRemaining = readNumber(headers, "x-ratelimit-daily-remaining");

    const tighter = { ...state.budget };
    if (max !== null && interval !== null && interval > 0) {
      const reportedRate = max / interval;
      const configuredRate = state.budget.requests / state.budget.perMs;
      if (reportedRate < configuredRate) {
        tighter.requests = max;
        tighter.perMs = interval;
      }
    }
    if (
      dailyLimit !== null &&
      (state.budget.daily === null || dailyLimit < state.budget.daily)
    )
      tighter.daily = dailyLimit;
    if (
      tighter.requests !== state.budget.requests ||
      tighter.perMs !== state.budget.perMs ||
      tighter.daily !== state.budget.daily
    )
      this.accounts.set(accountKey(account), {
        ...this.createState(account, tighter),
        waiting: state.waiting,
      });

    const current = this.stateOf(account);
    if (dailyRemaining !== null)
      current.reportedDailyRemaining = dailyRemaining;
    if (remaining === 0)
      current.blockedUntil = Date.now() + (interval ?? current.budget.perMs);
  }

  private checkDaily(
    account: ApiAccount,
    state: AccountState,
    priority: RequestPriority,
  ): void {
    const reported = state.reportedDailyRemaining;
    const daily = state.budget.daily;
    if (reported === null || daily === null) return;
    // The server does not say when its day starts; an hour is an estimate.
    const retryAt = Date.now() + Math.min(DAY_MS, 60 * 60 * 1000);
    if (reported <= 0) throw new RateLimitDeferral(account, retryAt, "daily");
    if (
      priority === "background" &&
      reported < daily * state.budget.backgroundReserve
    )
      throw new RateLimitDeferral(account, retryAt, "daily_reserve");
  }

  private stateOf(account: ApiAccount): AccountState {
    const key = accountKey(account);
    let state = this.accounts.get(key);
    if (!state) {
      state = this.createState(account, this.options.budgetOf(account));
      this.accounts.set(key, state);
    }
    return state;
  }

  private createState(account: ApiAccount, budget: RateBudget): AccountState {
    const key = accountKey(account);
    const { perSlice, sliceMs } = sliceBudget(budget.requests, budget.perMs);
    return {
      budget,
      burst: this.limiterFactory({
        keyPrefix: `burst:${key}:${budget.requests}/${budget.perMs}`,
        points: perSlice,
        durationSeconds: sliceMs / 1000,
      }),
      daily:
        budget.daily === null
          ? null
          : this.limiterFactory({
              keyPrefix: `daily:${key}:${budget.daily}`,
              points: budget.daily,
              durationSeconds: DAY_MS / 1000,
            }),
      reportedDailyRemaining: null,
      blockedUntil: 0,
      waiting: 0,
    };
  }
}

function accountKey(account: ApiAccount): string {
  return `${account.system}:${account.accountId}`;
}

/** Consumes one point; returns 0 when allowed, else the milliseconds until the window frees one. */
async function consume(limiter: RateLimiterAbstract): Promise<number> {
  try {
    await limiter.consume("requests", 1);
    return 0;
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes)
      return Math.max(1, rejection.msBeforeNext);
    throw rejection;
  }
}

function readNumber(headers: Headers, name: string): number | null {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === "") return null;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
