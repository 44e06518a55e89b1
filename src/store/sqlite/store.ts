import type { Database } from "better-sqlite3";
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
import { SqliteOperatorState } from "./operator.js";
import { checkWritable, eventSeries, getEvent, listEvents } from "./events.js";
import { readLink, readLinks, writeRuleTags } from "./links.js";

/** The Store port on an embedded SQLite database shared with the SQLite queue. */
export class SqliteStore implements Store {
  private readonly operator: SqliteOperatorState;

  constructor(private readonly db: Database) {
    this.operator = new SqliteOperatorState(db);
  }

  getLink(
    entity: Link["entity"],
    ghlLocationId: string,
    ghlId: string,
  ): Promise<Link | null> {
    return Promise.resolve(readLink(this.db, entity, ghlLocationId, ghlId));
  }

  listLinks(entity: Link["entity"], ghlLocationId: string): Promise<Link[]> {
    return Promise.resolve(readLinks(this.db, entity, ghlLocationId));
  }

  saveRuleTags(
    ghlLocationId: string,
    ghlId: string,
    ruleTags: string[],
    updatedAt: number,
  ): Promise<boolean> {
    return Promise.resolve(
      writeRuleTags(this.db, ghlLocationId, ghlId, ruleTags, updatedAt),
    );
  }

  eventStats(sinceMs: number): Promise<EventStats> {
    const counts = this.db
      .prepare(
        `SELECT
           COUNT(*) AS received,
           SUM(state IN ('pending', 'running')) AS pending,
           SUM(outcome = 'synced') AS synced,
           SUM(outcome = 'skipped') AS skipped,
           SUM(outcome = 'ignored') AS ignored,
           SUM(outcome = 'unsupported') AS unsupported,
           SUM(outcome = 'failed') AS failed,
           SUM(wrote) AS wrote
         FROM jobs WHERE received_at >= ?`,
      )
      .get(sinceMs) as Record<string, number | null>;
    const wrote = counts.wrote ?? 0;
    const percentile = (p: number): number | null => {
      if (wrote === 0) return null;
      const row = this.db
        .prepare(
          `SELECT finished_at - received_at AS latency FROM jobs
           WHERE received_at >= ? AND wrote = 1 ORDER BY latency LIMIT 1 OFFSET ?`,
        )
        .get(sinceMs, Math.min(wrote - 1, Math.floor(p * wrote))) as
        { latency: number } | undefined;
      return row?.latency ?? null;
    };
    return Promise.resolve({
      received: counts.received ?? 0,
      pending: counts.pending ?? 0,
      synced: counts.synced ?? 0,
      skipped: counts.skipped ?? 0,
      ignored: counts.ignored ?? 0,
      unsupported: counts.unsupported ?? 0,
      failed: counts.failed ?? 0,
      wrote,
      writeLatencyP50Ms: percentile(0.5),
      writeLatencyP99Ms: percentile(0.99),
    });
  }

  listEvents(filter: EventFilter): Promise<EventRecord[]> {
    return Promise.resolve(listEvents(this.db, filter));
  }

  getEvent(id: string): Promise<EventDetail | null> {
    return Promise.resolve(getEvent(this.db, id));
  }

  eventSeries(sinceMs: number, bucketMs: number): Promise<EventBucket[]> {
    return Promise.resolve(eventSeries(this.db, sinceMs, bucketMs, Date.now()));
  }

  pauseLocation(pause: LocationPause): Promise<void> {
    return settle(() => this.operator.pauseLocation(pause));
  }

  resumeLocation(locationId: string): Promise<boolean> {
    return settle(() => this.operator.resumeLocation(locationId));
  }

  listLocationPauses(): Promise<LocationPause[]> {
    return settle(() => this.operator.listLocationPauses());
  }

  recordContactCounts(recordedAt: number): Promise<void> {
    return settle(() => this.operator.recordContactCounts(recordedAt));
  }

  contactCounts(sinceMs: number): Promise<ContactCount[]> {
    return settle(() => this.operator.contactCounts(sinceMs));
  }

  apiUsage(sinceMs: number): Promise<ApiUsage[]> {
    return settle(() => this.operator.apiUsage(sinceMs));
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async turns a throw into a rejection
  async checkWritable(): Promise<void> {
    checkWritable(this.db, 500);
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}

/** Runs a synchronous SQLite call and turns a throw into a rejected promise. */
function settle<T>(run: () => T): Promise<T> {
  return new Promise((resolve) => resolve(run()));
}
