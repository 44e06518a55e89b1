import { randomUUID } from "node:crypto";
import {
  ApiError,
  AttemptError,
  classifyApiError,
  InvalidRecordError,
  DeferralError,
  AccountUnavailableError,
  type AccountPauseReason,
} from "./errors.js";
import type {
  AccountPause,
  Completion,
  Job,
  JobFailure,
  Logger,
  Queue,
} from "./ports.js";

export interface WorkerOptions {
  queue: Queue;
  handle: (job: Job) => Promise<Completion>;
  logger: Logger;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long an account stays paused after an account-level failure before its jobs are tried again. */
  accountPauseMs: number;
  /** Event types whose pending jobs of one record collapse into the newest when claimed. */
  coalesceTypes?: readonly string[];
  workerId?: string;
  /** Called after each attempt ends, with the job's state and what the attempt produced. */
  onJobEnd?: (
    job: Job,
    result: "completed" | "retry" | "dead" | "paused",
    completion?: Completion,
    failure?: JobFailure,
  ) => void;
}

/** Retryable failures in a row after which an account counts as failing. */
export const FAILING_AFTER = 3;
/** Milliseconds after its last failure that an account stops counting as failing. */
const FAILING_FOR_MS = 60_000;

/**
 * Claims jobs and runs them, up to `concurrency` at a time. The queue keeps
 * jobs of one ordering key serial; retries use exponential backoff with full
 * jitter and honour Retry-After. An account whose jobs failed
 * FAILING_AFTER times in a row runs one job at a time until one succeeds or
 * FAILING_FOR_MS pass without a failure, so that its timeouts do not
 * occupy the workers that other accounts need.
 */
export class Worker {
  readonly id: string;
  private running = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Ids of the jobs this worker is running, for lease renewal. */
  private readonly runningIds = new Set<string>();
  private heartbeat: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Retryable failures in a row per account (`source:accountId`), and the time of the last. */
  private readonly failureStreaks = new Map<
    string,
    { count: number; lastAt: number }
  >();
  /** Running jobs per account (`source:accountId`). */
  private readonly runningByAccount = new Map<string, number>();

  constructor(private readonly options: WorkerOptions) {
    this.id = options.workerId ?? `worker-${randomUUID().slice(0, 8)}`;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.options.queue.subscribe(() => this.wake?.());
    this.heartbeat = setInterval(
      () => void this.renewLeases(),
      Math.max(100, Math.floor(this.options.leaseMs / 3)),
    );
    this.heartbeat.unref();
    this.loop = this.run();
  }

  private async renewLeases(): Promise<void> {
    if (this.runningIds.size === 0) return;
    try {
      await this.options.queue.extendLeases(
        this.id,
        [...this.runningIds],
        this.options.leaseMs,
      );
    } catch (error) {
      this.options.logger.error(
        { err: error, workerId: this.id },
        "renewing job leases failed; jobs that outlive their lease may run twice",
      );
    }
  }

  /** Stops claiming and waits up to `graceMs` for running jobs; unfinished ones run again after their lease. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.unsubscribe?.();
    this.wake?.();
    await this.loop;
    const grace = new Promise((resolve) =>
      setTimeout(resolve, graceMs).unref(),
    );
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
  }

  private async run(): Promise<void> {
    const { queue, concurrency, leaseMs, pollMs, logger } = this.options;
    while (this.running) {
      const free = concurrency - this.inFlight.size;
      let claimed: Job[] = [];
      if (free > 0) {
        try {
          // While a failing account runs nothing, one claim could take several
          // of its jobs, so claims take one job at a time until it runs one.
          const limit = this.hasIdleFailingAccount() ? 1 : free;
          claimed = await queue.claim(this.id, limit, leaseMs, {
            coalesceTypes: this.options.coalesceTypes ?? [],
            skipAccounts: this.busyFailingAccounts(),
          });
        } catch (error) {
          logger.error(
            { err: error, workerId: this.id },
            "claiming jobs failed; trying again",
          );
        }
      }
      for (const job of claimed) {
        // A job whose lease ran out while this worker still runs it comes
        // back from claim; the run in progress finishes it.
        if (this.runningIds.has(job.id)) continue;
        this.runningIds.add(job.id);
        const account = accountOf(job);
        this.runningByAccount.set(
          account,
          (this.runningByAccount.get(account) ?? 0) + 1,
        );
        const task = this.runJob(job).finally(() => {
          const left = (this.runningByAccount.get(account) ?? 1) - 1;
          if (left > 0) this.runningByAccount.set(account, left);
          else this.runningByAccount.delete(account);
          this.runningIds.delete(job.id);
          this.inFlight.delete(task);
          this.wake?.();
        });
        this.inFlight.add(task);
      }
      if (claimed.length === 0 || this.inFlight.size >= concurrency)
        await this.sleep(pollMs);
    }
  }

  /** Lists the failing accounts that already run a job, for the claim to skip. */
  private busyFailingAccounts(): string[] {
    return this.failingAccounts().filter((account) =>
      this.runningByAccount.has(account),
    );
  }

