import { EventEmitter } from "node:events";
import pg from "pg";
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
import { inTransaction } from "../store/postgres/database.js";
import { writeLinks } from "../store/postgres/links.js";
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
  payload: Record<string, unknown>;
  attempt: number;
  source_updated_at: number | null;
}

interface DeadRow extends JobRow {
  error_class: JobFailure["errorClass"];
  last_error: string | null;
  requests: RequestSummary[] | null;
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

/** First key of the advisory locks on ordering keys (the second is the key's hash). */
const KEY_LOCK_CLASS = 7_302_114;

/** Channel on which enqueues wake the workers of every process. */
const CHANNEL = "ghl_coopel_sync_jobs";

export interface PostgresQueueOptions {
  /** The connection URL, for the connection that listens for new jobs. */
  url: string;
  now?: () => number;
}

/**
 * The Queue port on PostgreSQL, for any number of receiver and worker
 * processes on one database.
 *
 * Enqueues that arrive while a commit is under way wait for it and then share
 * the next transaction (group commit). Only the first unfinished job of an
 * ordering key is unblocked, so events of one record run one at a time, in
 * arrival order, on any worker, and claims (the claim_jobs function of the
 * schema) take unblocked jobs with SKIP LOCKED, side by side. Enqueues and
 * completions lock the keys they touch, so a new job always sees an
 * unfinished earlier one. Completion writes the links, marks the job done
 * and unblocks the next job of its key in one transaction, shared by the
 * jobs that finish together. A NOTIFY after each enqueue wakes idle workers
 * in every process, and polling covers a lost notification.
 *
 * Claims skip the jobs of paused accounts (see claim_jobs). Coalescing and
 * dead-letter replays change the jobs of a key under the key's lock, so they
 * never race an enqueue or a completion of that key.
 */
export class PostgresQueue implements Queue {
  private readonly emitter = new EventEmitter();
  private readonly now: () => number;
  private pending: PendingEnqueue[] = [];
  private flushing: Promise<void> | null = null;
  private completions: PendingCompletion[] = [];
  private completing: Promise<void> | null = null;
  private listener: pg.Client | null = null;
  private listening: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PostgresQueueOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.emitter.setMaxListeners(0);
  }

