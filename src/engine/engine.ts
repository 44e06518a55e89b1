import type { ContactEventSync } from "./contact-events.js";
import {
  COOPEL_CONTACT_EVENT_TYPES,
  type CoopelContactSync,
} from "./coopel-contact-sync.js";
import { finish } from "./completion.js";
import {
  COOPEL_TASK_EVENT_TYPES,
  type CoopelTaskSync,
} from "./coopel-task-sync.js";
import {
  AttemptError,
  DeferralError,
  UnsupportedRouteError,
} from "./errors.js";
import { NOTE_EVENT_TYPES, type NoteSync } from "./note-sync.js";
import type {
  CallContext,
  Completion,
  GhlApi,
  Job,
  Link,
  LocationPause,
  Store,
} from "./ports.js";
import { TASK_EVENT_TYPES, type TaskSync } from "./task-sync.js";

/** Event types of GHL contacts that the engine syncs. */
export const CONTACT_EVENT_TYPES = [
  "ContactCreate",
  "ContactUpdate",
  "ContactDelete",
  "ContactTagUpdate",
  "ContactDndUpdate",
] as const;

/**
 * Event types that carry the whole record, so that pending ones of one record
 * can collapse into the newest. Creates are left out: a create that finds the
 * record linked is skipped, so it must not stand in for an update.
 */
export const COALESCED_EVENT_TYPES = ["ContactUpdate"] as const;

export { NOTE_EVENT_TYPES, TASK_EVENT_TYPES };

/** The entities a location can sync. */
export type Entity = "contacts" | "tasks" | "notes" | "tags";

/** The entity whose setting decides whether an event type is synced. */
export function entityOf(type: string): Entity | null {
  if (type === "ContactTagUpdate") return "tags";
  if ((CONTACT_EVENT_TYPES as readonly string[]).includes(type))
    return "contacts";
  if ((TASK_EVENT_TYPES as readonly string[]).includes(type)) return "tasks";
  if ((NOTE_EVENT_TYPES as readonly string[]).includes(type)) return "notes";
  return null;
}

export interface SyncEngineOptions {
  contacts: ContactEventSync;
  tasks: TaskSync;
  notes: NoteSync;
  store: Store;
  ghl: GhlApi;
  /** Whether `entity` is synced for the location; checked before any API call. */
  syncs: (locationId: string, entity: Entity) => boolean;
  /** The operator's pause of a location, or null; a paused location's events wait. */
  pausedLocation?: (locationId: string) => Promise<LocationPause | null>;
  /** Handles Coopel contact events; unset when no entity syncs from Coopel to GHL. */
  coopelContacts?: CoopelContactSync;
  /** Whether GHL contact events are synced to Coopel; default true. */
  contactsFromGhl?: boolean;
  /** Handles Coopel task events; unset when tasks do not sync from Coopel to GHL. */
  coopelTasks?: CoopelTaskSync;
  /** Whether GHL task events are synced to Coopel; default true. */
  tasksFromGhl?: boolean;
}

/** How long the events of a paused location wait before the pause is checked again. */
export const PAUSE_RECHECK_MS = 30_000;

/** Routes each job to the handler of its entity. */
export class SyncEngine {
  constructor(private readonly options: SyncEngineOptions) {}

  /**
   * Handles one job. An operation whose Coopel route is set to null ends
   * the job as `unsupported` instead of failing it, so it is not retried.
   */
  async handle(job: Job): Promise<Completion> {
    try {
      return await this.dispatch(job);
    } catch (error) {
      const unsupported = unsupportedRouteOf(error);
      if (unsupported === null) throw error;
      const requests = error instanceof AttemptError ? error.requests : [];
      return finish("unsupported", `unsupported:${unsupported.route}`, [], {
        requests,
      });
    }
  }

  private async dispatch(job: Job): Promise<Completion> {
    const { event } = job;
    if (event.source === "coopel") {
      if ((COOPEL_TASK_EVENT_TYPES as readonly string[]).includes(event.type)) {
        const tasks = this.options.coopelTasks;
        if (tasks === undefined)
          return finish("ignored", "tasks_not_synced_from_coopel", [], {
            requests: [],
          });
        return tasks.handle(job);
      }
      const coopel = this.options.coopelContacts;
      if (
        coopel === undefined ||
        !(COOPEL_CONTACT_EVENT_TYPES as readonly string[]).includes(event.type)
      )
        return Promise.resolve(
          finish("ignored", "unsupported_type", [], { requests: [] }),
        );
      return coopel.handle(job);
    }
    const entity = entityOf(event.type);
    if (entity === "contacts" && this.options.contactsFromGhl === false)
      return Promise.resolve(
        finish("ignored", "contacts_not_synced_from_ghl", [], {
          requests: [],
        }),
      );
    if (entity === null)
      return finish("ignored", "unsupported_type", [], { requests: [] });
    if (entity === "tasks" && this.options.tasksFromGhl === false)
      return finish("ignored", "tasks_not_synced_from_ghl", [], {
        requests: [],
      });
    if (!this.options.syncs(event.accountId, entity))
      return finish("ignored", `${entity}_not_synced`, [], { requests: [] });
    const pause = await this.options.pausedLocation?.(event.accountId);
    if (pause)
      throw new DeferralError(
        { system: "ghl", accountId: event.accountId },
        Date.now() + PAUSE_RECHECK_MS,
        "paused_by_operator",
        `GHL location ${event.accountId} was paused by ${pause.pausedBy} at ${new Date(pause.pausedAt).toISOString()} (${pause.reason}); its events wait until it is resumed`,
      );
    if (entity === "contacts" || entity === "tags")
      return this.options.contacts.handle(job);
    if (entity === "tasks") return this.options.tasks.handle(job);
    return this.options.notes.handle(job);
  }

  /**
   * Returns the link of a GHL contact; when there is none yet, reads the
   * contact from GHL and syncs it first, so a task or note never waits
   * behind a contact event that may never come.
   */
  async linkContact(
    locationId: string,
    contactId: string,
    context: CallContext,
    attempt = 1,
  ): Promise<{ link: Link | null; links: Link[]; warnings: string[] }> {
    const existing = await this.options.store.getLink(
      "contact",
      locationId,
      contactId,
    );
    if (existing?.coopelId != null || existing?.deletedAt != null)
      return { link: existing, links: [], warnings: [] };
    const contact = await this.options.ghl.getContact(
      locationId,
      contactId,
      context,
    );
    if (contact === null) return { link: null, links: [], warnings: [] };
    const result = await this.options.contacts.run({
      id: `contact-for-${contactId}`,
      attempt,
      event: {
        source: "ghl",
        accountId: locationId,
        type: "ContactCreate",
        orderingKey: `ghl:${locationId}:contact:${contactId}`,
        deliveryId: null,
        receivedAt: Date.now(),
        payload: {
          ...contact,
          type: "ContactCreate",
          locationId,
          id: contactId,
        },
      },
    });
    context.requests.push(...result.completion.requests);
    return {
      link: result.link,
      links: result.completion.links,
      warnings: result.completion.warnings,
    };
  }
}

/** Finds the UnsupportedRouteError behind `error`, also inside an AttemptError; returns null when there is none. */
function unsupportedRouteOf(error: unknown): UnsupportedRouteError | null {
  if (error instanceof UnsupportedRouteError) return error;
  if (
    error instanceof AttemptError &&
    error.cause instanceof UnsupportedRouteError
  )
    return error.cause;
  return null;
}
