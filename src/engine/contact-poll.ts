import { updatedAtOf } from "./contact-apply.js";
import { scanGhlContacts } from "./ghl-scan.js";
import type {
  CallContext,
  GhlApi,
  InboxEvent,
  Logger,
  Queue,
  SyncState,
} from "./ports.js";

export interface ContactPollerOptions {
  queue: Queue;
  ghl: GhlApi;
  state: SyncState;
  logger: Logger;
  /** Locations to poll, each with its interval in milliseconds. */
  locations: () => { id: string; intervalMs: number }[];
  /** How far before the saved cursor each poll starts again, for changes that became searchable late. */
  overlapMs: number;
  pageSize: number;
  /** Pages per location and poll; the rest waits for the next poll. */
  maxPages: number;
  /** True when the location's GHL budget is too low for background reads now. */
  budgetLow: (locationId: string) => boolean;
  /** How often the schedule is checked; default 10 s. */
  tickMs?: number;
  now?: () => number;
}

/** The saved position of a location's poll. */
interface PollCursor {
  /** Epoch milliseconds: contacts updated at or after this (less the overlap) are read. */
  since: number;
}

/** Name of the cursor of a location's contact poll. */
export function pollCursorName(locationId: string): string {
  return `poll:contacts:${locationId}`;
}

/**
 * Repairs lost webhooks. Per location and on its schedule, it reads the
 * contacts GHL changed since the last poll (search filtered and sorted by
 * `dateUpdated`). Each goes into the inbox as a `ContactUpdate` event from
 * GHL, so it runs through the same queue and handler as a webhook. The delivery
 * id is the contact id and its `dateUpdated`, so a version already polled
 * (or seen twice in the overlap window) is dropped as a repeat, and the
 * handler skips versions older than the one applied. The cursor is saved
 * only after a page is enqueued. A poll is deferred while the location's
 * budget is low. The first poll of a location starts from the current time;
 * a backfill covers what changed before.
 */
export class ContactPoller {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly nextRun = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: ContactPollerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    const started = this.now();
    for (const location of this.options.locations())
      this.nextRun.set(location.id, started + location.intervalMs);
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.pollDue().finally(() => {
        this.running = null;
      });
    }, this.options.tickMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private async pollDue(): Promise<void> {
    for (const location of this.options.locations()) {
      const due = this.nextRun.get(location.id) ?? 0;
      if (this.now() < due) continue;
      this.nextRun.set(location.id, this.now() + location.intervalMs);
      try {
        await this.pollOnce(location.id);
      } catch (error) {
        this.options.logger.warn(
          { err: error, locationId: location.id },
          "contact poll failed; the next poll starts from the saved cursor",
        );
      }
    }
  }

  /** Polls one location now; returns the number of new events, or null when deferred for budget. */
  async pollOnce(locationId: string): Promise<number | null> {
    const { options } = this;
    if (options.budgetLow(locationId)) {
      options.logger.info(
        { locationId },
        "contact poll deferred: the location's daily GHL budget is low",
      );
      return null;
    }
    const name = pollCursorName(locationId);
    const saved = await options.state.getCursor(name);
    if (saved === null) {
      await options.state.saveCursor(
        name,
        JSON.stringify({ since: this.now() } satisfies PollCursor),
      );
      options.logger.info(
        { locationId },
        "contact poll started its cursor at the current time; run backfill for older changes",
      );
      return 0;
    }
    const cursor = JSON.parse(saved) as PollCursor;
    const from = new Date(cursor.since - options.overlapMs).toISOString();
    const context = (): CallContext => ({
      requests: [],
      priority: "background",
    });
    let accepted = 0;
    let pages = 0;
    let newest = cursor.since;
    for await (const page of scanGhlContacts(options.ghl, {
      locationId,
      pageLimit: options.pageSize,
      startAfter: null,
      filters: [
        { field: "dateUpdated", operator: "range", value: { gte: from } },
      ],
      sort: [{ field: "dateUpdated", direction: "asc" }],
      context,
      confirmEmptyAfterMs: 0,
    })) {
      const events: InboxEvent[] = [];
      for (const record of page.contacts) {
        const updatedAt = updatedAtOf(record);
        const id = String(record.id);
        if (updatedAt !== null) newest = Math.max(newest, updatedAt);
        const contact = { ...record };
        delete contact.searchAfter;
        events.push({
          source: "ghl",
          accountId: locationId,
          type: "ContactUpdate",
          orderingKey: `ghl:${locationId}:contact:${id}`,
          deliveryId: `poll:${id}:${updatedAt ?? this.now()}`,
          receivedAt: this.now(),
          sourceUpdatedAt: updatedAt,
          payload: { ...contact, type: "ContactUpdate", locationId },
        });
      }
      const results = await options.queue.enqueue(events);
      accepted += results.filter((r) => r === "accepted").length;
      await options.state.saveCursor(
        name,
        JSON.stringify({ since: newest } satisfies PollCursor),
      );
      pages++;
      if (pages >= options.maxPages) {
        options.logger.warn(
          { locationId, pages },
          "contact poll stopped at its page limit; the next poll goes on from the saved cursor",
        );
        break;
      }
    }
    if (accepted > 0)
      options.logger.info(
        { locationId, events: accepted },
        "contact poll found changes that no webhook delivered",
      );
    return accepted;
  }
}
