import { ApiError } from "../../engine/errors.js";
import type {
  CallContext,
  GhlApi,
  GhlContactWrite,
  GhlCreateResult,
  GhlCustomFieldDefinition,
  GhlRecord,
  GhlSearchBody,
} from "../../engine/ports.js";
import {
  stripToAllowList,
  type GhlWriteOperation,
} from "../../mapping/ghl-allow-list.js";
import { messageOf, type GhlHttpClient } from "./client.js";

/** The GhlApi port on GHL's REST API v2. */
export class GhlRestApi implements GhlApi {
  constructor(private readonly http: GhlHttpClient) {}

  async getContact(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    return this.readOrNull(
      locationId,
      "GET",
      `/contacts/${encodeURIComponent(contactId)}`,
      "contact",
      context,
    );
  }

  async getTask(
    locationId: string,
    contactId: string,
    taskId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    return this.readOrNull(
      locationId,
      "GET",
      `/contacts/${encodeURIComponent(contactId)}/tasks/${encodeURIComponent(taskId)}`,
      "task",
      context,
    );
  }

  async getNote(
    locationId: string,
    contactId: string,
    noteId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    return this.readOrNull(
      locationId,
      "GET",
      `/contacts/${encodeURIComponent(contactId)}/notes/${encodeURIComponent(noteId)}`,
      "note",
      context,
    );
  }

  async searchTasks(
    locationId: string,
    query: { contactIds?: string[]; limit: number; skip: number },
    context: CallContext,
  ): Promise<GhlRecord[]> {
    const body: Record<string, unknown> = {
      limit: query.limit,
      skip: query.skip,
    };
    if (query.contactIds) body.contactId = query.contactIds;
    const response = await this.http.request(
      locationId,
      "POST",
      `/locations/${encodeURIComponent(locationId)}/tasks/search`,
      { body, context },
    );
    return recordsIn(response, "tasks");
  }

  async searchContacts(
    locationId: string,
    body: GhlSearchBody,
    context: CallContext,
  ): Promise<{ contacts: GhlRecord[]; total: number | null }> {
    const response = await this.http.request(
      locationId,
      "POST",
      "/contacts/search",
      { body: { locationId, ...body }, context },
    );
    const total = (response as { total?: unknown } | null)?.total;
    return {
      contacts: recordsIn(response, "contacts"),
      total: typeof total === "number" ? total : null,
    };
  }

  async listCustomFields(
    locationId: string,
    context: CallContext,
  ): Promise<GhlCustomFieldDefinition[]> {
    const response = await this.http.request(
      locationId,
      "GET",
      `/locations/${encodeURIComponent(locationId)}/customFields`,
      { query: { model: "contact" }, context },
    );
    return recordsIn(response, "customFields")
      .filter((field) => typeof field.id === "string")
      .map((field) => ({
        id: field.id as string,
        name: typeof field.name === "string" ? field.name : "",
        fieldKey: typeof field.fieldKey === "string" ? field.fieldKey : "",
        dataType: typeof field.dataType === "string" ? field.dataType : "TEXT",
      }));
  }

  async getBusiness(
    locationId: string,
    businessId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    return this.readOrNull(
      locationId,
      "GET",
      `/businesses/${encodeURIComponent(businessId)}`,
      "business",
      context,
    );
  }

