import type {
  CallContext,
  CoopelClient,
  CoopelLookup,
  CoopelOperation,
  CoopelRecord,
  Logger,
} from "../../engine/ports.js";

/** A write the dry run did not send. */
export interface PlannedWrite {
  method: string;
  operation: string;
  contactId: string | null;
  body: unknown;
}

/**
 * The Coopel client of a dry run: reads go to Coopel, writes are logged as a
 * plan and not sent. A planned create returns the id `dry-run-N`, so that
 * later steps of the same job can refer to it.
 */
export class DryRunCoopelClient implements CoopelClient {
  readonly accountId: string;
  readonly externalIdField: string | null;
  private nextId = 1;

  constructor(
    private readonly real: CoopelClient,
    private readonly logger: Logger,
  ) {
    this.accountId = real.accountId;
    this.externalIdField = real.externalIdField;
  }

  private plan(write: PlannedWrite): void {
    this.logger.info(
      { dryRun: true, ...write },
      `dry run: would send ${write.method} ${write.operation} to Coopel`,
    );
  }

  supports(operation: CoopelOperation): boolean {
    return this.real.supports(operation);
  }

  findContacts(lookup: CoopelLookup, context: CallContext) {
    return this.real.findContacts(lookup, context);
  }

  getContact(id: string, context: CallContext) {
    return this.real.getContact(id, context);
  }

  listContacts(
    page: { cursor: string | null; limit: number },
    context: CallContext,
  ) {
    return this.real.listContacts(page, context);
  }

  createContact(body: CoopelRecord) {
    const id = `dry-run-${this.nextId++}`;
    this.plan({
      method: "POST",
      operation: "create_contact",
      contactId: null,
      body,
    });
    return Promise.resolve({ id, record: { ...body, id } });
  }

  updateContact(id: string, body: CoopelRecord) {
    this.plan({
      method: "PUT",
      operation: "update_contact",
      contactId: id,
      body,
    });
    return Promise.resolve({ ...body, id });
  }

  deleteContact(id: string) {
    this.plan({
      method: "DELETE",
      operation: "delete_contact",
      contactId: id,
      body: null,
    });
    return Promise.resolve();
  }

  addTags(contactId: string, tags: string[]) {
    this.plan({
      method: "POST",
      operation: "add_tags",
      contactId,
      body: { tags },
    });
    return Promise.resolve();
  }

  removeTags(contactId: string, tags: string[]) {
    this.plan({
      method: "DELETE",
      operation: "remove_tags",
      contactId,
      body: { tags },
    });
    return Promise.resolve();
  }

  createTask(contactId: string, body: CoopelRecord) {
    const id = `dry-run-${this.nextId++}`;
    this.plan({ method: "POST", operation: "create_task", contactId, body });
    return Promise.resolve({ id, record: { ...body, id } });
  }

  updateTask(contactId: string, taskId: string, body: CoopelRecord) {
    this.plan({
      method: "PUT",
      operation: `update_task ${taskId}`,
      contactId,
      body,
    });
    return Promise.resolve();
  }

  completeTask(contactId: string, taskId: string, completed: boolean) {
    this.plan({
      method: "PUT",
      operation: `complete_task ${taskId}`,
      contactId,
      body: { completed },
    });
    return Promise.resolve();
  }

  deleteTask(contactId: string, taskId: string) {
    this.plan({
      method: "DELETE",
      operation: `delete_task ${taskId}`,
      contactId,
      body: null,
    });
    return Promise.resolve();
  }

  createNote(contactId: string, body: CoopelRecord) {
    const id = `dry-run-${this.nextId++}`;
    this.plan({ method: "POST", operation: "create_note", contactId, body });
    return Promise.resolve({ id, record: { ...body, id } });
  }

  updateNote(contactId: string, noteId: string, body: CoopelRecord) {
    this.plan({
      method: "PUT",
      operation: `update_note ${noteId}`,
      contactId,
      body,
    });
    return Promise.resolve();
  }

  deleteNote(contactId: string, noteId: string) {
    this.plan({
      method: "DELETE",
      operation: `delete_note ${noteId}`,
      contactId,
      body: null,
    });
    return Promise.resolve();
  }
}
