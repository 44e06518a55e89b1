import type { Config } from "../config/schema.js";
import { ContactSync } from "../engine/contact-sync.js";
import { SyncEngine } from "../engine/engine.js";
import type {
  CoopelClient,
  CoopelLookup,
  CoopelRecord,
  InboxEvent,
  Outcome,
  Store,
} from "../engine/ports.js";
import { ContactMapping } from "../mapping/contact-mapping.js";

/** One write the sync would send, with its body. */
export interface PlannedRequest {
  operation: "create_contact" | "update_contact" | "delete_contact";
  method: string;
  /** The Coopel contact id the write targets; null for a create. */
  coopelId: string | null;
  body: CoopelRecord | null;
}

/** What handling an event would do now, computed without sending anything. */
export interface Plan {
  outcome: Outcome;
  reason: string | null;
  requests: PlannedRequest[];
  /** Lookups the sync would make first. */
  lookups: CoopelLookup[];
  warnings: string[];
}

/** Placeholder id the plan gives to a contact it would create. */
export const NEW_CONTACT_ID = "(new contact)";

/**
 * A Coopel client that records the writes it is asked for and sends none.
 * Lookups find nothing, as they would for a contact not yet on Coopel.
 */
class RecordingCoopel implements CoopelClient {
  readonly requests: PlannedRequest[] = [];
  readonly lookups: CoopelLookup[] = [];

  constructor(
    readonly accountId: string,
    readonly externalIdField: string | null,
  ) {}

  createContact(body: CoopelRecord) {
    this.requests.push({
      operation: "create_contact",
      method: "POST",
      coopelId: null,
      body,
    });
    return Promise.resolve({ id: NEW_CONTACT_ID, record: body });
  }

  updateContact(id: string, body: CoopelRecord) {
    this.requests.push({
      operation: "update_contact",
      method: "PUT",
      coopelId: id,
      body,
    });
    return Promise.resolve(body);
  }

  deleteContact(id: string) {
    this.requests.push({
      operation: "delete_contact",
      method: "DELETE",
      coopelId: id,
      body: null,
    });
    return Promise.resolve();
  }

  findContacts(lookup: CoopelLookup) {
    this.lookups.push(lookup);
    return Promise.resolve([]);
  }
}

/**
 * Runs the engine on `event` with the mapping in force and the links in the
 * store, recording the writes instead of sending them. Nothing is written to
 * the store or to Coopel.
 */
export async function previewEvent(
  config: Config,
  store: Store,
  event: InboxEvent,
  mapping = config.mapping,
): Promise<Plan> {
  const coopel = new RecordingCoopel(
    config.coopel.account_id,
    config.coopel.external_id_field,
  );
  const engine = new SyncEngine(
    new ContactSync({
      store,
      coopel,
      mapping: new ContactMapping(mapping),
      deletePolicy: config.sync.contacts.delete,
    }),
  );
  const completion = await engine.handle({ id: "preview", event, attempt: 1 });
  return {
    outcome: completion.outcome,
    reason: completion.reason,
    requests: coopel.requests,
    lookups: coopel.lookups,
    warnings: completion.warnings,
  };
}

/** Turns a GHL webhook body into the inbox event the receiver would store. */
export function eventFromWebhook(
  payload: Record<string, unknown>,
  receivedAt = Date.now(),
): InboxEvent {
  const type = typeof payload.type === "string" ? payload.type : "unknown";
  const locationId =
    typeof payload.locationId === "string" ? payload.locationId : "unknown";
  const recordId =
    typeof payload.contactId === "string"
      ? payload.contactId
      : typeof payload.id === "string"
        ? payload.id
        : "unknown";
  return {
    source: "ghl",
    accountId: locationId,
    type,
    orderingKey: `ghl:${locationId}:contact:${recordId}`,
    deliveryId: null,
    receivedAt,
    payload,
  };
}
