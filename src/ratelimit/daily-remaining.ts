import type { ApiAccount } from "../engine/errors.js";
import type { RequestRateLimiter } from "../connectors/http.js";

/**
 * Records the daily budget GHL reports per location in its
 * `X-RateLimit-Limit-Daily` and `X-RateLimit-Daily-Remaining` headers. It
 * only observes: requests are never held back here.
 */
export class DailyBudgetTracker implements RequestRateLimiter {
  private readonly reported = new Map<
    string,
    { limit: number; remaining: number }
  >();

  acquire(): Promise<void> {
    return Promise.resolve();
  }

  observe(account: ApiAccount, headers: Headers): void {
    const limit = Number(headers.get("x-ratelimit-limit-daily"));
    const remaining = Number(headers.get("x-ratelimit-daily-remaining"));
    if (
      !headers.has("x-ratelimit-daily-remaining") ||
      !Number.isFinite(remaining) ||
      !Number.isFinite(limit) ||
      limit <= 0
    )
      return;
    this.reported.set(account.accountId, { limit, remaining });
  }

  /** Returns the share of the daily budget left (0 to 1), or null before GHL reported one. */
  remainingShare(accountId: string): number | null {
    const budget = this.reported.get(accountId);
    return budget ? Math.max(0, budget.remaining) / budget.limit : null;
  }
}
