import { changedFields, mergeHashes } from "../mapping/contact-mapping.js";
import { toInstant } from "../mapping/transforms.js";
import { finish, mergeLinks } from "./completion.js";
import { DUE_DATE_FILLED_BY_COOPEL } from "./coopel-task-sync.js";
import { ApiError, AttemptError } from "./errors.js";
import type {
  CallContext,
  Completion,
  CoopelClient,
  GhlApi,
  GhlRecord,
  Job,
  Link,
  Store,
} from "./ports.js";

/** GHL task event types; `TaskSnapshot` is a task as the task poll read it. */
export const TASK_EVENT_TYPES = [
  "TaskCreate",
  "TaskComplete",
  "TaskDelete",
  "TaskSnapshot",
] as const;

/**
 * Returns the link of a GHL contact, syncing the contact from GHL first when
 * it has none yet. `links` are the links that sync produced, to be stored
 * with the calling job. `link` is null when GHL has no such contact.
 */
export type ContactLinker = (
  locationId: string,
  contactId: string,
  context: CallContext,
  /** The calling job's attempt; after the first, a contact an earlier attempt created is looked up before creating. */
  attempt: number,
) => Promise<{ link: Link | null; links: Link[]; warnings: string[] }>;

export interface TaskSyncOptions {
  store: Store;
  coopel: CoopelClient;
  ghl: GhlApi;
  linkContact: ContactLinker;
  /** The IANA time zone for due dates without an offset in a location. */
  timeZoneOf: (locationId: string) => string;
  missingDueDate: "omit" | "created_plus_days";
  dueInDays: number;
  /** Maximum pages of the location task search when a task's contact is unknown. */
  searchPages?: number;
  now?: () => number;
}

const SEARCH_PAGE_SIZE = 100;

/**
 * Turns GHL task events into Coopel task writes. GHL sends no TaskUpdate
 * and no `completed` flag, and TaskCreate may lack `contactId` or `body`,
 * so an incomplete payload is completed by reading the task from GHL first.
 */
export class TaskSync {
  private readonly now: () => number;

  constructor(private readonly options: TaskSyncOptions) {
    this.now = options.now ?? Date.now;
  }

  async handle(job: Job): Promise<Completion> {
    const context: CallContext = { requests: [] };
    try {
      return await this.run(job, context);
    } catch (error) {
      throw new AttemptError(error, context.requests);
    }
  }

  private async run(job: Job, context: CallContext): Promise<Completion> {
    const { event } = job;
    const { coopel, store } = this.options;
    const locationId = event.accountId;
    const taskId = event.payload.id;
    if (typeof taskId !== "string" || taskId === "")
      return finish("skipped", "missing_task_id", [], context);
    const link = await store.getLink("task", locationId, taskId);

    if (event.type === "TaskDelete") {
      if (!coopel.supports("delete_task"))
        return finish("unsupported", "unsupported:delete_task", [], context);
      return this.delete(locationId, taskId, link, context);
    }
    if (!coopel.supports("create_task"))
      return finish("unsupported", "unsupported:create_task", [], context);
    if (link?.deletedAt != null)
      return finish("skipped", "deleted_in_ghl", [], context);

    const task = await this.completeTask(
      locationId,
      event.payload,
      link,
      context,
    );
    if (task === null)
      return finish("skipped", "task_not_found_in_ghl", [], context);
    const contactId = task.contactId as string;
    const contact = await this.options.linkContact(
      locationId,
      contactId,
      context,
      job.attempt,
    );
    const warnings = [...contact.warnings];
    if (contact.link === null)
      return finish(
        "skipped",
        "contact_not_found",
        contact.links,
        context,
        warnings,
      );
    if (contact.link.deletedAt !== null || contact.link.coopelId === null)
      return finish(
        "skipped",
        "contact_deleted",
        contact.links,
        context,
        warnings,
      );

    if (event.type === "TaskComplete") task.completed = true;
    // A new task is open unless GHL says otherwise; stating it keeps a later poll from resending it.
    else if (typeof task.completed !== "boolean" && event.type === "TaskCreate")
      task.completed = false;
    const body = this.toCoopel(locationId, task, warnings);
    const coopelContactId = contact.link.coopelId;

    let result: { reason: string; link: Link | null };
    if (
      link?.coopelId != null &&
      (link.parentGhlId ?? contactId) === contactId
    ) {
      result = await this.update(link, coopelContactId, body, context);
    } else {
      if (link?.coopelId != null) {
        // Reassigned to another contact: Coopel has no move route, so the task is recreated there.
        await this.removeFromCoopel(locationId, link, context);
      }
      const created = await coopel.createTask(coopelContactId, body, context);
      result = {
        reason: link?.coopelId != null ? "moved" : "created",
        link: {
          entity: "task",
          ghlLocationId: locationId,
          ghlId: task.id as string,
          coopelAccountId: coopel.accountId,
          coopelId: created.id,
          fieldHashes: this.createdHashes(locationId, body, created.record),
          deletedAt: null,
          updatedAt: this.now(),
          parentGhlId: contactId,
        },
      };
    }
    const links = mergeLinks(contact.links, result.link ? [result.link] : []);
    let outcome: Completion["outcome"] = "skipped";
    if (result.link) outcome = "synced";
    else if (result.reason.startsWith("unsupported:")) outcome = "unsupported";
    return finish(outcome, result.reason, links, context, warnings);
  }

