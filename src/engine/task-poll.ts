import { createHash } from "node:crypto";
import type { GhlApi, InboxEvent, Logger, Queue } from "./ports.js";

export interface TaskPollerOptions {
  queue: Queue;
  ghl: GhlApi;
  logger: Logger;
  /** Locations whose tasks are polled, read before each round. */
  locationIds: () => string[] | Promise<string[]>;
  intervalMs: number;
  /** Tasks per search page; default 100. */
  pageSize?: number;
  /** Pages read per location and poll, which bounds the requests a poll spends; default 20. */
  maxPages?: number;
}

/**
 * Finds task changes that fire no webhook (edits, reassignment,
 * un-completing) by reading each location's tasks through the task search.
 * Each task whose content differs from the last poll goes into the inbox as
 * a `TaskSnapshot` event keyed by its contact, so it runs through the same
 * queue and handler as webhooks. The last content is kept in memory, so the
 * first poll after a start enqueues every task once; the handler then finds
 * most unchanged against the link and sends nothing.
 */
export class TaskPoller {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Content hash of each task at the last poll, by `locationId/taskId`. */
  private readonly lastSeen = new Map<string, string>();

  constructor(private readonly options: TaskPollerOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.pollAll().finally(() => {
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

  /** Polls every location of `locationIds` once; a failed location is logged and the rest still run. */
  async pollAll(): Promise<void> {
    let locationIds: string[];
    try {
      locationIds = await this.options.locationIds();
    } catch (error) {
      this.options.logger.warn(
        { err: error },
        "task poll skipped: the locations to poll could not be read",
      );
      return;
    }
    for (const locationId of locationIds) {
      try {
        await this.pollOnce(locationId);
      } catch (error) {
        this.options.logger.warn(
          { err: error, locationId },
          "task poll failed; the next poll tries again",
        );
      }
    }
  }

  /** Polls one location and returns the number of new snapshot events. */
  async pollOnce(locationId: string): Promise<number> {
    const pageSize = this.options.pageSize ?? 100;
    const maxPages = this.options.maxPages ?? 20;
    const events: InboxEvent[] = [];
    const seen: [string, string][] = [];
    const context = { requests: [] };
    for (let page = 0; page < maxPages; page += 1) {
      const tasks = await this.options.ghl.searchTasks(
        locationId,
        { limit: pageSize, skip: page * pageSize },
        context,
      );
      for (const task of tasks) {
        const id = typeof task.id === "string" ? task.id : task._id;
        const contactId = task.contactId;
        if (typeof id !== "string" || typeof contactId !== "string") continue;
        const content = createHash("sha256")
          .update(
            JSON.stringify([
              contactId,
              task.title,
              task.body,
              task.dueDate,
              task.completed,
              task.assignedTo,
            ]),
          )
          .digest("base64url")
          .slice(0, 16);
        const key = `${locationId}/${id}`;
        if (this.lastSeen.get(key) === content) continue;
        seen.push([key, content]);
        events.push({
          source: "ghl",
          accountId: locationId,
          type: "TaskSnapshot",
          orderingKey: `ghl:${locationId}:contact:${contactId}`,
          deliveryId: null,
          receivedAt: Date.now(),
          payload: { ...task, id, type: "TaskSnapshot", locationId },
        });
      }
      if (tasks.length < pageSize) break;
      if (page === maxPages - 1)
        this.options.logger.warn(
          { locationId, tasks: maxPages * pageSize },
          "task poll stopped at its page limit; later tasks are not checked in this poll",
        );
    }
    if (events.length === 0) return 0;
    const results = await this.options.queue.enqueue(events);
    // Remembered only once stored, so a failed enqueue is tried again next poll.
    for (const [key, content] of seen) this.lastSeen.set(key, content);
    return results.filter((result) => result === "accepted").length;
  }
}
