import type { Pool } from "pg";
import type {
  ApiUsage,
  ContactCount,
  EventBucket,
  EventDetail,
  EventFilter,
  EventRecord,
  EventStats,
  Link,
  LocationPause,
  Store,
} from "../../engine/ports.js";
import { PostgresOperatorState } from "./operator.js";
import { checkWritable, eventSeries, getEvent, listEvents } from "./events.js";
import { readLink, readLinks, writeRuleTags } from "./links.js";

/** The Store port on PostgreSQL, sharing its pool with the PostgreSQL queue. */
export class PostgresStore implements Store {
  private closed = false;

  private readonly operator: PostgresOperatorState;

  constructor(private readonly pool: Pool) {
    this.operator = new PostgresOperatorState(pool);
  }

  getLink(
    entity: Link["entity"],
    ghlLocationId: string,
    ghlId: string,
  ): Promise<Link | null> {
    return readLink(this.pool, entity, ghlLocationId, ghlId);
  }

  listLinks(entity: Link["entity"], ghlLocationId: string): Promise<Link[]> {
    return readLinks(this.pool, entity, ghlLocationId);
  }

  saveRuleTags(
    ghlLocationId: string,
    ghlId: string,
    ruleTags: string[],
    updatedAt: number,
  ): Promise<boolean> {
    return writeRuleTags(this.pool, ghlLocationId, ghlId, ruleTags, updatedAt);
  }

  async eventStats(sinceMs: number): Promise<EventStats> {
    const { rows } = await this.pool.query<Record<string, number | null>>(
      `SELECT
         COUNT(*)::int AS received,
         COUNT(*) FILTER (WHERE state IN ('pending', 'running'))::int AS pending,
         COUNT(*) FILTER (WHERE outcome = 'synced')::int AS synced,
         COUNT(*) FILTER (WHERE outcome = 'skipped')::int AS skipped,
         COUNT(*) FILTER (WHERE outcome = 'ignored')::int AS ignored,
         COUNT(*) FILTER (WHERE outcome = 'unsupported')::int AS unsupported,
         COUNT(*) FILTER (WHERE outcome = 'failed')::int AS failed,
         COUNT(*) FILTER (WHERE wrote)::int AS wrote
       FROM jobs WHERE received_at >= $1`,
      [sinceMs],
    );
    const row = rows[0]!;
    const wrote = row.wrote ?? 0;
    // The same rank as the SQLite store: the value at floor(p * n), capped at the last.
    const percentile = async (p: number): Promise<number | null> => {
      if (wrote === 0) return null;
      const found = await this.pool.query<{ latency: number }>(
        `SELECT finished_at - received_at AS latency FROM jobs
         WHERE received_at >= $1 AND wrote ORDER BY latency LIMIT 1 OFFSET $2`,
        [sinceMs, Math.min(wrote - 1, Math.floor(p * wrote))],
      );
      return found.rows[0]?.latency ?? null;
    };
    return {
      received: row.received ?? 0,
      pending: row.pending ?? 0,
      synced: row.synced ?? 0,
      skipped: row.skipped ?? 0,
      ignored: row.ignored ?? 0,
      unsupported: row.unsupported ?? 0,
      failed: row.failed ?? 0,
      wrote,
      writeLatencyP50Ms: await percentile(0.5),
      writeLatencyP99Ms: await percentile(0.99),
    };
  }

  listEvents(filter: EventFilter): Promise<EventRecord[]> {
    return listEvents(this.pool, filter);
  }

  getEvent(id: string): Promise<EventDetail | null> {
    return getEvent(this.pool, id);
  }

  eventSeries(sinceMs: number, bucketMs: number): Promise<EventBucket[]> {
    return eventSeries(this.pool, sinceMs, bucketMs, Date.now());
  }

  pauseLocation(pause: LocationPause): Promise<void> {
    return this.operator.pauseLocation(pause);
  }

  resumeLocation(locationId: string): Promise<boolean> {
    return this.operator.resumeLocation(locationId);
  }

  listLocationPauses(): Promise<LocationPause[]> {
    return this.operator.listLocationPauses();
  }

  recordContactCounts(recordedAt: number): Promise<void> {
    return this.operator.recordContactCounts(recordedAt);
  }

  contactCounts(sinceMs: number): Promise<ContactCount[]> {
    return this.operator.contactCounts(sinceMs);
  }

  apiUsage(sinceMs: number): Promise<ApiUsage[]> {
    return this.operator.apiUsage(sinceMs);
  }

  checkWritable(): Promise<void> {
    return checkWritable(this.pool);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