  private hasIdleFailingAccount(): boolean {
    return this.failingAccounts().some(
      (account) => !this.runningByAccount.has(account),
    );
  }

  /** Lists the accounts that count as failing, forgetting streaks that ended long ago. */
  private failingAccounts(): string[] {
    const now = Date.now();
    const failing: string[] = [];
    for (const [account, streak] of this.failureStreaks) {
      if (now - streak.lastAt > FAILING_FOR_MS)
        this.failureStreaks.delete(account);
      else if (streak.count >= FAILING_AFTER) failing.push(account);
    }
    return failing;
  }

  /** Counts a retryable failure of the job's account, logging when it starts to count as failing. */
  private countFailure(job: Job, log: Logger): void {
    const account = accountOf(job);
    const count = (this.failureStreaks.get(account)?.count ?? 0) + 1;
    this.failureStreaks.set(account, { count, lastAt: Date.now() });
    if (count === FAILING_AFTER)
      log.warn(
        { failingAccount: account, failures: count },
        `jobs of ${account} failed ${count} times in a row; running one of its jobs at a time until one succeeds`,
      );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async runJob(job: Job): Promise<void> {
    const { queue, logger } = this.options;
    const log = logger.child({
      jobId: job.id,
      eventId: job.event.deliveryId,
      eventType: job.event.type,
      accountId: job.event.accountId,
      contactId: contactIdOf(job.event),
      orderingKey: job.event.orderingKey,
      attempt: job.attempt,
    });
    let completion: Completion;
    try {
      completion = await this.options.handle(job);
    } catch (error) {
      await this.fail(job, error, log);
      return;
    }
    this.failureStreaks.delete(accountOf(job));
    try {
      await queue.complete(job, completion);
    } catch (error) {
      log.error(
        { err: error },
        "recording the job result failed; the job runs again after its lease",
      );
      return;
    }
    for (const warning of completion.warnings)
      log.warn({ warning }, "field not converted");
    log.debug(
      { outcome: completion.outcome, reason: completion.reason },
      "job finished",
    );
    this.options.onJobEnd?.(job, "completed", completion);
  }

  private async fail(job: Job, error: unknown, log: Logger): Promise<void> {
    const { queue, maxAttempts } = this.options;
    const { failure, pauseReason } = describeFailure(error);
    const root = rootError(error);
    try {
      if (root instanceof DeferralError) {
        log.debug(
          {
            reason: root.reason,
            retryAt: new Date(root.retryAt).toISOString(),
          },
          root.message,
        );
        await queue.pauseAccount(job, {
          system: root.account.system,
          accountId: root.account.accountId,
          reason: root.reason,
          message: root.message,
          pausedAt: Date.now(),
          retryAt: root.retryAt,
        });
        this.options.onJobEnd?.(job, "paused");
        return;
      }
      if (failure.errorClass === "account" && pauseReason !== null) {
        const pause = this.accountPause(job, error, pauseReason);
        log.warn(
          {
            err: error,
            system: pause.system,
            pausedAccountId: pause.accountId,
            reason: pause.reason,
            retryAt: new Date(pause.retryAt).toISOString(),
          },
          `${pause.system} account ${pause.accountId} paused (${pause.reason}); its jobs wait until ${new Date(pause.retryAt).toISOString()} or until it is resumed`,
        );
        await queue.pauseAccount(job, pause);
        this.options.onJobEnd?.(job, "paused");
        return;
      }
      if (failure.errorClass === "retryable") this.countFailure(job, log);
      if (failure.errorClass === "retryable" && job.attempt < maxAttempts) {
        const delay = this.retryDelay(job.attempt, error);
        log.warn({ err: error, delayMs: delay }, "job failed; retrying");
        await queue.retry(job, Date.now() + delay, failure);
        this.options.onJobEnd?.(job, "retry", undefined, failure);
        return;
      }
      log.error(
        { err: error, errorClass: failure.errorClass },
        "job failed; moved to the dead-letter list",
      );
      await queue.deadLetter(job, failure);
      this.options.onJobEnd?.(job, "dead", undefined, failure);
    } catch (storeError) {
      log.error(
        { err: storeError },
        "recording the job failure failed; the job runs again after its lease",
      );
    }
  }

  private accountPause(
    job: Job,
    error: unknown,
    reason: AccountPauseReason,
  ): AccountPause {
    const root = rootError(error);
    const account =
      root instanceof ApiError && root.account !== null
        ? root.account
        : root instanceof AccountUnavailableError
          ? { system: root.system, accountId: root.accountId }
          : { system: job.event.source, accountId: job.event.accountId };
    const now = Date.now();
    return {
      system: account.system,
      accountId: account.accountId,
      reason,
      message: root instanceof Error ? root.message : String(root),
      pausedAt: now,
      retryAt: now + this.options.accountPauseMs,
    };
  }

  /** Exponential backoff with full jitter, at least the server's Retry-After. */
  private retryDelay(attempt: number, error: unknown): number {
    const { retryBaseMs, retryMaxMs } = this.options;
    const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1));
    const jittered = Math.random() * ceiling;
    const root = rootError(error);
    const retryAfterMs =
      root instanceof ApiError && root.retryAfterSeconds !== null
        ? root.retryAfterSeconds * 1000
        : 0;
    return Math.max(jittered, retryAfterMs);
  }
}

