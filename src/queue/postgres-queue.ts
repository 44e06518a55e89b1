import { EventEmitter } from "node:events";
import pg from "pg";
import type {
  Completion,
  EnqueueResult,
  InboxEvent,
  Job,
  JobFailure,
  Queue,
} from "../engine/ports.js";
import { inTransaction } from "../store/postgres/database.js";
import { writeLinks } from "../store/postgres/links.js";

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
}

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
 * the next transaction (group commit). Claims (the claim_jobs function of
 * the schema) take a transaction-scoped advisory lock, so two workers never both decide that the head of the same
 * ordering key is free: events of one record run one at a time, in arrival
 * order, on whichever worker claims them. Completion writes the links and
 * marks the job done in one transaction, shared by the jobs that finish
 * together. A NOTIFY after each enqueue wakes
 * idle workers in every process; polling covers a lost notification.
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
      return Promise.reject(new Error("the queue is closed; not accepting"));
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
        // The first event of a batch with a new delivery id takes it; repeats in the same batch are duplicates.
        return fresh.delete(`${event.source}\u0000${event.deliveryId}`)
          ? "accepted"
          : "duplicate";
      });
      const accepted = events.filter((_, i) => results[i] === "accepted");
      if (accepted.length > 0) {
        await client.query(
          `INSERT INTO jobs (source, account_id, type, ordering_key, delivery_id, received_at, payload, run_at)
           SELECT source, account_id, type, ordering_key, delivery_id, received_at, payload, received_at
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::json[])
             WITH ORDINALITY AS input(source, account_id, type, ordering_key, delivery_id, received_at, payload, position)
           ORDER BY position`,
          [
            accepted.map((e) => e.source),
            accepted.map((e) => e.accountId),
            accepted.map((e) => e.type),
            accepted.map((e) => e.orderingKey),
            accepted.map((e) => e.deliveryId),
            accepted.map((e) => e.receivedAt),
            accepted.map((e) => JSON.stringify(e.payload)),
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
  ): Promise<Job[]> {
    const { rows } = await this.pool.query<JobRow>(
      "SELECT * FROM claim_jobs($1, $2, $3, $4)",
      [workerId, leaseMs, this.now(), limit],
    );
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

  async renewLeases(
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
    await this.pool.query(
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
    this.emitter.emit("enqueued");
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

  /** Listens for enqueues of other processes; reconnects after a lost connection. */
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
      // Workers still poll; the next attempt may find the database back.
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
      payload: row.payload,
    },
  };
}