  enqueue(events: InboxEvent[]): Promise<EnqueueResult[]> {
    if (this.closed)
      return Promise.reject(new Error("the queue is closed; enqueue rejected"));
    return new Promise((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  /** Commits waiting enqueues batch after batch until none are left. */
  private async flushLoop(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        const results = await this.insertBatch(
          batch.flatMap((item) => item.events),
        );
        let offset = 0;
        for (const item of batch) {
          item.resolve(results.slice(offset, offset + item.events.length));
          offset += item.events.length;
        }
        this.emitter.emit("enqueued");
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    this.flushing = null;
  }

  private insertBatch(events: InboxEvent[]): Promise<EnqueueResult[]> {
    return inTransaction(this.pool, async (client) => {
      await lockOrderingKeys(
        client,
        events.map((e) => e.orderingKey),
      );
      const withId = events.filter((e) => e.deliveryId !== null);
      const fresh = new Set<string>();
      if (withId.length > 0) {
        const { rows } = await client.query<{
          source: string;
          delivery_id: string;
        }>(
          `INSERT INTO deliveries (source, delivery_id, received_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
           ON CONFLICT DO NOTHING
           RETURNING source, delivery_id`,
          [
            withId.map((e) => e.source),
            withId.map((e) => e.deliveryId),
            withId.map((e) => e.receivedAt),
          ],
        );
        for (const row of rows)
          fresh.add(`${row.source}\u0000${row.delivery_id}`);
      }
      const results: EnqueueResult[] = events.map((event) => {
        if (event.deliveryId === null) return "accepted";
        // The first event of a batch with a new delivery id takes it, and repeats in the same batch are duplicates.
        return fresh.delete(`${event.source}\u0000${event.deliveryId}`)
          ? "accepted"
          : "duplicate";
      });
      const accepted = events.filter((_, i) => results[i] === "accepted");
      if (accepted.length > 0) {
        await client.query(
          `INSERT INTO jobs (source, account_id, type, ordering_key, delivery_id, received_at, payload, run_at,
             source_updated_at, blocked)
           SELECT source, account_id, type, ordering_key, delivery_id, received_at, payload, run_at, source_updated_at,
             row_number() OVER (PARTITION BY ordering_key ORDER BY position) > 1
               OR EXISTS (
                 SELECT 1 FROM jobs AS earlier
                 WHERE earlier.ordering_key = input.ordering_key AND earlier.state IN ('pending', 'running'))
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::json[],
               $8::bigint[], $9::bigint[])
             WITH ORDINALITY AS input(source, account_id, type, ordering_key, delivery_id, received_at, payload,
               run_at, source_updated_at, position)
           ORDER BY position`,
          [
            accepted.map((e) => e.source),
            accepted.map((e) => e.accountId),
            accepted.map((e) => e.type),
            accepted.map((e) => e.orderingKey),
            accepted.map((e) => e.deliveryId),
            accepted.map((e) => e.receivedAt),
            accepted.map((e) => JSON.stringify(e.payload)),
            accepted.map((e) => e.runAt ?? e.receivedAt),
            accepted.map((e) => e.sourceUpdatedAt ?? null),
          ],
        );
        const holding = accepted.filter(
          (e) => e.maxHoldMs !== undefined && (e.runAt ?? 0) > e.receivedAt,
        );
        // The held head of each key waits for the newest held job too, up
        // to its own arrival plus the maximum hold.
        if (holding.length > 0)
          await client.query(
            `UPDATE jobs AS head SET run_at = LEAST(input.run_at, head.received_at + input.max_hold_ms)
             FROM (
               SELECT DISTINCT ON (ordering_key, type) *
               FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
                 WITH ORDINALITY AS i(ordering_key, type, received_at, run_at, max_hold_ms, position)
               ORDER BY ordering_key, type, position DESC) AS input
             WHERE head.ordering_key = input.ordering_key AND head.type = input.type
               AND head.state = 'pending' AND NOT head.blocked
               AND head.run_at > input.received_at
               AND head.run_at < LEAST(input.run_at, head.received_at + input.max_hold_ms)`,
            [
              holding.map((e) => e.orderingKey),
              holding.map((e) => e.type),
              holding.map((e) => e.receivedAt),
              holding.map((e) => e.runAt),
              holding.map((e) => e.maxHoldMs),
            ],
          );
        await client.query("SELECT pg_notify($1, '')", [CHANNEL]);
      }
      return results;
    });
  }

  async claim(
    workerId: string,
    limit: number,
    leaseMs: number,
    options: ClaimOptions = {},
  ): Promise<Job[]> {
    const now = this.now();
    const coalesceTypes = new Set(options.coalesceTypes ?? []);
    const claimSql = "SELECT * FROM claim_jobs($1, $2, $3, $4, $5)";
    const claimParams = [
      workerId,
      leaseMs,
      now,
      limit,
      [...(options.skipAccounts ?? [])],
    ];
    let rows: JobRow[];
    if (coalesceTypes.size === 0) {
      rows = (await this.pool.query<JobRow>(claimSql, claimParams)).rows;
    } else {
      rows = await inTransaction(this.pool, async (client) => {
        const claimed = (await client.query<JobRow>(claimSql, claimParams))
          .rows;
        const chosen: JobRow[] = [];
        for (const row of claimed)
          chosen.push(
            coalesceTypes.has(row.type)
              ? await coalesce(client, row, coalesceTypes, {
                  workerId,
                  now,
                  leaseMs,
                })
              : row,
          );
        return chosen;
      });
    }
    return rows.sort((a, b) => a.id - b.id).map(rowToJob);
  }

  complete(job: Job, completion: Completion): Promise<void> {
    return new Promise((resolve, reject) => {
      this.completions.push({ job, completion, resolve, reject });
      if (!this.completing) this.completing = this.completeLoop();
    });
  }

  /**
   * Commits finished jobs batch after batch, like enqueues: jobs that finish
   * while a commit is under way share the next transaction. When a batch
   * fails (one job's links break a constraint), each job of it is tried
   * alone, so that one bad job does not fail the others.
   */
  private async completeLoop(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    while (this.completions.length > 0) {
      const batch = this.completions;
      this.completions = [];
      try {
        await this.writeCompletions(batch);
        for (const item of batch) item.resolve();
      } catch (error) {
        if (batch.length === 1) batch[0]!.reject(error);
        else
          for (const item of batch) {
            try {
              await this.writeCompletions([item]);
              item.resolve();
            } catch (alone) {
              item.reject(alone);
            }
          }
      }
      this.emitter.emit("enqueued");
    }
    this.completing = null;
  }

  private writeCompletions(batch: PendingCompletion[]): Promise<void> {
    const finishedAt = this.now();
    return inTransaction(this.pool, async (client) => {
      const keys = batch.map((item) => item.job.event.orderingKey);
      await lockOrderingKeys(client, keys);
      await writeLinks(
        client,
        batch.flatMap((item) => item.completion.links),
      );
      await client.query(
        `UPDATE jobs SET state = 'done', outcome = done.outcome, reason = done.reason, wrote = done.wrote,
           finished_at = $2, requests = done.requests, warnings = done.warnings, lease_owner = NULL
         FROM unnest($1::bigint[], $3::text[], $4::text[], $5::boolean[], $6::jsonb[], $7::jsonb[])
           AS done(id, outcome, reason, wrote, requests, warnings)
         WHERE jobs.id = done.id`,
        [
          batch.map((item) => Number(item.job.id)),
          finishedAt,
          batch.map((item) => item.completion.outcome),
          batch.map((item) => item.completion.reason),
          batch.map((item) =>
            item.completion.requests.some((r) => r.method !== "GET"),
          ),
          batch.map((item) => JSON.stringify(item.completion.requests)),
          batch.map((item) =>
            item.completion.warnings.length > 0
              ? JSON.stringify(item.completion.warnings)
              : null,
          ),
        ],
      );
      await unblockNext(client, keys);
      // A job of an account that ran to the end after its pause was due
      // shows the account works again.
      await client.query(
        `DELETE FROM account_pauses AS p
         USING unnest($1::text[], $2::text[]) AS done(source, account_id)
         WHERE p.retry_at <= $3
           AND ((p.system = done.source AND p.account_id = done.account_id)
             OR (p.system = 'coopel' AND done.source = 'ghl'))`,
        [
          batch.map((item) => item.job.event.source),
          batch.map((item) => item.job.event.accountId),
          finishedAt,
        ],
      );
    });
  }

  async retry(job: Job, runAt: number, failure: JobFailure): Promise<void> {
    await this.pool.query(
      `UPDATE jobs SET state = 'pending', run_at = $2, last_error = $3, error_class = $4,
         requests = $5, lease_owner = NULL
       WHERE id = $1`,
      [
        Number(job.id),
        runAt,
        failure.message,
        failure.errorClass,
        JSON.stringify(failure.requests),
      ],
    );
  }

  async extendLeases(
    workerId: string,
    jobIds: string[],
    leaseMs: number,
  ): Promise<void> {
    if (jobIds.length === 0) return;
    await this.pool.query(
      `UPDATE jobs SET lease_until = $1
       WHERE id = ANY($2::bigint[]) AND state = 'running' AND lease_owner = $3`,
      [this.now() + leaseMs, jobIds.map(Number), workerId],
    );
  }

  async deadLetter(job: Job, failure: JobFailure): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await lockOrderingKeys(client, [job.event.orderingKey]);
      await client.query(
        `UPDATE jobs SET state = 'dead', outcome = 'failed', finished_at = $2, last_error = $3,
           error_class = $4, requests = $5, lease_owner = NULL
         WHERE id = $1`,
        [
          Number(job.id),
          this.now(),
          failure.message,
          failure.errorClass,
          JSON.stringify(failure.requests),
        ],
      );
      await unblockNext(client, [job.event.orderingKey]);
    });
    this.emitter.emit("enqueued");
  }

