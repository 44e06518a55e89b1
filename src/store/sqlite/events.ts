import type { Database } from "better-sqlite3";
import type {
  EventBucket,
  EventDetail,
  EventFilter,
  EventRecord,
  JobFailure,
  Outcome,
  RequestSummary,
  Source,
  JobState,
} from "../../engine/ports.js";

interface EventRow {
  id: number;
  source: string;
  account_id: string;
  type: string;
  ordering_key: string;
  delivery_id: string | null;
  state: string;
  outcome: string | null;
  reason: string | null;
  attempt: number;
  received_at: number;
  finished_at: number | null;
  last_error: string | null;
  error_class: string | null;
}

interface DetailRow extends EventRow {
  payload: string;
  requests: string | null;
  warnings: string | null;
}

const COLUMNS = `id, source, account_id, type, ordering_key, delivery_id, state, outcome, reason,
  attempt, received_at, finished_at, last_error, error_class`;

function toRecord(row: EventRow): EventRecord {
  return {
    id: String(row.id),
    source: row.source as Source,
    accountId: row.account_id,
    type: row.type,
    orderingKey: row.ordering_key,
    deliveryId: row.delivery_id,
    state: row.state as JobState,
    outcome: row.outcome as Outcome | null,
    reason: row.reason,
    attempts: row.attempt,
    receivedAt: row.received_at,
    finishedAt: row.finished_at,
    lastError: row.last_error,
    errorClass: row.error_class as JobFailure["errorClass"] | null,
  };
}

/** Lists events newest first; every filter field adds one condition. */
export function listEvents(db: Database, filter: EventFilter): EventRecord[] {
  const where: string[] = [];
  const params: Record<string, unknown> = {
    limit: Math.max(1, Math.min(filter.limit, 1000)),
  };
  if (filter.type !== undefined) {
    where.push("type = @type");
    params.type = filter.type;
  }
  if (filter.state !== undefined) {
    where.push("state = @state");
    params.state = filter.state;
  }
  if (filter.outcome !== undefined) {
    where.push("outcome = @outcome");
    params.outcome = filter.outcome;
  }
  if (filter.contains !== undefined && filter.contains !== "") {
    where.push(
      "(instr(ordering_key, @contains) > 0 OR instr(coalesce(delivery_id, ''), @contains) > 0)",
    );
    params.contains = filter.contains;
  }
  if (filter.since !== undefined) {
    where.push("received_at >= @since");
    params.since = filter.since;
  }
  if (filter.until !== undefined) {
    where.push("received_at < @until");
    params.until = filter.until;
  }
  if (filter.beforeId !== undefined) {
    where.push("id < @beforeId");
    params.beforeId = Number(filter.beforeId);
  }
  const sql = `SELECT ${COLUMNS} FROM jobs ${
    where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""
  } ORDER BY id DESC LIMIT @limit`;
  return (db.prepare(sql).all(params) as EventRow[]).map(toRecord);
}

/** Reads one event with its payload, requests and warnings. */
export function getEvent(db: Database, id: string): EventDetail | null {
  if (!/^\d+$/.test(id)) return null;
  const row = db
    .prepare(
      `SELECT ${COLUMNS}, payload, requests, warnings FROM jobs WHERE id = ?`,
    )
    .get(Number(id)) as DetailRow | undefined;
  if (!row) return null;
  return {
    ...toRecord(row),
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    requests: row.requests
      ? (JSON.parse(row.requests) as RequestSummary[])
      : [],
    warnings: row.warnings ? (JSON.parse(row.warnings) as string[]) : [],
  };
}

/** Counts received and failed events per bucket, zeros included. */
export function eventSeries(
  db: Database,
  sinceMs: number,
  bucketMs: number,
  nowMs: number,
): EventBucket[] {
  const rows = db
    .prepare(
      `SELECT (received_at - @since) / @bucket AS n, COUNT(*) AS received,
         SUM(outcome = 'failed') AS failed
       FROM jobs WHERE received_at >= @since GROUP BY n`,
    )
    .all({ since: sinceMs, bucket: bucketMs }) as {
    n: number;
    received: number;
    failed: number | null;
  }[];
  const count = Math.max(1, Math.ceil((nowMs - sinceMs) / bucketMs));
  const buckets: EventBucket[] = Array.from({ length: count }, (_, i) => ({
    start: sinceMs + i * bucketMs,
    received: 0,
    failed: 0,
  }));
  for (const row of rows) {
    const bucket = buckets[Math.floor(row.n)];
    if (!bucket) continue;
    bucket.received = row.received;
    bucket.failed = row.failed ?? 0;
  }
  return buckets;
}

/**
 * Takes and releases the write lock, waiting at most `waitMs` for another
 * writer. Throws when the database cannot be written now.
 */
export function checkWritable(db: Database, waitMs: number): void {
  const previous = db.pragma("busy_timeout", { simple: true }) as number;
  db.pragma(`busy_timeout = ${waitMs}`);
  try {
    db.prepare("BEGIN IMMEDIATE").run();
    db.prepare("ROLLBACK").run();
  } finally {
    db.pragma(`busy_timeout = ${previous}`);
  }
}
