import type {
  CallContext,
  GhlApi,
  GhlContactWrite,
  GhlCreateResult,
  GhlRecord,
  GhlSearchBody,
  Logger,
} from "../../engine/ports.js";

/**
 * The GHL API of a dry run: reads go to GHL, writes are logged as a plan and
 * not sent. A planned create returns the id `dry-run-N`.
 */
export class DryRunGhlApi implements GhlApi {
  private nextId = 1;

  constructor(
    private readonly real: GhlApi,
    private readonly logger: Logger,
  ) {}

  private plan(
    method: string,
    operation: string,
    locationId: string,
    contactId: string | null,
    body: unknown,
  ): void {
    this.logger.info(
      { dryRun: true, method, operation, locationId, contactId, body },
      `dry run: would send ${method} ${operation} to GHL`,
    );
  }

  getContact(locationId: string, contactId: string, context: CallContext) {
    return this.real.getContact(locationId, contactId, context);
  }

  getTask(
    locationId: string,
    contactId: string,
    taskId: string,
    context: CallContext,
  ) {
    return this.real.getTask(locationId, contactId, taskId, context);
  }

  getNote(
    locationId: string,
    contactId: string,
    noteId: string,
    context: CallContext,
  ) {
    return this.real.getNote(locationId, contactId, noteId, context);
  }

  searchTasks(
    locationId: string,
    query: { contactIds?: string[]; limit: number; skip: number },
    context: CallContext,
  ) {
    return this.real.searchTasks(locationId, query, context);
  }

  searchContacts(
    locationId: string,
    body: GhlSearchBody,
    context: CallContext,
  ) {
    return this.real.searchContacts(locationId, body, context);
  }

  listCustomFields(locationId: string, context: CallContext) {
    return this.real.listCustomFields(locationId, context);
  }

  getBusiness(locationId: string, businessId: string, context: CallContext) {
    return this.real.getBusiness(locationId, businessId, context);
  }

  listAppointments(
    locationId: string,
    contactId: string,
    context: CallContext,
  ) {
    return this.real.listAppointments(locationId, contactId, context);
  }

  findDuplicate(
    locationId: string,
    lookup: { email?: string; phone?: string },
    context: CallContext,
  ) {
    return this.real.findDuplicate(locationId, lookup, context);
  }

  createContact(
    locationId: string,
    body: GhlContactWrite,
  ): Promise<GhlCreateResult> {
    const id = `dry-run-${this.nextId++}`;
    this.plan("POST", "create_contact", locationId, null, body);
    return Promise.resolve({
      id,
      record: { ...body.fields, id },
      duplicate: false,
      stripped: [],
    });
  }

  updateContact(
    locationId: string,
    contactId: string,
    body: GhlContactWrite,
  ): Promise<GhlRecord> {
    this.plan("PUT", "update_contact", locationId, contactId, body);
    return Promise.resolve({ ...body.fields, id: contactId });
  }

  addTags(locationId: string, contactId: string, tags: string[]) {
    this.plan("POST", "add_tags", locationId, contactId, { tags });
    return Promise.resolve(null);
  }

  removeTags(locationId: string, contactId: string, tags: string[]) {
    this.plan("DELETE", "remove_tags", locationId, contactId, { tags });
    return Promise.resolve(null);
  }

  deleteContact(locationId: string, contactId: string) {
    this.plan("DELETE", "delete_contact", locationId, contactId, {});
    return Promise.resolve();
  }

  createTask(locationId: string, contactId: string, body: GhlRecord) {
    const id = `dry-run-${this.nextId++}`;
    this.plan("POST", "create_task", locationId, contactId, body);
    return Promise.resolve({ ...body, id });
  }

  updateTask(
    locationId: string,
    contactId: string,
    taskId: string,
    body: GhlRecord,
  ) {
    this.plan("PUT", "update_task", locationId, contactId, { taskId, body });
    return Promise.resolve();
  }

  completeTask(
    locationId: string,
    contactId: string,
    taskId: string,
    completed: boolean,
  ) {
    this.plan("PUT", "complete_task", locationId, contactId, {
      taskId,
      completed,
    });
    return Promise.resolve();
  }

  deleteTask(locationId: string, contactId: string, taskId: string) {
    this.plan("DELETE", "delete_task", locationId, contactId, { taskId });
    return Promise.resolve();
  }
}
