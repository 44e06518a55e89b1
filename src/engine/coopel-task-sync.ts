import {
  changedFields,
  hashValue,
  mergeHashes,
} from "../mapping/contact-mapping.js";
import { toInstant } from "../mapping/transforms.js";
import { finish } from "./completion.js";
import { AttemptError, InvalidRecordError } from "./errors.js";
import type {
  CallContext,
  Completion,
  CoopelRecord,
  GhlApi,
  GhlRecord,
  Job,
  Link,
  Store,
  TwoWayStore,
} from "./ports.js";

/** Event types of Coopel tasks, as the Coopel webhook names them. */
export const COOPEL_TASK_EVENT_TYPES = [
  "task.created",
  "task.updated",
  "task.completed",
  "task.deleted",
] as const;

/**
 * The due date hash of a task the sync created on Coopel without a due
 * date. The first Coopel event of the task then records the due date
 * Coopel filled in, if any, as known instead of sending it to GHL.
 */
export const DUE_DATE_FILLED_BY_COOPEL = "filled-by-coopel";

export interface CoopelTaskSyncOptions {
  store: TwoWayStore;
  /** The link table, to check that a GHL task found by lookup is not linked to another Coopel task. */
  links: Store;
  ghl: GhlApi;
  coopelAccountId: string;
  /** The IANA time zone for due dates without an offset in a location. */
  timeZoneOf: (locationId: string) => string;
  /** Days after the Coopel task's creation that a task without a due date is due on GHL, which requires one. */
  dueInDays: number;
  now?: () => number;
}

/** Returns the task an event carries: `payload.task`, or the payload itself. */
export function coopelTaskOf(payload: Record<string, unknown>): CoopelRecord {
  const inner = payload.task;
  return inner !== null && typeof inner === "object"
    ? (inner as CoopelRecord)
    : payload;
}

/**
 * Turns Coopel task events into GHL task writes. Tasks are linked by id
 * like contacts, and each Coopel field is compared with the hash the link
 * keeps, so the Coopel webhooks of the sync's own writes send nothing back.
 * A task whose contact has no link yet fails its attempt and is retried,
 * and the later events of that contact wait behind it.
 */
export class CoopelTaskSync {
  private readonly now: () => number;

  constructor(private readonly options: CoopelTaskSyncOptions) {
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
    const { store, coopelAccountId: account } = this.options;
    // TODO: the task is taken from the event, not read again from Coopel, so a late event can write older values.
    const task = coopelTaskOf(job.event.payload);
    const coopelId = typeof task.id === "string" ? task.id : "";
    if (coopelId === "")
      return finish("skipped", "missing_task_id", [], context);
    const link = await store.getLinkByCoopelId("task", account, coopelId);
    if (link?.deletedAt != null)
      return finish("skipped", "already_deleted", [], context);
    if (job.event.type === "task.deleted") return this.delete(link, context);

    const contactCoopelId =
      typeof task.contact_id === "string" ? task.contact_id : "";
    if (contactCoopelId === "")
      return finish("skipped", "missing_contact_id", [], context);
    const contact = await store.getLinkByCoopelId(
      "contact",
      account,
      contactCoopelId,
    );
    if (contact?.deletedAt != null)
      return finish("skipped", "contact_deleted", [], context);
    if (contact === null)
      throw new Error(
        `Coopel task ${coopelId} belongs to Coopel contact ${contactCoopelId}, which is not linked to a GHL contact yet; the task is retried after the contact syncs`,
      );

    const fields = this.coopelFields(contact.ghlLocationId, coopelId, task);
    if (link?.coopelId != null) return this.update(link, fields, context);
    return this.create(contact, coopelId, task, fields, context);
  }

  /**
   * Returns the task's synced fields in the shape the GHL to Coopel
   * direction writes and hashes, with the due date as a UTC instant.
   * Throws InvalidRecordError for a due date that does not parse.
   */
  private coopelFields(
    locationId: string,
    coopelId: string,
    task: CoopelRecord,
  ): Record<string, unknown> {
    const fields: Record<string, unknown> = {};
    if (typeof task.title === "string") fields.title = task.title;
    if (Object.hasOwn(task, "body") && task.body !== undefined)
      fields.body = task.body;
    if (typeof task.assigned_to === "string" || task.assigned_to === null)
      fields.assigned_to = task.assigned_to;
    if (typeof task.completed === "boolean") fields.completed = task.completed;
    if (typeof task.due_date === "string" && task.due_date.trim() !== "") {
      const timeZone = this.options.timeZoneOf(locationId);
      try {
        fields.due_date = toInstant(task.due_date, timeZone);
      } catch (error) {
        throw new InvalidRecordError(
          `Coopel task ${coopelId} has an invalid due_date: ${(error as Error).message}; fix it on Coopel, or set the location's time_zone`,
          { cause: error },
        );
      }
    }
    return fields;
  }

