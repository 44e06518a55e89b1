import type { Pool } from "pg";
import type {
  EventBucket,
  EventDetail,
  EventFilter,
  EventRecord,
  JobFailure,
  JobState,
  Outcome,
  RequestSummary,
  Source,
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
  payload: Record<string, unknown>;
  requests: RequestSummary[] | null;
  warnings: string[] | null;
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
export async function listEvents(
  pool: Pool,
  filter: EventFilter,
): Promise<EventRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.type !== undefined) add((n) => `type = ${n}`, filter.type);
  if (filter.state !== undefined) add((n) => `state = ${n}`, filter.state);
  if (filter.outcome !== undefined)
    add((n) => `outcome = ${n}`, filter.outcome);
  if (filter.contains !== undefined && filter.contains !== "")
    add(
      (n) =>
        `(strpos(ordering_key, ${n}) > 0 OR strpos(coalesce(delivery_id, ''), ${n}) > 0)`,
      filter.contains,
    );
  if (filter.since !== undefined)
    add((n) => `received_at >= ${n}`, filter.since);
  if (filter.until !== undefined)
    add((n) => `received_at < ${n}`, filter.until);
  if (filter.beforeId !== undefined)
    add((n) => `id < ${n}`, Number(filter.beforeId));
  params.push(Math.max(1, Math.min(filter.limit, 1000)));
  const { rows } = await pool.query<EventRow>(
    `SELECT ${COLUMNS} FROM jobs ${
      where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""
    } ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toRecord);
}

/** Reads one event with its payload, requests and warnings. */
export async function getEvent(
  pool: Pool,
  id: string,
): Promise<EventDetail | null> {
  if (!/^\d+$/.test(id)) return null;
  const { rows } = await pool.query<DetailRow>(
    `SELECT ${COLUMNS}, payload, requests, warnings FROM jobs WHERE id = $1`,
    [Number(id)],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    ...toRecord(row),
    payload: row.payload,
    requests: row.requests ?? [],
    warnings: row.warnings ?? [],
  };
}

/** Counts received and failed events per bucket, zeros included. */
export async function eventSeries(
  pool: Pool,
  sinceMs: number,
  bucketMs: number,
  nowMs: number,
): Promise<EventBucket[]> {
  const { rows } = await pool.query<{
    n: number;
    received: number;
    failed: number;
  }>(
    `SELECT ((received_at - $1) / $2)::int AS n, COUNT(*)::int AS received,
       COUNT(*) FILTER (WHERE outcome = 'failed')::int AS failed
     FROM jobs WHERE received_at >= $1 GROUP BY 1`,
    [sinceMs, bucketMs],
  );
  const count = Math.max(1, Math.ceil((nowMs - sinceMs) / bucketMs));
  const buckets: EventBucket[] = Array.from({ length: count }, (_, i) => ({
    start: sinceMs + i * bucketMs,
    received: 0,
    failed: 0,
  }));
  for (const row of rows) {
    const bucket = buckets[row.n];
    if (!bucket) continue;
    bucket.received = row.received;
    bucket.failed = row.failed;
  }
  return buckets;
}

/**
 * Takes the lock that inserting into the jobs table takes, in a
 * transaction that is rolled back, so a read-only server, a standby or a
 * lost connection shows as an error. Waits at most 2 s for the lock.
 */
export async function checkWritable(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SET LOCAL lock_timeout = '2s'");
    // ROW EXCLUSIVE is refused in a read-only transaction or on a standby.
    await client.query("LOCK TABLE jobs IN ROW EXCLUSIVE MODE");
    await client.query("ROLLBACK");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
