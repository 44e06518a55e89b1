import { coopelContactEvent } from "./coopel-inbox.js";
import type {
  CallContext,
  CoopelRecord,
  InboxEvent,
  Logger,
  Queue,
  TwoWayStore,
} from "./ports.js";
import { timeOf } from "./two-way.js";

export interface CoopelPollerOptions {
  queue: Queue;
  store: TwoWayStore;
  logger: Logger;
  accountId: string;
  /** Reads one page of Coopel contacts with the given query parameters. */
  list: (
    query: Record<string, string>,
    context: CallContext,
  ) => Promise<{ contacts: CoopelRecord[]; nextCursor: string | null }>;
  intervalMs: number;
  pageSize: number;
  overlapMs: number;
  updatedSinceParam: string;
  limitParam: string;
  cursorParam: string;
  updatedAtField: string;
  /** Pages read per poll, which bounds the requests one poll spends; default 1000. */
  maxPages?: number;
}

/**
 * Finds Coopel contact changes for a Coopel that sends no webhooks. Each
 * poll requests contacts updated since the saved cursor minus a small
 * overlap, so records that share the cursor's timestamp are read again
 * instead of missed. The inbox drops the repeats, because each event's
 * delivery id is the record id and its update time. The cursor is
 * saved only after every page of the poll is in the inbox.
 */
export class CoopelPoller {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly options: CoopelPollerOptions) {}

  /** The store key of this account's cursor. */
  get cursorName(): string {
    return `coopel:${this.options.accountId}:contacts:updated_since`;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.pollOnce()
        .then(() => undefined)
        .catch((error: unknown) => {
          this.options.logger.warn(
            { err: error, accountId: this.options.accountId },
            "Coopel contact poll failed; the next poll starts again from the saved cursor",
          );
        })
        .finally(() => {
          this.running = null;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Polls once and returns the number of events the inbox accepted as new. */
  async pollOnce(): Promise<number> {
    const { options } = this;
    const saved = await options.store.getCursor(this.cursorName);
    const savedTime = saved === null ? null : Number(saved);
    const since =
      savedTime === null || !Number.isFinite(savedTime)
        ? 0
        : Math.max(0, savedTime - options.overlapMs);
    let newest = savedTime ?? 0;
    let pageCursor: string | null = null;
    let accepted = 0;
    const context: CallContext = { requests: [], priority: "background" };
    const maxPages = options.maxPages ?? 1000;

    for (let page = 0; page < maxPages; page += 1) {
      const query: Record<string, string> = {
        [options.updatedSinceParam]: new Date(since).toISOString(),
        [options.limitParam]: String(options.pageSize),
      };
      if (pageCursor !== null) query[options.cursorParam] = pageCursor;
      const result = await options.list(query, context);

      const events: InboxEvent[] = [];
      for (const contact of result.contacts) {
        if (typeof contact.id !== "string" || contact.id === "") continue;
        const updatedAt = timeOf(contact[options.updatedAtField]);
        if (updatedAt !== null) newest = Math.max(newest, updatedAt);
        events.push(
          await coopelContactEvent(options.store, {
            accountId: options.accountId,
            type: "contact.updated",
            contact,
            deliveryId: `poll:${contact.id}:${JSON.stringify(contact[options.updatedAtField] ?? null)}`,
            updatedAtField: options.updatedAtField,
          }),
        );
      }

      if (events.length > 0) {
        const results = await options.queue.enqueue(events);
        accepted += results.filter((r) => r === "accepted").length;
      }

      pageCursor = result.nextCursor;
      if (pageCursor === null) {
        await options.store.saveCursor(this.cursorName, String(newest));
        return accepted;
      }
    }
    // NOTE: a poll that hits maxPages keeps the old cursor, so the next poll reads the same pages again.
    options.logger.warn(
      { accountId: options.accountId, pages: maxPages },
      "Coopel contact poll stopped at its page limit before the last page; the cursor stays where it was",
    );
    return accepted;
  }
}
