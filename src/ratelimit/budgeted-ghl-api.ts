import type {
  CallContext,
  GhlApi,
  GhlContactWrite,
  GhlCreateResult,
  GhlCustomFieldDefinition,
  GhlRecord,
  GhlSearchBody,
} from "../engine/ports.js";
import {
  RateLimitDeferral,
  type AccountRateLimiter,
  type RequestPriority,
} from "./account-limiter.js";

/**
 * A GhlApi that takes each request from the location's budget before
 * sending it. A burst deferral waits until the budget allows the request,
 * so a long run (such as `rules apply`) slows down instead of failing. A
 * daily deferral is thrown, because waiting for the next day is no
 * choice for a command.
 */
export class BudgetedGhlApi implements GhlApi {
  constructor(
    private readonly api: GhlApi,
    private readonly limiter: AccountRateLimiter,
    private readonly priority: RequestPriority = "background",
  ) {}

  async getContact(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    await this.take(locationId);
    return this.api.getContact(locationId, contactId, context);
  }

  async getTask(
    locationId: string,
    contactId: string,
    taskId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    await this.take(locationId);
    return this.api.getTask(locationId, contactId, taskId, context);
  }

  async getNote(
    locationId: string,
    contactId: string,
    noteId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    await this.take(locationId);
    return this.api.getNote(locationId, contactId, noteId, context);
  }

  async searchTasks(
    locationId: string,
    query: { contactIds?: string[]; limit: number; skip: number },
    context: CallContext,
  ): Promise<GhlRecord[]> {
    await this.take(locationId);
    return this.api.searchTasks(locationId, query, context);
  }

  async searchContacts(
    locationId: string,
    body: GhlSearchBody,
    context: CallContext,
  ): Promise<{ contacts: GhlRecord[]; total: number | null }> {
    await this.take(locationId);
    return this.api.searchContacts(locationId, body, context);
  }

  async listCustomFields(
    locationId: string,
    context: CallContext,
  ): Promise<GhlCustomFieldDefinition[]> {
    await this.take(locationId);
    return this.api.listCustomFields(locationId, context);
  }

  async getBusiness(
    locationId: string,
    businessId: string,
    context: CallContext,
  ): Promise<GhlRecord | null> {
    await this.take(locationId);
    return this.api.getBusiness(locationId, businessId, context);
  }

  async listAppointments(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<GhlRecord[]> {
    await this.take(locationId);
    return this.api.listAppointments(locationId, contactId, context);
  }

  async createContact(
    locationId: string,
    body: GhlContactWrite,
    context: CallContext,
  ): Promise<GhlCreateResult> {
    await this.take(locationId);
    return this.api.createContact(locationId, body, context);
  }

  async updateContact(
    locationId: string,
    contactId: string,
    body: GhlContactWrite,
    context: CallContext,
  ): Promise<GhlRecord> {
    await this.take(locationId);
    return this.api.updateContact(locationId, contactId, body, context);
  }

  async addTags(
    locationId: string,
    contactId: string,
    tags: string[],
    context: CallContext,
  ): Promise<string[] | null> {
    await this.take(locationId);
    return this.api.addTags(locationId, contactId, tags, context);
  }

  async removeTags(
    locationId: string,
    contactId: string,
    tags: string[],
    context: CallContext,
  ): Promise<string[] | null> {
    await this.take(locationId);
    return this.api.removeTags(locationId, contactId, tags, context);
  }

  async deleteContact(
    locationId: string,
    contactId: string,
    context: CallContext,
  ): Promise<void> {
    await this.take(locationId);
    return this.api.deleteContact(locationId, contactId, context);
  }

  async createTask(
    locationId: string,
    contactId: string,
    body: GhlRecord,
    context: CallContext,
  ): Promise<GhlRecord & { id: string }> {
    await this.take(locationId);
    return this.api.createTask(locationId, contactId, body, context);
  }

  async updateTask(
    locationId: string,
    contactId: string,
    taskId: string,
    body: GhlRecord,
    context: CallContext,
  ): Promise<void> {
    await this.take(locationId);
    return this.api.updateTask(locationId, contactId, taskId, body, context);
  }

  async completeTask(
    locationId: string,
    contactId: string,
    taskId: string,
    completed: boolean,
    context: CallContext,
  ): Promise<void> {
    await this.take(locationId);
    return this.api.completeTask(
      locationId,
      contactId,
      taskId,
      completed,
      context,
    );
  }

  async deleteTask(
    locationId: string,
    contactId: string,
    taskId: string,
    context: CallContext,
  ): Promise<void> {
    await this.take(locationId);
    return this.api.deleteTask(locationId, contactId, taskId, context);
  }

  async findDuplicate(
    locationId: string,
    lookup: { email?: string; phone?: string },
    context: CallContext,
  ): Promise<GhlRecord | null> {
    await this.take(locationId);
    return this.api.findDuplicate(locationId, lookup, context);
  }

  private async take(locationId: string): Promise<void> {
    const account = { system: "ghl" as const, accountId: locationId };
    for (;;) {
      try {
        await this.limiter.acquire(account, this.priority);
        return;
      } catch (error) {
        if (!(error instanceof RateLimitDeferral) || error.limit !== "burst")
          throw error;
        const waitMs = Math.max(1, error.retryAt - Date.now());
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }
}