  /**
   * Returns the task with `contactId`, `title` and `body` known, reading it
   * from GHL when the payload lacks any of them. When even the contact is
   * unknown, the location task search finds it; when that fails too the
   * attempt fails, so the event is retried later instead of written to the
   * wrong contact or none. Returns null when GHL no longer has the task.
   */
  private async completeTask(
    locationId: string,
    payload: Record<string, unknown>,
    link: Link | null,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    const task: GhlRecord = { ...payload };
    const complete =
      typeof task.contactId === "string" &&
      task.contactId !== "" &&
      typeof task.title === "string" &&
      Object.hasOwn(task, "body");
    if (complete) return task;

    let contactId =
      typeof task.contactId === "string" && task.contactId !== ""
        ? task.contactId
        : (link?.parentGhlId ?? null);
    if (contactId !== null) {
      const fetched = await this.options.ghl.getTask(
        locationId,
        contactId,
        task.id as string,
        context,
      );
      if (fetched === null) return null;
      return { ...fetched, ...definedOnly(task), contactId };
    }
    const found = await this.searchTask(locationId, task.id as string, context);
    if (found === null)
      throw new Error(
        `task ${String(task.id)} has no contactId and the location task search did not find it; retrying later`,
      );
    contactId = found.contactId as string;
    return { ...found, ...definedOnly(task), contactId };
  }

  private async searchTask(
    locationId: string,
    taskId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    const pages = this.options.searchPages ?? 10;
    for (let page = 0; page < pages; page += 1) {
      const tasks = await this.options.ghl.searchTasks(
        locationId,
        { limit: SEARCH_PAGE_SIZE, skip: page * SEARCH_PAGE_SIZE },
        context,
      );
      const match = tasks.find(
        (t) =>
          (t.id ?? t._id) === taskId &&
          typeof t.contactId === "string" &&
          t.contactId !== "",
      );
      if (match) return { ...match, id: taskId };
      if (tasks.length < SEARCH_PAGE_SIZE) return null;
    }
    return null;
  }

  /**
   * Returns the hashes of a task just created on Coopel. A due date that
   * Coopel filled in itself counts as known, so that it is not taken for a
   * Coopel change. When the response lacks one, the first Coopel event of
   * the task records it.
   */
  private createdHashes(
    locationId: string,
    body: Record<string, unknown>,
    record: Record<string, unknown>,
  ): Record<string, string> {
    const hashes = mergeHashes({}, body);
    if (body.due_date !== undefined) return hashes;
    const filled = record.due_date;
    if (typeof filled !== "string" || filled.trim() === "")
      return { ...hashes, due_date: DUE_DATE_FILLED_BY_COOPEL };
    try {
      const instant = toInstant(filled, this.options.timeZoneOf(locationId));
      return mergeHashes(hashes, { due_date: instant });
    } catch {
      return { ...hashes, due_date: DUE_DATE_FILLED_BY_COOPEL };
    }
  }

