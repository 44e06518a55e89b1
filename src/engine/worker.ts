import { randomUUID } from "node:crypto";
import { ApiError, AttemptError } from "./errors.js";
import type { Completion, Job, JobFailure, Logger, Queue } from "./ports.js";

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
  workerId?: string;
  /** Called after each job ends, with its final state. */
  onJobEnd?: (
    job: Job,
    result: "completed" | "retry" | "dead",
    completion?: Completion,
  ) => void;
}

/**
 * Claims jobs and runs them, up to `concurrency` at a time. The queue keeps
 * jobs of one ordering key serial; retries use exponential backoff with full
 * jitter and honour Retry-After.
 */
export class Worker {
  readonly id: string;
  private running = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly runningJobIds = new Set<string>();
  private renewTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: WorkerOptions) {
    this.id = options.workerId ?? `worker-${randomUUID().slice(0, 8)}`;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.options.queue.subscribe(() => this.wake?.());
    this.loop = this.run();
    // Renewing at a third of the lease leaves two chances before it expires.
    const every = Math.max(100, Math.floor(this.options.leaseMs / 3));
    this.renewTimer = setInterval(() => this.renewLeases(), every);
    this.renewTimer.unref();
  }

  private renewLeases(): void {
    if (this.runningJobIds.size === 0) return;
    const ids = [...this.runningJobIds];
    this.options.queue
      .renewLeases(this.id, ids, this.options.leaseMs)
      .catch((error: unknown) => {
        this.options.logger.warn(
          { err: error, workerId: this.id, jobs: ids.length },
          "renewing job leases failed; a job that outlives its lease may run twice",
        );
      });
  }

  /** Stops claiming and waits up to `graceMs` for running jobs; unfinished ones run again after their lease. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.wake?.();
    await this.loop;
    const grace = new Promise((resolve) =>
      setTimeout(resolve, graceMs).unref(),
    );
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
    if (this.renewTimer) clearInterval(this.renewTimer);
  }

  private async run(): Promise<void> {
    const { queue, concurrency, leaseMs, pollMs, logger } = this.options;
    let claimFailures = 0;
    while (this.running) {
      const free = concurrency - this.inFlight.size;
      let claimed: Job[] = [];
      if (free > 0) {
        try {
          claimed = await queue.claim(this.id, free, leaseMs);
          claimFailures = 0;
        } catch (error) {
          claimFailures += 1;
          // Log the first failure and then every 50th, and back off up to 5 s between tries.
          if (claimFailures === 1 || claimFailures % 50 === 0) {
            logger.error(
              { err: error, workerId: this.id, failures: claimFailures },
              "claiming jobs failed; trying again",
            );
          }
          await this.sleep(
            Math.min(5000, pollMs * 2 ** Math.min(claimFailures, 10)),
          );
          continue;
        }
      }
      for (const job of claimed) {
        this.runningJobIds.add(job.id);
        const task = this.runJob(job).finally(() => {
          this.runningJobIds.delete(job.id);
          this.inFlight.delete(task);
          this.wake?.();
        });
        this.inFlight.add(task);
      }
      if (claimed.length === 0 || this.inFlight.size >= concurrency)
        await this.sleep(pollMs);
    }
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
      eventType: job.event.type,
      accountId: job.event.accountId,
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
    const failure = describeFailure(error);
    try {
      if (failure.errorClass === "retryable" && job.attempt < maxAttempts) {
        const delay = this.retryDelay(job.attempt, error);
        log.warn({ err: error, delayMs: delay }, "job failed; retrying");
        await queue.retry(job, Date.now() + delay, failure);
        this.options.onJobEnd?.(job, "retry");
        return;
      }
      log.error(
        { err: error, errorClass: failure.errorClass },
        "job failed; moved to the dead-letter list",
      );
      await queue.deadLetter(job, failure);
      this.options.onJobEnd?.(job, "dead");
    } catch (storeError) {
      log.error(
        { err: storeError },
        "recording the job failure failed; the job runs again after its lease",
      );
    }
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

function describeFailure(thrown: unknown): JobFailure {
  const requests = thrown instanceof AttemptError ? thrown.requests : [];
  const error = rootError(thrown);
  if (error instanceof ApiError) {
    return {
      errorClass: error.retryable ? "retryable" : "permanent",
      message: error.message,
      requests,
    };
  }
  // An unexpected error may be transient (a store hiccup); retry it until the attempts run out.
  return {
    errorClass: "retryable",
    message: error instanceof Error ? error.message : String(error),
    requests,
  };
}

function rootError(error: unknown): unknown {
  return error instanceof AttemptError ? error.cause : error;
}
