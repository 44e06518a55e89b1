import type { Config } from "../../config/schema.js";
import type {
  CallContext,
  CoopelClient,
  CoopelLookup,
  CoopelOperation,
  CoopelRecord,
} from "../../engine/ports.js";
import { ApiError, UnsupportedRouteError } from "../../engine/errors.js";
import { requestJson, type RequestRateLimiter } from "../http.js";
import {
  ClientCredentialsToken,
  StaticCoopelToken,
  type CoopelTokenProvider,
} from "./tokens.js";

type CoopelConfig = Config["coopel"];

/**
 * The Coopel REST API as configured: base URL, bearer token, routes and the
 * id field all come from config, with Coopel's documented routes as defaults.
 */
export class CoopelRestClient implements CoopelClient {
  readonly accountId: string;
  readonly externalIdField: string | null;

  private readonly tokens: CoopelTokenProvider;

  constructor(
    private readonly config: CoopelConfig,
    private readonly rateLimiter?: RequestRateLimiter,
  ) {
    this.tokens = coopelTokenProvider(config);
    this.accountId = config.account_id;
    this.externalIdField = config.external_id_field;
  }

  async createContact(
    body: CoopelRecord,
    context: CallContext,
  ): Promise<{ id: string; record: CoopelRecord }> {
    const response = await this.send(
      "create_contact",
      "POST",
      {},
      context,
      body,
    );
    const record = this.unwrap(response, "contact");
    return { id: this.idOf(record, "create_contact"), record };
  }

  async updateContact(
    id: string,
    body: CoopelRecord,
    context: CallContext,
  ): Promise<CoopelRecord> {
    const response = await this.send(
      "update_contact",
      "PUT",
      { contactId: id },
      context,
      body,
    );
    return this.unwrap(response, "contact");
  }