  async listAppointments(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<GhlRecord[]> {
    const response = await this.http.request(
      locationId,
      "GET",
      `/contacts/${encodeURIComponent(contactId)}/appointments`,
      { context },
    );
    return recordsIn(response, "events");
  }

  async createContact(
    locationId: string,
    write: GhlContactWrite,
    context: CallContext,
  ): Promise<GhlCreateResult> {
    const { body, stripped } = writeBody("create-contact", write);
    body.locationId = locationId;
    try {
      const response = await this.http.request(
        locationId,
        "POST",
        "/contacts/",
        { body, context },
      );
      const record = recordIn(response, "contact");
      if (record === null || typeof record.id !== "string")
        throw new Error(
          `GHL POST /contacts/ returned no contact.id for location ${locationId}, so the contact may exist without a link; check GHL for it`,
        );
      return { id: record.id, record, duplicate: false, stripped };
    } catch (error) {
      const existing = duplicateContactId(error);
      if (existing === null) throw error;
      return { id: existing, record: null, duplicate: true, stripped };
    }
  }

  async updateContact(
    locationId: string,
    contactId: string,
    write: GhlContactWrite,
    context: CallContext,
  ): Promise<GhlRecord> {
    const { body } = writeBody("update-contact", write);
    const response = await this.http.request(
      locationId,
      "PUT",
      `/contacts/${encodeURIComponent(contactId)}`,
      { body, context },
    );
    return recordIn(response, "contact") ?? { id: contactId };
  }

  async addTags(
    locationId: string,
    contactId: string,
    tags: string[],
    context: CallContext,
  ): Promise<string[] | null> {
    const response = await this.http.request(
      locationId,
      "POST",
      `/contacts/${encodeURIComponent(contactId)}/tags`,
      { body: { tags }, context },
    );
    return tagsIn(response);
  }

  async removeTags(
    locationId: string,
    contactId: string,
    tags: string[],
    context: CallContext,
  ): Promise<string[] | null> {
    const response = await this.http.request(
      locationId,
      "DELETE",
      `/contacts/${encodeURIComponent(contactId)}/tags`,
      { body: { tags }, context },
    );
    return tagsIn(response);
  }

  async deleteContact(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<void> {
    try {
      await this.http.request(
        locationId,
        "DELETE",
        `/contacts/${encodeURIComponent(contactId)}`,
        { context },
      );
    } catch (error) {
      if (error instanceof ApiError && isNotFound(error)) return;
      throw error;
    }
  }

  async createTask(
    locationId: string,
    contactId: string,
    body: GhlRecord,
    context: CallContext,
  ): Promise<GhlRecord & { id: string }> {
    const response = await this.http.request(
      locationId,
      "POST",
      `/contacts/${encodeURIComponent(contactId)}/tasks`,
      { body, context },
    );
    const record = recordIn(response, "task");
    if (record === null || typeof record.id !== "string")
      throw new Error(
        `GHL POST /contacts/${contactId}/tasks returned no task.id for location ${locationId}, so the task may exist without a link; check GHL for it`,
      );
    return { ...record, id: record.id };
  }

  async updateTask(
    locationId: string,
    contactId: string,
    taskId: string,
    body: GhlRecord,
    context: CallContext,
  ): Promise<void> {
    await this.http.request(
      locationId,
      "PUT",
      `/contacts/${encodeURIComponent(contactId)}/tasks/${encodeURIComponent(taskId)}`,
      { body, context },
    );
  }

  async completeTask(
    locationId: string,
    contactId: string,
    taskId: string,
    completed: boolean,
    context: CallContext,
  ): Promise<void> {
    await this.http.request(
      locationId,
      "PUT",
      `/contacts/${encodeURIComponent(contactId)}/tasks/${encodeURIComponent(taskId)}/completed`,
      { body: { completed }, context },
    );
  }

  async deleteTask(
    locationId: string,
    contactId: string,
    taskId: string,
    context: CallContext,
  ): Promise<void> {
    try {
      await this.http.request(
        locationId,
        "DELETE",
        `/contacts/${encodeURIComponent(contactId)}/tasks/${encodeURIComponent(taskId)}`,
        { context },
      );
    } catch (error) {
      if (error instanceof ApiError && isNotFound(error)) return;
      throw error;
    }
  }

  async findDuplicate(
    locationId: string,
    lookup: { email?: string; phone?: string },
    context: CallContext,
  ): Promise<GhlRecord | null> {
    const query: Record<string, string | undefined> = { locationId };
    if (lookup.email !== undefined) query.email = lookup.email;
    if (lookup.phone !== undefined) query.number = lookup.phone;
    const response = await this.http.request(
      locationId,
      "GET",
      "/contacts/search/duplicate",
      { query, context },
    );
    return recordIn(response, "contact");
  }

  /**
   * Reads one record and returns the object under `key`, or null when GHL
   * reports the record missing. The method is a parameter so that every
   * call site names its route as `"GET", \`/path\``, which the operations
   * catalog reads to mark the routes in use.
   */
  private async readOrNull(
    locationId: string,
    method: "GET",
    path: string,
    key: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    try {
      const response = await this.http.request(locationId, method, path, {
        context,
      });
      return recordIn(response, key);
    } catch (error) {
      if (error instanceof ApiError && isNotFound(error)) return null;
      throw error;
    }
  }
}

function recordsIn(response: unknown, key: string): GhlRecord[] {
  if (response === null || typeof response !== "object") return [];
  const list = (response as Record<string, unknown>)[key];
  if (!Array.isArray(list)) return [];
  return list.filter(
    (item): item is GhlRecord => item !== null && typeof item === "object",
  );
}

/**
 * GHL reports a missing record as 404, or as 400 with a "not found"
 * message on some routes.
 */
export function isNotFound(error: ApiError): boolean {
  if (error.status === 404) return true;
  return error.status === 400 && /not found/i.test(messageOf(error.body));
}

function recordIn(response: unknown, key: string): GhlRecord | null {
  if (response === null || typeof response !== "object") return null;
  const inner = (response as Record<string, unknown>)[key];
  return inner !== null && typeof inner === "object"
    ? (inner as GhlRecord)
    : null;
}

/**
 * Builds a contact write body: custom fields in GHL's write form
 * `{id, field_value}`, `tags` removed (tags change only through the tags
 * routes), and every field the operation's request schema lacks removed.
 */
export function writeBody(
  operation: Extract<GhlWriteOperation, "create-contact" | "update-contact">,
  write: GhlContactWrite,
): { body: Record<string, unknown>; stripped: string[] } {
  const draft: Record<string, unknown> = { ...write.fields };
  delete draft.tags;
  delete draft.customFields;
  const custom = Object.entries(write.customFields ?? {});
  if (custom.length > 0)
    draft.customFields = custom.map(([id, value]) => ({
      id,
      field_value: value,
    }));
  return stripToAllowList(operation, draft);
}

/**
 * Returns the existing contact's id from GHL's 400 "This location does not allow
 * duplicated contacts." (`meta.contactId`), or null for any other error.
 */
export function duplicateContactId(error: unknown): string | null {
  if (!(error instanceof ApiError) || error.status !== 400) return null;
  const body = error.body;
  if (body === null || typeof body !== "object") return null;
  const meta = (body as { meta?: unknown }).meta;
  if (meta === null || typeof meta !== "object") return null;
  const id = (meta as { contactId?: unknown }).contactId;
  return typeof id === "string" && id !== "" ? id : null;
}

function tagsIn(response: unknown): string[] | null {
  if (response === null || typeof response !== "object") return null;
  const tags = (response as { tags?: unknown }).tags;
  return Array.isArray(tags)
    ? tags.filter((tag): tag is string => typeof tag === "string")
    : null;
}
