import { EventEmitter } from "node:events";
import type { Database, Statement } from "better-sqlite3";
import type {
  AccountPause,
  ClaimOptions,
  Completion,
  DeadLetter,
  DeadLetterFilter,
  EnqueueResult,
  InboxEvent,
  Job,
  JobFailure,
  Queue,
  RequestSummary,
  Source,
} from "../engine/ports.js";
import { writeLinks } from "../store/sqlite/links.js";
import { pausedJobRunAt } from "./account-pause.js";

interface PendingEnqueue {
  events: InboxEvent[];
  resolve: (results: EnqueueResult[]) => void;
  reject: (error: unknown) => void;
}

interface PendingCompletion {
  job: Job;
  completion: Completion;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface JobRow {
  id: number;
  source: string;
  account_id: string;
  type: string;
  ordering_key: string;
  delivery_id: string | null;
  received_at: number;
  payload: string;
  attempt: number;
  source_updated_at: number | null;
}

interface DeadRow extends JobRow {
  error_class: JobFailure["errorClass"];
  last_error: string | null;
  requests: string | null;
  finished_at: number;
}

interface PauseRow {
  system: Source;
  account_id: string;
  reason: string;
  message: string;
  paused_at: number;
  retry_at: number;
}

const JOB_COLUMNS =
  "id, source, account_id, type, ordering_key, delivery_id, received_at, payload, attempt, source_updated_at";

/** Maximum number of jobs of one key that one claim merges. */
const COALESCE_RUN_LIMIT = 500;

/**
 * SQL condition, on a job aliased `j`, that is true while a pause holds it:
 * its own account is paused, or it comes from GHL and the Coopel account it
 * writes to is paused. Takes the current time as `@now`.
 */
const HELD_BY_PAUSE = `EXISTS (
  SELECT 1 FROM account_pauses AS p
  WHERE p.retry_at > @now
    AND ((p.system = j.source AND p.account_id = j.account_id)
      OR (p.system = 'coopel' AND j.source = 'ghl')))`;

/** Selects up to `@limit` jobs to claim at time `@now`. */
export const SELECT_RUNNABLE_SQL = `
  SELECT ${JOB_COLUMNS}
  FROM jobs AS j INDEXED BY jobs_ready
  WHERE ready = 1 AND run_at <= @now AND state = 'pending'
    AND NOT ${HELD_BY_PAUSE}
    AND (@skip IS NULL
      OR j.source || ':' || j.account_id NOT IN (SELECT value FROM json_each(@skip)))
  ORDER BY run_at, id LIMIT @limit`;

/**
 * The Queue port on SQLite. Enqueues that arrive together share one
 * transaction (group commit), so a commit is paid once per batch. A job is
 * claimed under a lease; a lease that expires makes the job runnable again.
 */
export class SqliteQueue implements Queue {
  private readonly emitter = new EventEmitter();
  private pending: PendingEnqueue[] = [];
  private flushScheduled = false;
  private completions: PendingCompletion[] = [];
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeAt = Infinity;
  private completeScheduled = false;
  private readonly statements: {
    insertDelivery: Statement;
    insertJob: Statement;
    extendHold: Statement;
    reap: Statement;
    selectRunnable: Statement;
    selectFollowing: Statement;
    markRunning: Statement;
    markCoalesced: Statement;
    setCoalesced: Statement;
    extendLease: Statement;
    complete: Statement;
    clearPauses: Statement;
    retry: Statement;
    dead: Statement;
    upsertPause: Statement;
    releasePaused: Statement;
    deletePause: Statement;
    listPauses: Statement;
    depth: Statement;
    oldest: Statement;
  };

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {
    this.emitter.setMaxListeners(0);
    this.statements = {
      insertDelivery: db.prepare(
        "INSERT OR IGNORE INTO deliveries (source, delivery_id, received_at) VALUES (?, ?, ?)",
      ),
      insertJob: db.prepare(`
        INSERT INTO jobs (source, account_id, type, ordering_key, delivery_id, received_at, payload, run_at,
          source_updated_at, ready)
        VALUES (@source, @accountId, @type, @orderingKey, @deliveryId, @receivedAt, @payload, @runAt,
          @sourceUpdatedAt, NOT EXISTS (
            SELECT 1 FROM jobs WHERE ordering_key = @orderingKey AND state IN ('pending', 'running')))`),
      // The held head of the key waits for the new job too, up to its
      // own arrival plus the maximum hold.
      extendHold: db.prepare(`
        UPDATE jobs SET run_at = MIN(@runAt, received_at + @maxHoldMs)
        WHERE ordering_key = @orderingKey AND ready = 1 AND state = 'pending' AND type = @type
          AND run_at > @receivedAt AND run_at < MIN(@runAt, received_at + @maxHoldMs)`),
      reap: db.prepare(
        "UPDATE jobs SET state = 'pending', lease_owner = NULL WHERE state = 'running' AND lease_until < ?",
      ),
      // Only the ready head of each key is runnable (see migration 8), so the
      // claim reads about `limit` rows of jobs_ready at any backlog.
      selectRunnable: db.prepare(SELECT_RUNNABLE_SQL),
      // The state IN term lets SQLite use jobs_active_by_key. The limit
      // bounds the work of one claim, so a longer run merges in the next.
      selectFollowing: db.prepare(`
        SELECT ${JOB_COLUMNS} FROM jobs
        WHERE ordering_key = ? AND id > ? AND state IN ('pending', 'running') AND state = 'pending'
        ORDER BY id LIMIT ${COALESCE_RUN_LIMIT}`),
      markRunning: db.prepare(
        "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = ?, lease_until = ? WHERE id = ?",
      ),
      markCoalesced: db.prepare(`
        UPDATE jobs SET state = 'done', outcome = 'skipped', reason = 'coalesced', finished_at = ?,
          lease_owner = NULL
        WHERE id = ?`),
      setCoalesced: db.prepare(
        "UPDATE jobs SET attempt = ?, payload = ? WHERE id = ?",
      ),
      extendLease: db.prepare(
        "UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
      ),
      complete: db.prepare(`
        UPDATE jobs SET state = 'done', outcome = @outcome, reason = @reason, wrote = @wrote,
          finished_at = @finishedAt, requests = @requests, warnings = @warnings, lease_owner = NULL
        WHERE id = @id`),
      clearPauses: db.prepare(`
        DELETE FROM account_pauses
        WHERE retry_at <= @now
          AND ((system = @source AND account_id = @accountId) OR (system = 'coopel' AND @source = 'ghl'))`),
      retry: db.prepare(`
        UPDATE jobs SET state = 'pending', run_at = @runAt, last_error = @message, error_class = @errorClass,
          requests = @requests, lease_owner = NULL
        WHERE id = @id`),
      dead: db.prepare(`
        UPDATE jobs SET state = 'dead', outcome = 'failed', finished_at = @finishedAt, last_error = @message,
          error_class = @errorClass, requests = @requests, lease_owner = NULL
        WHERE id = @id`),
      upsertPause: db.prepare(`
        INSERT INTO account_pauses (system, account_id, reason, message, paused_at, retry_at)
        VALUES (@system, @accountId, @reason, @message, @pausedAt, @retryAt)
        ON CONFLICT (system, account_id) DO UPDATE SET
          reason = excluded.reason, message = excluded.message, retry_at = excluded.retry_at,
          paused_at = CASE WHEN account_pauses.retry_at > excluded.paused_at
            THEN account_pauses.paused_at ELSE excluded.paused_at END`),
      releasePaused: db.prepare(`
        UPDATE jobs SET state = 'pending', attempt = MAX(attempt - 1, 0), run_at = @runAt, last_error = @message,
          error_class = 'account', requests = @requests, lease_owner = NULL
        WHERE id = @id`),
      deletePause: db.prepare(
        "DELETE FROM account_pauses WHERE system = ? AND account_id = ?",
      ),
      listPauses: db.prepare(
        "SELECT * FROM account_pauses WHERE retry_at > ? ORDER BY paused_at",
      ),
      depth: db.prepare(
        "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('pending', 'running')",
      ),
      oldest: db.prepare(
        "SELECT MIN(received_at) AS at FROM jobs WHERE state IN ('pending', 'running')",
      ),
    };
  }