  /** The Coopel task body: title, body, due_date, assigned_to and completed, each only when known. */
  private toCoopel(
    locationId: string,
    task: GhlRecord,
    warnings: string[],
  ): Record<string, unknown> {
    const body: Record<string, unknown> = {};
    if (typeof task.title === "string") body.title = task.title;
    if (Object.hasOwn(task, "body") && task.body !== undefined)
      body.body = task.body;
    if (typeof task.assignedTo === "string" || task.assignedTo === null)
      body.assigned_to = task.assignedTo;
    if (typeof task.completed === "boolean") body.completed = task.completed;
    const due = this.dueDate(locationId, task, warnings);
    if (due !== undefined) body.due_date = due;
    return body;
  }

  /** The due date as a UTC instant, or undefined when none is to be sent. */
  private dueDate(
    locationId: string,
    task: GhlRecord,
    warnings: string[],
  ): string | undefined {
    const timeZone = this.options.timeZoneOf(locationId);
    if (typeof task.dueDate === "string" && task.dueDate.trim() !== "") {
      try {
        return toInstant(task.dueDate, timeZone);
      } catch (error) {
        warnings.push(
          `dueDate: ${(error as Error).message}; due date not sent`,
        );
        return undefined;
      }
    }
    if (this.options.missingDueDate === "omit") return undefined;
    const added =
      typeof task.dateAdded === "string" ? Date.parse(task.dateAdded) : NaN;
    const base = Number.isNaN(added) ? this.now() : added;
    return new Date(base + this.options.dueInDays * 86_400_000).toISOString();
  }

  private async update(
    link: Link,
    coopelContactId: string,
    body: Record<string, unknown>,
    context: CallContext,
  ): Promise<{ reason: string; link: Link | null }> {
    const { coopel } = this.options;
    const changed = changedFields(body, link.fieldHashes);
    if (Object.keys(changed).length === 0)
      return { reason: "no_change", link: null };
    const { completed, ...fields } = changed;
    if (Object.keys(fields).length > 0) {
      if (!coopel.supports("update_task"))
        return { reason: "unsupported:update_task", link: null };
      await coopel.updateTask(coopelContactId, link.coopelId!, fields, context);
    }
    if (typeof completed === "boolean") {
      if (coopel.supports("complete_task"))
        await coopel.completeTask(
          coopelContactId,
          link.coopelId!,
          completed,
          context,
        );
      else if (coopel.supports("update_task"))
        await coopel.updateTask(
          coopelContactId,
          link.coopelId!,
          { completed },
          context,
        );
    }
    return {
      reason:
        typeof completed === "boolean"
          ? completed
            ? "completed"
            : "reopened"
          : "updated",
      link: {
        ...link,
        fieldHashes: mergeHashes(link.fieldHashes, changed),
        updatedAt: this.now(),
      },
    };
  }

  private async delete(
    locationId: string,
    taskId: string,
    link: Link | null,
    context: CallContext,
  ): Promise<Completion> {
    const tombstone: Link = {
      ...(link ?? {
        entity: "task",
        ghlLocationId: locationId,
        ghlId: taskId,
        coopelAccountId: this.options.coopel.accountId,
        coopelId: null,
        fieldHashes: {},
        parentGhlId: null,
      }),
      deletedAt: this.now(),
      updatedAt: this.now(),
    };
    if (link?.deletedAt != null)
      return finish("skipped", "already_deleted", [], context);
    if (link?.coopelId == null)
      return finish("skipped", "unknown_task", [tombstone], context);
    const removed = await this.removeFromCoopel(locationId, link, context);
    return finish(
      removed ? "synced" : "skipped",
      removed ? "deleted" : "contact_unlinked",
      [tombstone],
      context,
    );
  }

  /** Deletes the linked Coopel task; a 404 counts as done. Returns false when the parent contact is not linked. */
  private async removeFromCoopel(
    locationId: string,
    link: Link,
    context: CallContext,
  ): Promise<boolean> {
    const parent = link.parentGhlId
      ? await this.options.store.getLink(
          "contact",
          locationId,
          link.parentGhlId,
        )
      : null;
    if (!parent?.coopelId) return false;
    try {
      await this.options.coopel.deleteTask(
        parent.coopelId,
        link.coopelId!,
        context,
      );
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    return true;
  }
}

function definedOnly(record: GhlRecord): GhlRecord {
  const result: GhlRecord = {};
  for (const [key, value] of Object.entries(record))
    if (value !== undefined && value !== null) result[key] = value;
  return result;
}