  /** Reads one contact; null when Coopel answers 404. */
  async getContact(
    id: string,
    context: CallContext,
  ): Promise<CoopelRecord | null> {
    try {
      const response = await this.send(
        "get_contact",
        "GET",
        { contactId: id },
        context,
      );
      return this.unwrap(response, "contact");
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  async deleteContact(id: string, context: CallContext): Promise<void> {
    await this.send("delete_contact", "DELETE", { contactId: id }, context);
  }

  async findContacts(
    lookup: CoopelLookup,
    context: CallContext,
  ): Promise<{ id: string; record: CoopelRecord }[]> {
    const query: Record<string, string | undefined> = {
      email: lookup.email,
      phone: lookup.phone,
    };
    if (this.externalIdField && lookup.externalId !== undefined)
      query[this.externalIdField] = lookup.externalId;
    const response = await this.send(
      "list_contacts",
      "GET",
      {},
      context,
      undefined,
      query,
    );
    const list = (response as { contacts?: unknown } | null)?.contacts;
    if (!Array.isArray(list)) return [];
    return list
      .filter(
        (item): item is CoopelRecord =>
          item !== null && typeof item === "object",
      )
      .map((record) => ({ id: this.idOf(record, "list_contacts"), record }));
  }

  /**
   * Reads one page of the contact list with the given query parameters.
   * Returns the contacts and the `next_cursor` of the response, or null
   * when it has none.
   */
  async listContactsPage(
    query: Record<string, string>,
    context: CallContext,
  ): Promise<{ contacts: CoopelRecord[]; nextCursor: string | null }> {
    const response = await this.send(
      "list_contacts",
      "GET",
      {},
      context,
      undefined,
      query,
    );
    const body = (response ?? {}) as {
      contacts?: unknown;
      next_cursor?: unknown;
    };
    const contacts = Array.isArray(body.contacts)
      ? body.contacts.filter(
          (item): item is CoopelRecord =>
            item !== null && typeof item === "object",
        )
      : [];
    const nextCursor =
      typeof body.next_cursor === "string" && body.next_cursor !== ""
        ? body.next_cursor
        : null;
    return { contacts, nextCursor };
  }

  /** Reads one page of the contact list by cursor, each contact with its id. */
  async listContacts(
    page: { cursor: string | null; limit: number },
    context: CallContext,
  ): Promise<{
    contacts: { id: string; record: CoopelRecord }[];
    nextCursor: string | null;
  }> {
    const query: Record<string, string> = { limit: String(page.limit) };
    if (page.cursor !== null) query.cursor = page.cursor;
    const { contacts, nextCursor } = await this.listContactsPage(
      query,
      context,
    );
    return {
      contacts: contacts.map((record) => ({
        id: this.idOf(record, "list_contacts"),
        record,
      })),
      nextCursor,
    };
  }

  supports(operation: CoopelOperation): boolean {
    return this.config.routes[operation] !== null;
  }

  async addTags(
    contactId: string,
    tags: string[],
    context: CallContext,
  ): Promise<void> {
    await this.send("add_tags", "POST", { contactId }, context, { tags });
  }

  async removeTags(
    contactId: string,
    tags: string[],
    context: CallContext,
  ): Promise<void> {
    await this.send("remove_tags", "DELETE", { contactId }, context, { tags });
  }

  async createTask(
    contactId: string,
    body: CoopelRecord,
    context: CallContext,
  ): Promise<{ id: string; record: CoopelRecord }> {
    const response = await this.send(
      "create_task",
      "POST",
      { contactId },
      context,
      body,
    );
    const record = this.unwrap(response, "task");
    return { id: this.idOf(record, "create_task"), record };
  }

  async updateTask(
    contactId: string,
    taskId: string,
    body: CoopelRecord,
    context: CallContext,
  ): Promise<void> {
    await this.send("update_task", "PUT", { contactId, taskId }, context, body);
  }

  async completeTask(
    contactId: string,
    taskId: string,
    completed: boolean,
    context: CallContext,
  ): Promise<void> {
    await this.send("complete_task", "PUT", { contactId, taskId }, context, {
      completed,
    });
  }

  async deleteTask(
    contactId: string,
    taskId: string,
    context: CallContext,
  ): Promise<void> {
    await this.send("delete_task", "DELETE", { contactId, taskId }, context);
  }

  async createNote(
    contactId: string,
    body: CoopelRecord,
    context: CallContext,
  ): Promise<{ id: string; record: CoopelRecord }> {
    const response = await this.send(
      "create_note",
      "POST",
      { contactId },
      context,
      body,
    );
    const record = this.unwrap(response, "note");
    return { id: this.idOf(record, "create_note"), record };
  }

  async updateNote(
    contactId: string,
    noteId: string,
    body: CoopelRecord,
    context: CallContext,
  ): Promise<void> {
    await this.send("update_note", "PUT", { contactId, noteId }, context, body);
  }

  async deleteNote(
    contactId: string,
    noteId: string,
    context: CallContext,
  ): Promise<void> {
    await this.send("delete_note", "DELETE", { contactId, noteId }, context);
  }

  private async send(
    route: keyof CoopelConfig["routes"],
    method: string,
    params: Record<string, string>,
    context: CallContext,
    body?: unknown,
    query?: Record<string, string | undefined>,
  ): Promise<unknown> {
    const template = this.config.routes[route];
    if (template === null) throw new UnsupportedRouteError(route);
    const path = template.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
      const value = params[name];
      if (value === undefined)
        throw new Error(`Coopel route ${route} needs :${name}`);
      return encodeURIComponent(value);
    });
    const send = (token: string) =>
      requestJson({
        system: "Coopel",
        baseUrl: this.config.base_url,
        method,
        path,
        query,
        body,
        headers: { authorization: `Bearer ${token}` },
        timeoutMs: this.config.timeout_ms,
        log: context.requests,
        account: { system: "coopel", accountId: this.accountId },
        rateLimiter: this.rateLimiter,
        priority: context.priority,
      });
    const token = await this.tokens.getToken();
    try {
      return await send(token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      const fresh = await this.tokens.refreshAfterUnauthorized(token);
      if (fresh === null) throw error;
      return send(fresh);
    }
  }

  /** Accepts both `{contact: {...}}` and a bare record as the response shape. */
  private unwrap(response: unknown, key: string): CoopelRecord {
    if (response !== null && typeof response === "object") {
      const inner = (response as Record<string, unknown>)[key];
      if (inner !== null && typeof inner === "object")
        return inner as CoopelRecord;
      return response as CoopelRecord;
    }
    return {};
  }

  private idOf(record: CoopelRecord, route: string): string {
    const id = record[this.config.id_field];
    if (typeof id === "string" && id !== "") return id;
    if (typeof id === "number") return String(id);
    throw new Error(
      `Coopel ${route} returned a record without the id field "${this.config.id_field}"; set coopel.id_field to the field that holds the id`,
    );
  }
}

/** The token provider that coopel.token or coopel.oauth configures. */
export function coopelTokenProvider(config: CoopelConfig): CoopelTokenProvider {
  if (config.oauth !== undefined) {
    return new ClientCredentialsToken({
      tokenUrl: config.oauth.token_url,
      clientId: config.oauth.client_id,
      clientSecret: config.oauth.client_secret,
      scope: config.oauth.scope,
      refreshMarginMs: config.oauth.refresh_margin_ms,
      timeoutMs: config.timeout_ms,
    });
  }
  if (config.token === undefined)
    throw new Error("coopel.token or coopel.oauth must be set");
  return new StaticCoopelToken(config.token);
}
