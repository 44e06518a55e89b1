import type { ContactSync } from "./contact-sync.js";
import type { Completion, Job } from "./ports.js";

/** Event types of GHL contacts that the engine syncs. */
export const CONTACT_EVENT_TYPES = [
  "ContactCreate",
  "ContactUpdate",
  "ContactDelete",
] as const;

/**
 * Event types that carry the whole record, so that pending ones of one record
 * can collapse into the newest. Creates are left out: a create that finds the
 * record linked is skipped, so it must not stand in for an update.
 */
export const COALESCED_EVENT_TYPES = ["ContactUpdate"] as const;

/** Routes each job to the handler of its entity. */
export class SyncEngine {
  constructor(private readonly contacts: ContactSync) {}

  handle(job: Job): Promise<Completion> {
    const type = job.event.type;
    if (
      job.event.source === "ghl" &&
      (CONTACT_EVENT_TYPES as readonly string[]).includes(type)
    ) {
      return this.contacts.handle(job);
    }
    return Promise.resolve({
      outcome: "ignored",
      reason: "unsupported_type",
      links: [],
      requests: [],
      warnings: [],
    });
  }
}
