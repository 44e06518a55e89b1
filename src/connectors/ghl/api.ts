import { ApiError } from "../../engine/errors.js";
import type {
  CallContext,
  GhlApi,
  GhlCustomFieldDefinition,
  GhlRecord,
  GhlSearchBody,
} from "../../engine/ports.js";
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