  private async create(
    contact: Link,
    coopelId: string,
    task: CoopelRecord,
    fields: Record<string, unknown>,
    context: CallContext,
  ): Promise<Completion> {
    const { ghl } = this.options;
    const found = await this.findGhlTask(contact, fields, context);
    if (found !== null) {
      const link: Link = {
        entity: "task",
        ghlLocationId: contact.ghlLocationId,
        ghlId: found,
        coopelAccountId: this.options.coopelAccountId,
        coopelId,
        fieldHashes: mergeHashes({}, fields),
        deletedAt: null,
        updatedAt: this.now(),
        parentGhlId: contact.ghlId,
      };
      return finish("synced", "linked_existing", [link], context);
    }
    // A create has nothing to clear, so empty fields are left out.
    const body = Object.fromEntries(
      Object.entries(toGhl(fields)).filter(([, value]) => value !== null),
    );
    // GHL requires a due date, so a task without one is due `dueInDays` after its creation.
    let dueDate = fields.due_date;
    if (typeof dueDate !== "string") {
      const created =
        typeof task.created_at === "string" ? Date.parse(task.created_at) : NaN;
      const base = Number.isNaN(created) ? this.now() : created;
      dueDate = new Date(
        base + this.options.dueInDays * 86_400_000,
      ).toISOString();
      body.dueDate = dueDate;
    }
    body.completed = fields.completed === true;
    const created = await ghl.createTask(
      contact.ghlLocationId,
      contact.ghlId,
      body,
      context,
    );
    // The due date made up for GHL counts as known, so GHL's event of the create changes nothing on Coopel.
    const link: Link = {
      entity: "task",
      ghlLocationId: contact.ghlLocationId,
      ghlId: created.id,
      coopelAccountId: this.options.coopelAccountId,
      coopelId,
      fieldHashes: mergeHashes(
        {},
        { ...fields, due_date: dueDate, completed: body.completed },
      ),
      deletedAt: null,
      updatedAt: this.now(),
      parentGhlId: contact.ghlId,
    };
    return finish("synced", "created_in_ghl", [link], context);
  }

  /**
   * Returns the id of an unlinked GHL task of the contact with the same
   * title and due date, or null. Only the first 100 tasks of the contact
   * are checked. It catches the Coopel event of a task the
   * sync itself is still creating from GHL, which can run under another
   * queue key when GHL's event lacked contactId.
   */
  private async findGhlTask(
    contact: Link,
    fields: Record<string, unknown>,
    context: CallContext,
  ): Promise<string | null> {
    const tasks = await this.options.ghl.searchTasks(
      contact.ghlLocationId,
      { contactIds: [contact.ghlId], limit: 100, skip: 0 },
      context,
    );
    for (const task of tasks) {
      const id = task.id ?? task._id;
      if (typeof id !== "string" || task.title !== fields.title) continue;
      // A GHL task without a due date still matches, because Coopel may have filled one in.
      const due = fields.due_date;
      if (
        typeof due === "string" &&
        typeof task.dueDate === "string" &&
        Date.parse(task.dueDate) !== Date.parse(due)
      )
        continue;
      const linked = await this.options.links.getLink(
        "task",
        contact.ghlLocationId,
        id,
      );
      if (linked === null) return id;
    }
    return null;
  }

  private async update(
    link: Link,
    fields: Record<string, unknown>,
    context: CallContext,
  ): Promise<Completion> {
    let hashes = link.fieldHashes;
    const known = { ...fields };
    if (hashes.due_date === DUE_DATE_FILLED_BY_COOPEL) {
      // The first event after a create without due date: what Coopel filled in is its own, not a change.
      // NOTE: no test covers a Coopel that fills in the due date after its create response, because the sandbox fills it in the response.
      hashes = { ...hashes, due_date: hashValue(fields.due_date ?? null) };
      delete known.due_date;
    }
    const changed = changedFields(known, hashes);
    if (Object.keys(changed).length === 0) {
      const links =
        hashes === link.fieldHashes
          ? []
          : [{ ...link, fieldHashes: hashes, updatedAt: this.now() }];
      return finish("skipped", "no_change", links, context);
    }
    const { ghl } = this.options;
    const parent = link.parentGhlId;
    if (parent == null)
      throw new InvalidRecordError(
        `the link of Coopel task ${link.coopelId} does not name its GHL contact, so GHL task ${link.ghlId} cannot be updated; delete the task on one side and create it again`,
      );
    const { completed, ...rest } = changed;
    const body = toGhl(rest);
    if (Object.keys(body).length > 0)
      await ghl.updateTask(
        link.ghlLocationId,
        parent,
        link.ghlId,
        body,
        context,
      );
    if (typeof completed === "boolean")
      await ghl.completeTask(
        link.ghlLocationId,
        parent,
        link.ghlId,
        completed,
        context,
      );
    const updated: Link = {
      ...link,
      fieldHashes: mergeHashes(hashes, changed),
      updatedAt: this.now(),
    };
    return finish("synced", "updated_in_ghl", [updated], context);
  }

  private async delete(
    link: Link | null,
    context: CallContext,
  ): Promise<Completion> {
    if (link === null) return finish("skipped", "unknown_task", [], context);
    const tombstone: Link = {
      ...link,
      deletedAt: this.now(),
      updatedAt: this.now(),
    };
    if (link.parentGhlId == null)
      return finish("skipped", "contact_unknown", [tombstone], context);
    await this.options.ghl.deleteTask(
      link.ghlLocationId,
      link.parentGhlId,
      link.ghlId,
      context,
    );
    return finish("synced", "deleted_in_ghl", [tombstone], context);
  }
}

/** Maps Coopel task fields to GHL's task body; a null body or assignee is sent as null. */
function toGhl(fields: Record<string, unknown>): GhlRecord {
  const body: GhlRecord = {};
  if (fields.title !== undefined) body.title = fields.title;
  if (fields.body !== undefined) body.body = fields.body;
  if (fields.assigned_to !== undefined) body.assignedTo = fields.assigned_to;
  if (fields.due_date !== undefined) body.dueDate = fields.due_date;
  if (fields.completed !== undefined) body.completed = fields.completed;
  return body;
}