  enqueue(events: InboxEvent[]): Promise<EnqueueResult[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let results: EnqueueResult[][];
    try {
      results = this.db.transaction(() =>
        batch.map((item) => item.events.map((e) => this.insert(e))),
      )();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => item.resolve(results[i]!));
    let earliest = Infinity;
    batch.forEach((item, i) =>
      item.events.forEach((event, j) => {
        if (results[i]![j] === "accepted")
          earliest = Math.min(earliest, event.runAt ?? event.receivedAt);
      }),
    );
    this.notifyAt(earliest);
  }

  /**
   * Notifies subscribers when the earliest new job may run, so that jobs
   * held for coalescing do not wake workers for an empty claim.
   */
  private notifyAt(runAt: number): void {
    if (runAt === Infinity) return;
    const waitMs = runAt - this.now();
    if (waitMs <= 0) {
      this.emitter.emit("enqueued");
      return;
    }
    if (this.wakeTimer !== null && runAt >= this.wakeAt) return;
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.wakeAt = runAt;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.emitter.emit("enqueued");
    }, waitMs);
    this.wakeTimer.unref();
  }

  private insert(event: InboxEvent): EnqueueResult {
    if (event.deliveryId !== null) {
      const fresh = this.statements.insertDelivery.run(
        event.source,
        event.deliveryId,
        event.receivedAt,
      );
      if (fresh.changes === 0) return "duplicate";
    }
    this.statements.insertJob.run({
      source: event.source,
      accountId: event.accountId,
      type: event.type,
      orderingKey: event.orderingKey,
      deliveryId: event.deliveryId,
      receivedAt: event.receivedAt,
      runAt: event.runAt ?? event.receivedAt,
      sourceUpdatedAt: event.sourceUpdatedAt ?? null,
      payload: JSON.stringify(event.payload),
    });
    const runAt = event.runAt ?? event.receivedAt;
    if (event.maxHoldMs !== undefined && runAt > event.receivedAt)
      this.statements.extendHold.run({
        orderingKey: event.orderingKey,
        type: event.type,
        receivedAt: event.receivedAt,
        runAt,
        maxHoldMs: event.maxHoldMs,
      });
    return "accepted";
  }

  claim(
    workerId: string,
    limit: number,
    leaseMs: number,
    options: ClaimOptions = {},
  ): Promise<Job[]> {
    const now = this.now();
    const coalesceTypes = new Set(options.coalesceTypes ?? []);
    const rows = this.db
      .transaction(() => {
        this.statements.reap.run(now);
        const found = this.statements.selectRunnable.all({
          now,
          limit,
          skip:
            options.skipAccounts && options.skipAccounts.length > 0
              ? JSON.stringify(options.skipAccounts)
              : null,
        }) as JobRow[];
        const claimed: JobRow[] = [];
        for (const row of found) {
          const chosen = coalesceTypes.has(row.type)
            ? this.coalesce(row, coalesceTypes, now)
            : row;
          this.statements.markRunning.run(workerId, now + leaseMs, chosen.id);
          claimed.push(chosen);
        }
        return claimed;
      })
      .immediate();
    return Promise.resolve(rows.map(rowToJob));
  }

  /**
   * Collapses `first` and the pending jobs right after it with the same key
   * and a coalescible type into the newest by source update time (then by
   * id). Marks the others skipped and returns the one to run.
   */
  private coalesce(
    first: JobRow,
    coalesceTypes: ReadonlySet<string>,
    now: number,
  ): JobRow {
    const run = [first];
    const following = this.statements.selectFollowing.all(
      first.ordering_key,
      first.id,
    ) as JobRow[];
    for (const row of following) {
      if (!coalesceTypes.has(row.type)) break;
      run.push(row);
    }
    if (run.length === 1) return first;
    const ordered = [...run].sort((a, b) =>
      isNewer(a, b) ? 1 : isNewer(b, a) ? -1 : 0,
    );
    const newest = ordered[ordered.length - 1]!;
    for (const row of run)
      if (row !== newest) this.statements.markCoalesced.run(now, row.id);
    // Updates may leave out unchanged fields, so the kept payload is the
    // merge of the run, older first. An older job may also have sent a
    // create whose outcome is unknown; the kept job inherits its attempt
    // count so that it looks up before creating.
    const merged: Record<string, unknown> = {};
    for (const row of ordered)
      Object.assign(merged, JSON.parse(row.payload) as object);
    const payload = JSON.stringify(merged);
    const attempt = Math.max(...run.map((row) => row.attempt));
    this.statements.setCoalesced.run(attempt, payload, newest.id);
    return { ...newest, attempt, payload };
  }

  extendLeases(
    workerId: string,
    jobIds: string[],
    leaseMs: number,
  ): Promise<void> {
    const leaseUntil = this.now() + leaseMs;
    this.db.transaction(() => {
      for (const id of jobIds)
        this.statements.extendLease.run(leaseUntil, Number(id), workerId);
    })();
    return Promise.resolve();
  }

  complete(job: Job, completion: Completion): Promise<void> {
    return new Promise((resolve, reject) => {
      this.completions.push({ job, completion, resolve, reject });
      if (!this.completeScheduled) {
        this.completeScheduled = true;
        setImmediate(() => this.flushCompletions());
      }
    });
  }

  /**
   * Commits the jobs that finished in one turn of the event loop in one
   * transaction. If it fails, each job is committed alone, so that one bad job does not fail the others.
   */
  private flushCompletions(): void {
    this.completeScheduled = false;
    const batch = this.completions;
    this.completions = [];
    if (batch.length === 0) return;
    try {
      this.db
        .transaction(() => {
          for (const item of batch) this.writeCompletion(item);
        })
        .immediate();
      for (const item of batch) item.resolve();
    } catch {
      for (const item of batch) {
        try {
          this.db.transaction(() => this.writeCompletion(item)).immediate();
          item.resolve();
        } catch (error) {
          item.reject(error);
        }
      }
    }
    this.emitter.emit("enqueued");
  }

  private writeCompletion({ job, completion }: PendingCompletion): void {
    writeLinks(this.db, completion.links);
    this.statements.complete.run({
      id: Number(job.id),
      outcome: completion.outcome,
      reason: completion.reason,
      wrote: completion.requests.some((r) => r.method !== "GET") ? 1 : 0,
      finishedAt: this.now(),
      requests: JSON.stringify(completion.requests),
      warnings:
        completion.warnings.length > 0
          ? JSON.stringify(completion.warnings)
          : null,
    });
    this.statements.clearPauses.run({
      now: this.now(),
      source: job.event.source,
      accountId: job.event.accountId,
    });
  }

  retry(job: Job, runAt: number, failure: JobFailure): Promise<void> {
    this.statements.retry.run({
      id: Number(job.id),
      runAt,
      message: failure.message,
      errorClass: failure.errorClass,
      requests: JSON.stringify(failure.requests),
    });
    return Promise.resolve();
  }

  deadLetter(job: Job, failure: JobFailure): Promise<void> {
    this.statements.dead.run({
      id: Number(job.id),
      finishedAt: this.now(),
      message: failure.message,
      errorClass: failure.errorClass,
      requests: JSON.stringify(failure.requests),
    });
    this.emitter.emit("enqueued");
    return Promise.resolve();
  }

  pauseAccount(job: Job, pause: AccountPause): Promise<void> {
    this.db
      .transaction(() => {
        this.statements.upsertPause.run({ ...pause });
        this.statements.releasePaused.run({
          id: Number(job.id),
          runAt: pausedJobRunAt(job, pause, this.now()),
          message: pause.message,
          requests: "[]",
        });
      })
      .immediate();
    return Promise.resolve();
  }

  resumeAccount(system: Source, accountId: string): Promise<boolean> {
    const result = this.statements.deletePause.run(system, accountId);
    if (result.changes > 0) this.emitter.emit("enqueued");
    return Promise.resolve(result.changes > 0);
  }

  listPausedAccounts(): Promise<AccountPause[]> {
    const rows = this.statements.listPauses.all(this.now()) as PauseRow[];
    return Promise.resolve(
      rows.map((row) => ({
        system: row.system,
        accountId: row.account_id,
        reason: row.reason,
        message: row.message,
        pausedAt: row.paused_at,
        retryAt: row.retry_at,
      })),
    );
  }

  listDeadLetters(filter: DeadLetterFilter): Promise<DeadLetter[]> {
    const { where, params } = deadLetterWhere(filter);
    const limit =
      filter.limit !== undefined ? `LIMIT ${sqlLimit(filter.limit)}` : "";
    const rows = this.db
      .prepare(
        `SELECT ${JOB_COLUMNS}, error_class, last_error, requests, finished_at
         FROM jobs WHERE ${where} ORDER BY id ${limit}`,
      )
      .all(params) as DeadRow[];
    return Promise.resolve(
      rows.map((row) => ({
        id: String(row.id),
        event: rowToJob(row).event,
        errorClass: row.error_class,
        lastError: row.last_error ?? "",
        requests: JSON.parse(row.requests ?? "[]") as RequestSummary[],
        attempts: row.attempt,
        finishedAt: row.finished_at,
      })),
    );
  }

  replayDeadLetters(filter: DeadLetterFilter): Promise<number> {
    const { where, params } = deadLetterWhere(filter);
    const limit =
      filter.limit !== undefined
        ? `AND id IN (SELECT id FROM jobs WHERE ${where} ORDER BY id LIMIT ${sqlLimit(filter.limit)})`
        : "";
    const result = this.db
      .prepare(
        `UPDATE jobs SET state = 'pending', attempt = 1, run_at = @now, outcome = NULL,
           finished_at = NULL, lease_owner = NULL
         WHERE ${where} ${limit}`,
      )
      .run({ ...params, now: this.now() });
    if (result.changes > 0) this.emitter.emit("enqueued");
    return Promise.resolve(result.changes);
  }

  depth(): Promise<number> {
    return Promise.resolve((this.statements.depth.get() as { n: number }).n);
  }

  oldestPendingAt(): Promise<number | null> {
    const row = this.statements.oldest.get() as { at: number | null };
    return Promise.resolve(row.at);
  }

  subscribe(listener: () => void): () => void {
    this.emitter.on("enqueued", listener);
    return () => this.emitter.off("enqueued", listener);
  }

  close(): Promise<void> {
    this.flush();
    this.flushCompletions();
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    this.emitter.removeAllListeners();
    return Promise.resolve();
  }
}