/** Returns the account a job belongs to, as `source:accountId`. */
function accountOf(job: Job): string {
  return `${job.event.source}:${job.event.accountId}`;
}

/**
 * The contact an event is about, for log lines: `contactId` on task, note
 * and tag events, `id` on contact events; null when the payload has neither.
 */
export function contactIdOf(event: Job["event"]): string | null {
  const payload = event.payload;
  if (typeof payload.contactId === "string") return payload.contactId;
  if (event.type.startsWith("Contact") && typeof payload.id === "string")
    return payload.id;
  return null;
}

function describeFailure(thrown: unknown): {
  failure: JobFailure;
  pauseReason: AccountPauseReason | null;
} {
  const requests = thrown instanceof AttemptError ? thrown.requests : [];
  const error = rootError(thrown);
  if (error instanceof AccountUnavailableError) {
    return {
      failure: { errorClass: "account", message: error.message, requests },
      pauseReason: "connection_unavailable",
    };
  }
  if (error instanceof InvalidRecordError)
    return {
      failure: { errorClass: "permanent", message: error.message, requests },
      pauseReason: null,
    };
  if (error instanceof ApiError) {
    const { errorClass, pauseReason } = classifyApiError(error);
    return {
      failure: { errorClass, message: error.message, requests },
      pauseReason,
    };
  }
  // An unexpected error may be transient (a store hiccup); retry it until the attempts run out.
  return {
    failure: {
      errorClass: "retryable",
      message: error instanceof Error ? error.message : String(error),
      requests,
    },
    pauseReason: null,
  };
}

function rootError(error: unknown): unknown {
  return error instanceof AttemptError ? error.cause : error;
}
