import { randomUUID } from "node:crypto";
import {
  CoopelApiError,
  notFound,
  validateContactFields,
} from "./coopel-validation.js";

/** A Coopel contact: snake_case fields, including any extra field a caller stored. */
export interface CoopelContact {
  id: string;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

/** A task attached to a Coopel contact. */
export interface CoopelTask {
  id: string;
  contact_id: string;
  title: string;
  completed: boolean;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

/** A note attached to a Coopel contact. */
export interface CoopelNote {
  id: string;
  contact_id: string;
  body: string;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

/** An appointment of a Coopel contact; the sandbox only stores and lists them. */
export type CoopelAppointment = Record<string, unknown>;

/** Filters of `GET /contacts/`. */
export interface CoopelContactFilter {
  externalId?: string;
  email?: string;
  phone?: string;
  businessId?: string;
  updatedSince?: number;
}

/** A contact change, as the sandbox reports it in webhooks. */
export type CoopelChangeType =
  "contact.created" | "contact.updated" | "contact.deleted";

/** A task change, as the sandbox reports it in webhooks. */
export type CoopelTaskChangeType =
  "task.created" | "task.updated" | "task.completed" | "task.deleted";

/** In-memory Coopel data: contacts, and tasks, notes and appointments per contact id. */
export class CoopelStore {
  /** Called after every contact change, with a copy of the contact as it now is (as it was, for a delete). */
  onChange: ((type: CoopelChangeType, contact: CoopelContact) => void) | null =
    null;
  /** Called after every task change, with a copy of the task as it now is (as it was, for a delete). */
  onTaskChange:
    ((type: CoopelTaskChangeType, task: CoopelTask) => void) | null = null;
  readonly contacts = new Map<string, CoopelContact>();
  readonly tasks = new Map<string, Map<string, CoopelTask>>();
  readonly notes = new Map<string, Map<string, CoopelNote>>();
  readonly appointments = new Map<string, CoopelAppointment[]>();
  /** Creation order of contacts, which is the order of list pages and their cursors. */
  readonly #sequence = new Map<string, number>();
  #nextSequence = 1;

  clear(): void {
    this.contacts.clear();
    this.tasks.clear();
    this.notes.clear();
    this.appointments.clear();
    this.#sequence.clear();
  }

  getContact(id: string): CoopelContact {
    const contact = this.contacts.get(id);
    if (contact === undefined) {
      throw notFound("Contact", id);
    }
    return contact;
  }

  /** Creates a contact; null and empty-string values are not stored. */
  createContact(body: unknown): CoopelContact {
    const fields = validateContactFields(body);
    const now = new Date().toISOString();
    const contact: CoopelContact = {
      id: randomUUID(),
      created_at: now,
      updated_at: now,
    };
    for (const [key, value] of Object.entries(fields)) {
      if (value !== null && value !== "") {
        contact[key] = value;
      }
    }
    this.contacts.set(contact.id, contact);
    this.#sequence.set(contact.id, this.#nextSequence++);
    this.onChange?.("contact.created", structuredClone(contact));
    return contact;
  }

  /** Merges `body` into a contact: given fields replace stored ones (tags too) and null removes a field. */
  updateContact(id: string, body: unknown): CoopelContact {
    const contact = this.getContact(id);
    const fields = validateContactFields(body);
    for (const [key, value] of Object.entries(fields)) {
      if (value === null) {
        delete contact[key];
      } else {
        contact[key] = value;
      }
    }
    touch(contact);
    this.onChange?.("contact.updated", structuredClone(contact));
    return contact;
  }

  deleteContact(id: string): CoopelContact {
    const contact = this.getContact(id);
    this.contacts.delete(id);
    this.#sequence.delete(id);
    this.tasks.delete(id);
    this.notes.delete(id);
    this.appointments.delete(id);
    this.onChange?.("contact.deleted", structuredClone(contact));
    return contact;
  }

  /** Returns one page of matching contacts in creation order, and the cursor of the next page. */
  listContacts(
    filter: CoopelContactFilter,
    limit: number,
    cursor: string | undefined,
  ): { contacts: CoopelContact[]; next_cursor: string | null } {
    const after = cursor === undefined ? 0 : decodeCursor(cursor);
    const matching = [...this.contacts.values()].filter(
      (contact) =>
        (this.#sequence.get(contact.id) ?? 0) > after &&
        matchesFilter(contact, filter),
    );
    const page = matching.slice(0, limit);
    const last = page[page.length - 1];
    const hasMore = matching.length > limit && last !== undefined;
    return {
      contacts: page,
      next_cursor: hasMore
        ? encodeCursor(this.#sequence.get(last.id) ?? 0)
        : null,
    };
  }

  /** Adds tags that the contact does not have yet and returns the full list. */
  addTags(id: string, tags: string[]): string[] {
    const contact = this.getContact(id);
    const current = Array.isArray(contact.tags)
      ? (contact.tags as string[])
      : [];
    contact.tags = [...new Set([...current, ...tags])];
    touch(contact);
    this.onChange?.("contact.updated", structuredClone(contact));
    return contact.tags as string[];
  }

  /** Removes the given tags and returns the remaining list. */
  removeTags(id: string, tags: string[]): string[] {
    const contact = this.getContact(id);
    const current = Array.isArray(contact.tags)
      ? (contact.tags as string[])
      : [];
    const removed = new Set(tags);
    contact.tags = current.filter((tag) => !removed.has(tag));
    touch(contact);
    this.onChange?.("contact.updated", structuredClone(contact));
    return contact.tags as string[];
  }
}

export function touch(record: { updated_at: string }): void {
  record.updated_at = new Date().toISOString();
}

function matchesFilter(
  contact: CoopelContact,
  filter: CoopelContactFilter,
): boolean {
  if (
    filter.externalId !== undefined &&
    String(contact.external_id) !== filter.externalId
  ) {
    return false;
  }
  if (
    filter.businessId !== undefined &&
    String(contact.business_id) !== filter.businessId
  ) {
    return false;
  }
  if (filter.email !== undefined) {
    const email =
      typeof contact.email === "string"
        ? contact.email.toLowerCase()
        : undefined;
    if (email !== filter.email.toLowerCase()) {
      return false;
    }
  }
  if (filter.phone !== undefined && contact.phone !== filter.phone) {
    return false;
  }
  if (
    filter.updatedSince !== undefined &&
    Date.parse(contact.updated_at) < filter.updatedSince
  ) {
    return false;
  }
  return true;
}

function encodeCursor(sequence: number): string {
  return Buffer.from(JSON.stringify({ after: sequence })).toString("base64url");
}

function decodeCursor(cursor: string): number {
  try {
    const parsed = JSON.parse(
      Buffer.from(cursor, "base64url").toString("utf8"),
    ) as { after?: unknown };
    if (
      typeof parsed.after === "number" &&
      Number.isInteger(parsed.after) &&
      parsed.after >= 0
    ) {
      return parsed.after;
    }
  } catch {
    // Falls through to the error below.
  }
  throw new CoopelApiError(
    400,
    "invalid_request",
    `Invalid cursor "${cursor}"; pass next_cursor from the previous page`,
  );
}
