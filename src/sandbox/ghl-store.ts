import { randomBytes } from "node:crypto";
import {
  applyContactInput,
  type GhlContact,
  type GhlContactInput,
} from "./ghl-contact-fields.js";
import { GhlApiError } from "./ghl-errors.js";
import { normalisePhone, normaliseTags } from "./ghl-field-formats.js";
import type { RandomSource } from "./random.js";

const ID_ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Returns a random 20-character id shaped like GHL's (e.g. `nmFmQEsNgz6AVpgLVUJ0`). */
export function newGhlId(): string {
  const bytes = randomBytes(20);
  return Array.from(
    bytes,
    (byte) => ID_ALPHABET[byte % ID_ALPHABET.length],
  ).join("");
}

/** Returns a GHL-shaped id drawn from `random`, so that a seeded run repeats its ids. */
export function newGhlIdFrom(random: RandomSource): string {
  return Array.from(
    { length: 20 },
    () => ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)],
  ).join("");
}

export function contactNotFound(id: string): GhlApiError {
  return new GhlApiError(400, {
    statusCode: 400,
    message: `Contact with id ${id} not found`,
  });
}

/** A task as the contacts spec returns it (`TaskSchema`). */
export interface GhlTask {
  id: string;
  contactId: string;
  title: string;
  body?: string;
  assignedTo?: string;
  dueDate: string;
  completed: boolean;
}

/** A note as the contacts spec returns it (`GetNoteSchema`). */
export interface GhlNote {
  id: string;
  contactId: string;
  body: string;
  userId?: string;
  title?: string;
  color?: string;
  pinned?: boolean;
  dateAdded: string;
}

/** Existing contact that blocks a create when the location does not allow duplicates. */
export interface DuplicateMatch {
  contact: GhlContact;
  matchingField: "email" | "phone";
}

/** Options of a direct create, for replaying a record with a known id and creation time. */
export interface CreateContactOptions {
  id?: string;
  dateAdded?: string;
}

/** In-memory contacts of every location, plus each location's "Allow Duplicate Contact" setting. */
export class GhlStore {
  readonly contacts = new Map<string, Map<string, GhlContact>>();
  /** Tasks by contact id, then task id. */
  readonly tasks = new Map<string, Map<string, GhlTask>>();
  /** Notes by contact id, then note id. */
  readonly notes = new Map<string, Map<string, GhlNote>>();
  readonly #allowDuplicates = new Map<string, boolean>();

  constructor(locations: { id: string; allowDuplicates?: boolean }[]) {
    for (const location of locations) {
      this.contacts.set(location.id, new Map());
      this.#allowDuplicates.set(location.id, location.allowDuplicates ?? false);
    }
  }

  hasLocation(locationId: string): boolean {
    return this.contacts.has(locationId);
  }

  allowsDuplicates(locationId: string): boolean {
    return this.#allowDuplicates.get(locationId) ?? false;
  }

  setAllowDuplicates(locationId: string, allow: boolean): void {
    this.#locationContacts(locationId);
    this.#allowDuplicates.set(locationId, allow);
  }

  clear(): void {
    for (const contacts of this.contacts.values()) {
      contacts.clear();
    }
    this.tasks.clear();
    this.notes.clear();
  }

  getContact(locationId: string, id: string): GhlContact {
    const contact = this.#locationContacts(locationId).get(id);
    if (contact === undefined) {
      throw contactNotFound(id);
    }
    return contact;
  }

