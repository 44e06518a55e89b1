import { changedFields, mergeHashes } from "../mapping/contact-mapping.js";
import { finish, mergeLinks } from "./completion.js";
import { ApiError, AttemptError } from "./errors.js";
import type {
  CallContext,
  Completion,
  CoopelClient,
  GhlApi,
  Job,
  Link,
  Store,
} from "./ports.js";
import type { ContactLinker } from "./task-sync.js";

export const NOTE_EVENT_TYPES = [
  "NoteCreate",
  "NoteUpdate",
  "NoteDelete",
] as const;

export interface NoteSyncOptions {
  store: Store;
  coopel: CoopelClient;
  ghl: GhlApi;
  linkContact: ContactLinker;
  now?: () => number;
}

/**
 * Turns GHL note events into Coopel note writes. Note payloads carry only
 * id, body, contactId and dateAdded; a field a payload lacks is unknown and
 * never cleared. Bodies are sent as received, byte for byte.
 */
export class NoteSync {
  private readonly now: () => number;

  constructor(private readonly options: NoteSyncOptions) {
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
    const payload = event.payload;
    const noteId = payload.id;
    if (typeof noteId !== "string" || noteId === "")
      return finish("skipped", "missing_note_id", [], context);
    const link = await store.getLink("note", locationId, noteId);
    const contactId =
      typeof payload.contactId === "string" && payload.contactId !== ""
        ? payload.contactId
        : (link?.parentGhlId ?? null);

    if (event.type === "NoteDelete") {
      if (!coopel.supports("delete_note"))
        return finish("unsupported", "unsupported:delete_note", [], context);
      return this.delete(locationId, noteId, link, context);
    }
    if (!coopel.supports("create_note"))
      return finish("unsupported", "unsupported:create_note", [], context);
    if (link?.deletedAt != null)
      return finish("skipped", "deleted_in_ghl", [], context);
    if (contactId === null)
      return finish("skipped", "missing_contact_id", [], context);

    let body: Record<string, unknown> = {};
    if (typeof payload.body === "string") body.body = payload.body;
    else if (link?.coopelId == null) {
      const fetched = await this.options.ghl.getNote(
        locationId,
        contactId,
        noteId,
        context,
      );
      if (fetched === null)
        return finish("skipped", "note_not_found_in_ghl", [], context);
      if (typeof fetched.body === "string") body = { body: fetched.body };
    }

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
    const coopelContactId = contact.link.coopelId;

    if (link?.coopelId != null) {
      const changed = changedFields(body, link.fieldHashes);
      if (Object.keys(changed).length === 0)
        return finish("skipped", "no_change", contact.links, context, warnings);
      if (!coopel.supports("update_note"))
        return finish(
          "unsupported",
          "unsupported:update_note",
          contact.links,
          context,
          warnings,
        );
      await coopel.updateNote(coopelContactId, link.coopelId, changed, context);
      const updated: Link = {
        ...link,
        fieldHashes: mergeHashes(link.fieldHashes, changed),
        updatedAt: this.now(),
      };
      return finish(
        "synced",
        "updated",
        mergeLinks(contact.links, [updated]),
        context,
        warnings,
      );
    }
    if (typeof body.body !== "string" || body.body === "")
      return finish("skipped", "empty_body", contact.links, context, warnings);
    const created = await coopel.createNote(coopelContactId, body, context);
    const newLink: Link = {
      entity: "note",
      ghlLocationId: locationId,
      ghlId: noteId,
      coopelAccountId: coopel.accountId,
      coopelId: created.id,
      fieldHashes: mergeHashes({}, body),
      deletedAt: null,
      updatedAt: this.now(),
      parentGhlId: contactId,
    };
    return finish(
      "synced",
      "created",
      mergeLinks(contact.links, [newLink]),
      context,
      warnings,
    );
  }

  private async delete(
    locationId: string,
    noteId: string,
    link: Link | null,
    context: CallContext,
  ): Promise<Completion> {
    if (link?.deletedAt != null)
      return finish("skipped", "already_deleted", [], context);
    const tombstone: Link = {
      entity: "note",
      ghlLocationId: locationId,
      ghlId: noteId,
      coopelAccountId: this.options.coopel.accountId,
      coopelId: null,
      fieldHashes: {},
      parentGhlId: null,
      ...link,
      deletedAt: this.now(),
      updatedAt: this.now(),
    };
    if (link?.coopelId == null)
      return finish("skipped", "unknown_note", [tombstone], context);
    const parent = link.parentGhlId
      ? await this.options.store.getLink(
          "contact",
          locationId,
          link.parentGhlId,
        )
      : null;
    if (!parent?.coopelId)
      return finish("skipped", "contact_unlinked", [tombstone], context);
    try {
      await this.options.coopel.deleteNote(
        parent.coopelId,
        link.coopelId,
        context,
      );
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    return finish("synced", "deleted", [tombstone], context);
  }
}