  async oldestPendingAt(): Promise<number | null> {
    const { rows } = await this.pool.query<{ at: number | null }>(
      "SELECT MIN(received_at) AS at FROM jobs WHERE state IN ('pending', 'running')",
    );
    return rows[0]?.at ?? null;
  }

  async pauseAccount(job: Job, pause: AccountPause): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO account_pauses (system, account_id, reason, message, paused_at, retry_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (system, account_id) DO UPDATE SET
           reason = excluded.reason, message = excluded.message, retry_at = excluded.retry_at,
           paused_at = CASE WHEN account_pauses.retry_at > excluded.paused_at
             THEN account_pauses.paused_at ELSE excluded.paused_at END`,
        [
          pause.system,
          pause.accountId,
          pause.reason,
          pause.message,
          pause.pausedAt,
          pause.retryAt,
        ],
      );
      // The attempt that met the pause is given back.
      await client.query(
        `UPDATE jobs SET state = 'pending', attempt = GREATEST(attempt - 1, 0), run_at = $2, last_error = $3,
           error_class = 'account', requests = '[]', lease_owner = NULL
         WHERE id = $1`,
        [Number(job.id), pausedJobRunAt(job, pause, this.now()), pause.message],
      );
    });
  }

  async resumeAccount(system: Source, accountId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      "DELETE FROM account_pauses WHERE system = $1 AND account_id = $2",
      [system, accountId],
    );
    const resumed = (rowCount ?? 0) > 0;
    if (resumed) {
      await this.pool.query("SELECT pg_notify($1, '')", [CHANNEL]);
      this.emitter.emit("enqueued");
    }
    return resumed;
  }

  async listPausedAccounts(): Promise<AccountPause[]> {
    const { rows } = await this.pool.query<PauseRow>(
      "SELECT * FROM account_pauses WHERE retry_at > $1 ORDER BY paused_at",
      [this.now()],
    );
    return rows.map((row) => ({
      system: row.system,
      accountId: row.account_id,
      reason: row.reason,
      message: row.message,
      pausedAt: row.paused_at,
      retryAt: row.retry_at,
    }));
  }

  async listDeadLetters(filter: DeadLetterFilter): Promise<DeadLetter[]> {
    const { where, params } = deadLetterWhere(filter);
    const limit =
      filter.limit !== undefined ? `LIMIT ${sqlLimit(filter.limit)}` : "";
    const { rows } = await this.pool.query<DeadRow>(
      `SELECT * FROM jobs WHERE ${where} ORDER BY id ${limit}`,
      params,
    );
    return rows.map((row) => ({
      id: String(row.id),
      event: rowToJob(row).event,
      errorClass: row.error_class,
      lastError: row.last_error ?? "",
      requests: row.requests ?? [],
      attempts: row.attempt,
      finishedAt: row.finished_at,
    }));
  }

  async replayDeadLetters(filter: DeadLetterFilter): Promise<number> {
    const { where, params } = deadLetterWhere(filter);
    const limit =
      filter.limit !== undefined ? `LIMIT ${sqlLimit(filter.limit)}` : "";
    const replayed = await inTransaction(this.pool, async (client) => {
      const { rows: matching } = await client.query<{
        id: number;
        ordering_key: string;
      }>(
        `SELECT id, ordering_key FROM jobs WHERE ${where} ORDER BY id ${limit}`,
        params,
      );
      if (matching.length === 0) return 0;
      const keys = [...new Set(matching.map((row) => row.ordering_key))];
      await lockOrderingKeys(client, keys);
      // A job that stopped being dead since the select (an earlier replay
      // that committed first) is left alone.
      const { rowCount } = await client.query(
        `UPDATE jobs SET state = 'pending', attempt = 1, run_at = $2, outcome = NULL,
           finished_at = NULL, lease_owner = NULL
         WHERE id = ANY($1::bigint[]) AND state = 'dead'`,
        [matching.map((row) => row.id), this.now()],
      );
      await reblock(client, keys);
      if ((rowCount ?? 0) > 0)
        await client.query("SELECT pg_notify($1, '')", [CHANNEL]);
      return rowCount ?? 0;
    });
    if (replayed > 0) this.emitter.emit("enqueued");
    return replayed;
  }

  async depth(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      "SELECT COUNT(*)::int AS n FROM jobs WHERE state IN ('pending', 'running')",
    );
    return rows[0]!.n;
  }

  subscribe(listener: () => void): () => void {
    this.emitter.on("enqueued", listener);
    this.listening ??= this.listen();
    return () => this.emitter.off("enqueued", listener);
  }

  /** Listens for enqueues of other processes and reconnects after a lost connection. */
  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.options.url });
    this.listener = client;
    const retry = () => {
      if (this.listener !== client) return;
      this.listener = null;
      client.end().catch(() => {});
      if (this.closed) return;
      setTimeout(() => {
        this.listening = this.listen();
      }, 1000).unref();
    };
    client.on("error", retry);
    client.on("notification", () => this.emitter.emit("enqueued"));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch {
      // Workers still poll, and the next attempt may find the database back.
      retry();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flushing;
    await this.completing;
    this.emitter.removeAllListeners();
    const listener = this.listener;
    this.listener = null;
    await this.listening;
    await listener?.end().catch(() => {});
  }
}

/**
 * Takes a transaction lock on each ordering key, in a fixed order so that two
 * transactions never wait on each other. Enqueues and completions of one key
 * take turns, so a new job always sees whether an earlier one is unfinished.
 */
async function lockOrderingKeys(
  client: pg.PoolClient,
  keys: string[],
): Promise<void> {
  await client.query(
    `SELECT pg_advisory_xact_lock(${KEY_LOCK_CLASS}, hash)
     FROM (SELECT DISTINCT hashtext(key) AS hash FROM unnest($1::text[]) AS key ORDER BY hash) AS keys`,
    [keys],
  );
}

/** Unblocks the first unfinished job of each key, after the job before it finished. */
async function unblockNext(
  client: pg.PoolClient,
  keys: string[],
): Promise<void> {
  await client.query(
    `UPDATE jobs SET blocked = FALSE
     WHERE blocked AND id IN (
       SELECT (SELECT min(next.id) FROM jobs AS next
               WHERE next.ordering_key = key AND next.state IN ('pending', 'running'))
       FROM unnest($1::text[]) AS key)`,
    [[...new Set(keys)]],
  );
}

/**
 * Recomputes which pending jobs of each key wait, after replayed dead jobs
 * joined them: only the oldest unfinished job of a key runs, and none while
 * another job of the key runs. Call it holding the keys' locks.
 */
async function reblock(client: pg.PoolClient, keys: string[]): Promise<void> {
  await client.query(
    `UPDATE jobs AS j SET blocked = NOT (j.id = k.head AND NOT k.running)
     FROM (
       SELECT key,
         (SELECT min(a.id) FROM jobs AS a
          WHERE a.ordering_key = key AND a.state IN ('pending', 'running')) AS head,
         EXISTS (SELECT 1 FROM jobs AS r WHERE r.ordering_key = key AND r.state = 'running') AS running
       FROM unnest($1::text[]) AS key) AS k
     WHERE j.ordering_key = k.key AND j.state = 'pending'
       AND j.blocked IS DISTINCT FROM NOT (j.id = k.head AND NOT k.running)`,
    [keys],
  );
}

/** The worker, clock and lease of a claim, for a job handed out in place of the one it took. */
interface ClaimContext {
  workerId: string;
  now: number;
  leaseMs: number;
}

/**
 * Collapses the claimed `first` job and the pending jobs right after it with
 * the same key and a coalescible type into the newest by source update time
 * (then by id). Marks the others skipped and returns the job to run, leased
 * to the worker. The following jobs wait behind `first`, so no other worker
 * holds them; the key's lock keeps enqueues, completions and replays of the
 * key out meanwhile. When another transaction holds that lock, the job runs
 * alone rather than waiting, so a claim never waits on a key.
 */
async function coalesce(
  client: pg.PoolClient,
  first: JobRow,
  coalesceTypes: ReadonlySet<string>,
  context: ClaimContext,
): Promise<JobRow> {
  const { rows: lock } = await client.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked",
    [KEY_LOCK_CLASS, first.ordering_key],
  );
  if (!lock[0]!.locked) return first;
  const { rows: following } = await client.query<JobRow>(
    `SELECT * FROM jobs WHERE ordering_key = $1 AND id > $2 AND state = 'pending'
     ORDER BY id FOR UPDATE`,
    [first.ordering_key, first.id],
  );
  // The claim already counted this attempt of `first`; the others count theirs when they run.
  const run = [{ ...first, attempt: first.attempt - 1 }];
  for (const row of following) {
    if (!coalesceTypes.has(row.type)) break;
    run.push(row);
  }
  if (run.length === 1) return first;

  const ordered = [...run].sort((a, b) =>
    isNewer(a, b) ? 1 : isNewer(b, a) ? -1 : 0,
  );
  const newest = ordered[ordered.length - 1]!;
  await client.query(
    `UPDATE jobs SET state = 'done', outcome = 'skipped', reason = 'coalesced', finished_at = $2,
       lease_owner = NULL
     WHERE id = ANY($1::bigint[])`,
    [run.filter((row) => row !== newest).map((row) => row.id), context.now],
  );
  // Updates may leave out unchanged fields, so the kept payload is the
  // merge of the run, older first. An older job may have sent a create whose
  // outcome is unknown, so the kept job inherits the highest attempt count
  // and looks up before creating.
  const merged: Record<string, unknown> = {};
  for (const row of ordered) Object.assign(merged, row.payload);
  const attempt = Math.max(...run.map((row) => row.attempt)) + 1;
  const { rows } = await client.query<JobRow>(
    `UPDATE jobs SET state = 'running', blocked = FALSE, attempt = $2, payload = $3,
       lease_owner = $4, lease_until = $5
     WHERE id = $1
     RETURNING *`,
    [
      newest.id,
      attempt,
      JSON.stringify(merged),
      context.workerId,
      context.now + context.leaseMs,
    ],
  );
  return rows[0]!;
}

function isNewer(row: JobRow, than: JobRow): boolean {
  const a = row.source_updated_at ?? -Infinity;
  const b = than.source_updated_at ?? -Infinity;
  return a !== b ? a > b : row.id > than.id;
}

function sqlLimit(limit: number): number {
  return Math.max(0, Math.trunc(limit));
}

/** Builds the WHERE clause of dead jobs matching `filter`, with positional parameters. */
function deadLetterWhere(filter: DeadLetterFilter): {
  where: string;
  params: unknown[];
} {
  const conditions = ["state = 'dead'"];
  const params: unknown[] = [];
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    conditions.push(sql(`$${params.length}`));
  };
  if (filter.ids !== undefined)
    add(
      (p) => `id = ANY(${p}::bigint[])`,
      filter.ids.map(Number).filter((id) => Number.isSafeInteger(id)),
    );
  if (filter.accountId !== undefined)
    add((p) => `account_id = ${p}`, filter.accountId);
  if (filter.type !== undefined) add((p) => `type = ${p}`, filter.type);
  if (filter.errorClass !== undefined)
    add((p) => `error_class = ${p}`, filter.errorClass);
  if (filter.since !== undefined)
    add((p) => `finished_at >= ${p}::bigint`, filter.since);
  return { where: conditions.join(" AND "), params };
}

function rowToJob(row: JobRow): Job {
  return {
    id: String(row.id),
    attempt: row.attempt,
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
      payload: row.payload,
    },
  };
}