  /** Returns the first contact with this email (case-insensitive), else the first with this phone. */
  findDuplicate(
    locationId: string,
    email: unknown,
    phone: unknown,
    country?: unknown,
  ): DuplicateMatch | undefined {
    const contacts = [...this.#locationContacts(locationId).values()];
    if (typeof email === "string" && email !== "") {
      const lower = email.toLowerCase();
      const match = contacts.find(
        (contact) => contact.emailLowerCase === lower,
      );
      if (match !== undefined)
        return { contact: match, matchingField: "email" };
    }
    if (typeof phone === "string" && phone !== "") {
      const e164 = normalisePhone(
        phone,
        typeof country === "string" ? country : undefined,
      );
      const match = contacts.find((contact) => contact.phone === e164);
      if (match !== undefined)
        return { contact: match, matchingField: "phone" };
    }
    return undefined;
  }

  /** Throws the API's duplicate error when the location forbids duplicates and one exists. */
  rejectDuplicate(locationId: string, input: GhlContactInput): void {
    if (this.allowsDuplicates(locationId)) {
      return;
    }
    const match = this.findDuplicate(
      locationId,
      input.email,
      input.phone,
      input.country,
    );
    if (match !== undefined) {
      throw new GhlApiError(400, {
        statusCode: 400,
        message: "This location does not allow duplicated contacts.",
        meta: {
          contactId: match.contact.id,
          contactName: match.contact.name ?? "",
          matchingField: match.matchingField,
        },
      });
    }
  }

  /** Creates a contact from validated input; a given id replaces any contact stored with that id. */
  createContact(
    locationId: string,
    input: GhlContactInput,
    options: CreateContactOptions = {},
  ): GhlContact {
    const contacts = this.#locationContacts(locationId);
    const now = new Date().toISOString();
    const contact: GhlContact = {
      id: options.id ?? newGhlId(),
      locationId,
      dateAdded: options.dateAdded ?? now,
      dateUpdated: now,
      deleted: false,
      type: "lead",
      tags: [],
      customFields: [],
      dnd: false,
      bounceEmail: false,
      unsubscribeEmail: false,
      attachments: [],
    };
    applyContactInput(contact, input);
    contacts.set(contact.id, contact);
    return contact;
  }

  updateContact(
    locationId: string,
    id: string,
    input: GhlContactInput,
  ): GhlContact {
    // The change is made on a copy, so an invalid field leaves the stored contact as it was.
    const contact = structuredClone(this.getContact(locationId, id));
    applyContactInput(contact, input);
    contact.dateUpdated = nextTimestamp(contact.dateUpdated);
    this.#locationContacts(locationId).set(id, contact);
    return contact;
  }

  deleteContact(locationId: string, id: string): GhlContact {
    const contact = this.getContact(locationId, id);
    this.#locationContacts(locationId).delete(id);
    this.tasks.delete(id);
    this.notes.delete(id);
    return contact;
  }

  /**
   * Merges contact `fromId` into `intoId`, as a person merging duplicates in
   * GHL would: the survivor keeps its values, takes the merged contact's
   * values for fields it lacks and the union of the tags, and the merged
   * contact is removed, so a read of it fails with "not found".
   * NOTE: how the real API answers for a merged-away id is not documented;
   * the sandbox returns the same error as for a deleted contact.
   */
  mergeContact(locationId: string, fromId: string, intoId: string): GhlContact {
    if (fromId === intoId)
      throw new Error(`cannot merge contact ${fromId} into itself`);
    const from = this.getContact(locationId, fromId);
    const into = structuredClone(this.getContact(locationId, intoId));
    const record = into as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(from))
      if (record[key] === undefined || record[key] === "") record[key] = value;
    into.id = intoId;
    into.tags = normaliseTags([...into.tags, ...from.tags]);
    into.dateUpdated = nextTimestamp(into.dateUpdated);
    this.#locationContacts(locationId).set(intoId, into);
    this.deleteContact(locationId, fromId);
    return into;
  }

  /** Adds tags and returns the full list. */
  addTags(locationId: string, id: string, tags: string[]): string[] {
    const contact = this.getContact(locationId, id);
    contact.tags = normaliseTags([...contact.tags, ...tags]);
    contact.dateUpdated = nextTimestamp(contact.dateUpdated);
    return contact.tags;
  }

  /** Removes tags and returns the remaining list. */
  removeTags(locationId: string, id: string, tags: string[]): string[] {
    const contact = this.getContact(locationId, id);
    const removed = new Set(normaliseTags(tags));
    contact.tags = contact.tags.filter((tag) => !removed.has(tag));
    contact.dateUpdated = nextTimestamp(contact.dateUpdated);
    return contact.tags;
  }

  #locationContacts(locationId: string): Map<string, GhlContact> {
    const contacts = this.contacts.get(locationId);
    if (contacts === undefined) {
      throw new Error(
        `Unknown GHL sandbox location "${locationId}"; add it to the locations option`,
      );
    }
    return contacts;
  }
}

/**
 * Returns the current time, or one millisecond after `previous` when the clock has not moved on,
 * so that every update gets a later `dateUpdated` for last-writer-wins comparisons.
 */
function nextTimestamp(previous: string): string {
  const now = Date.now();
  const last = Date.parse(previous);
  return new Date(now > last ? now : last + 1).toISOString();
}
