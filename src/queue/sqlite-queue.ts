import { EventEmitter } from "node:events";
import type { Database, Statement } from "better-sqlite3";
import type {
  Completion,
  EnqueueResult,
  InboxEvent,
  Job,
  JobFailure,
  Queue,
} from "../engine/ports.js";
import { writeLinks } from "../store/sqlite/links.js";

interface PendingEnqueue {
  events: InboxEvent[];
  resolve: (results: EnqueueResult[]) => void;
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
}

/**
 * The Queue port on SQLite. Enqueues that arrive together share one
 * transaction (group commit), so a commit is paid once per batch. A job is
 * claimed under a lease; a lease that expires makes the job runnable again.
 */
export class SqliteQueue implements Queue {
  private readonly emitter = new EventEmitter();
  private pending: PendingEnqueue[] = [];
  private flushScheduled = false;
  private readonly statements: {
    insertDelivery: Statement;
    insertJob: Statement;
    reap: Statement;
    selectRunnable: Statement;
    markRunning: Statement;
    complete: Statement;
    retry: Statement;
    dead: Statement;
    depth: Statement;
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
        INSERT INTO jobs (source, account_id, type, ordering_key, delivery_id, received_at, payload, run_at)
        VALUES (@source, @accountId, @type, @orderingKey, @deliveryId, @receivedAt, @payload, @receivedAt)`),
      reap: db.prepare(
        "UPDATE jobs SET state = 'pending', lease_owner = NULL WHERE state = 'running' AND lease_until < ?",
      ),
      selectRunnable: db.prepare(`
        SELECT id, source, account_id, type, ordering_key, delivery_id, received_at, payload, attempt
        FROM jobs AS j
        WHERE state = 'pending' AND run_at <= ?
          AND NOT EXISTS (
            SELECT 1 FROM jobs AS earlier
            WHERE earlier.ordering_key = j.ordering_key AND earlier.id < j.id
              AND earlier.state IN ('pending', 'running'))
        ORDER BY id LIMIT ?`),
      markRunning: db.prepare(
        "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = ?, lease_until = ? WHERE id = ?",
      ),
      complete: db.prepare(`
        UPDATE jobs SET state = 'done', outcome = @outcome, reason = @reason, wrote = @wrote,
          finished_at = @finishedAt, requests = @requests, warnings = @warnings, lease_owner = NULL
        WHERE id = @id`),
      retry: db.prepare(`
        UPDATE jobs SET state = 'pending', run_at = @runAt, last_error = @message, error_class = @errorClass,
          requests = @requests, lease_owner = NULL
        WHERE id = @id`),
      dead: db.prepare(`
        UPDATE jobs SET state = 'dead', outcome = 'failed', finished_at = @finishedAt, last_error = @message,
          error_class = @errorClass, requests = @requests, lease_owner = NULL
        WHERE id = @id`),
      depth: db.prepare(
        "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('pending', 'running')",
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
    this.emitter.emit("enqueued");
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
      ...event,
      payload: JSON.stringify(event.payload),
    });
    return "accepted";
  }

  claim(workerId: string, limit: number, leaseMs: number): Promise<Job[]> {
    const now = this.now();
    const rows = this.db
      .transaction(() => {
        this.statements.reap.run(now);
        const found = this.statements.selectRunnable.all(
          now,
          limit,
        ) as JobRow[];
        for (const row of found)
          this.statements.markRunning.run(workerId, now + leaseMs, row.id);
        return found;
      })
      .immediate();
    return Promise.resolve(rows.map(rowToJob));
  }

  renewLeases(
    workerId: string,
    jobIds: string[],
    leaseMs: number,
  ): Promise<void> {
    const until = this.now() + leaseMs;
    const renew = this.db.prepare(
      "UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running' AND lease_owner = ?",
    );
    this.db.transaction(() => {
      for (const id of jobIds) renew.run(until, Number(id), workerId);
    })();
    return Promise.resolve();
  }

  complete(job: Job, completion: Completion): Promise<void> {
    this.db
      .transaction(() => {
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
      })
      .immediate();
    this.emitter.emit("enqueued");
    return Promise.resolve();
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

  depth(): Promise<number> {
    return Promise.resolve((this.statements.depth.get() as { n: number }).n);
  }

  subscribe(listener: () => void): () => void {
    this.emitter.on("enqueued", listener);
    return () => this.emitter.off("enqueued", listener);
  }

  close(): Promise<void> {
    this.flush();
    this.emitter.removeAllListeners();
    return Promise.resolve();
  }
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
      payload: JSON.parse(row.payload) as Record<string, unknown>,
    },
  };
}