function sqlLimit(limit: number): number {
  return Math.max(0, Math.trunc(limit));
}

function isNewer(row: JobRow, than: JobRow): boolean {
  const a = row.source_updated_at ?? -Infinity;
  const b = than.source_updated_at ?? -Infinity;
  return a !== b ? a > b : row.id > than.id;
}

/** Builds the WHERE clause of dead jobs matching `filter`, with named parameters. */
function deadLetterWhere(filter: DeadLetterFilter): {
  where: string;
  params: Record<string, string | number>;
} {
  const conditions = ["state = 'dead'"];
  const params: Record<string, string | number> = {};
  if (filter.ids !== undefined) {
    const names = filter.ids.map((id, i) => {
      params[`id${i}`] = Number(id);
      return `@id${i}`;
    });
    conditions.push(names.length > 0 ? `id IN (${names.join(", ")})` : "0 = 1");
  }
  if (filter.accountId !== undefined) {
    conditions.push("account_id = @accountId");
    params.accountId = filter.accountId;
  }
  if (filter.type !== undefined) {
    conditions.push("type = @type");
    params.type = filter.type;
  }
  if (filter.errorClass !== undefined) {
    conditions.push("error_class = @errorClass");
    params.errorClass = filter.errorClass;
  }
  if (filter.since !== undefined) {
    conditions.push("finished_at >= @since");
    params.since = filter.since;
  }
  return { where: conditions.join(" AND "), params };
}

function rowToJob(row: JobRow): Job {
  return {
    id: String(row.id),
    attempt: row.attempt + 1,
    event: {
      source: row.source as InboxEvent["source"],
      accountId: row.account_id,
      type: row.type,
      orderingKey: row.ordering_key,
      deliveryId: row.delivery_id,
      receivedAt: row.received_at,
      // Left out when unknown, as the optional field of InboxEvent allows.
      ...(row.source_updated_at !== null
        ? { sourceUpdatedAt: row.source_updated_at }
        : {}),
      payload: JSON.parse(row.payload) as Record<string, unknown>,
    },
  };
}
