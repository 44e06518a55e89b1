import type { Config } from "../config/schema.js";
import {
  OfflineGhl,
  PlanningCoopel,
  silentLogger,
} from "../cli/mapping-test.js";
import type {
  CoopelRecord,
  InboxEvent,
  Outcome,
  Store,
} from "../engine/ports.js";
import { buildEngine, entitySettings } from "../runtime/service.js";

/** One write the sync would send, with its body. */
export interface PlannedRequest {
  /** Name of the Coopel route in config, for example `create_contact`. */
  operation: string;
  method: string;
  /** The path with ids filled in; a contact the plan creates has a `planned-N` id. */
  path: string;
  body: CoopelRecord | null;
}

/** What handling an event would do now, computed without sending anything. */
export interface Plan {
  outcome: Outcome;
  reason: string | null;
  requests: PlannedRequest[];
  warnings: string[];
}

/**
 * Computes what handling `event` would do now, against the current links in
 * `store`, with the configured mapping or `mapping`. Sends nothing: Coopel
 * writes are recorded, and GHL reads answer from nothing.
 */
export async function previewEvent(
  config: Config,
  store: Store,
  event: InboxEvent,
  mapping = config.mapping,
): Promise<Plan> {
  const planned = { ...config, mapping };
  const coopel = new PlanningCoopel(planned.coopel);
  const engine = buildEngine(
    planned,
    store,
    coopel,
    new OfflineGhl([]),
    silentLogger,
    entitySettings(planned),
  );
  const completion = await engine.handle({ id: "preview", event, attempt: 1 });
  return {
    outcome: completion.outcome,
    reason: completion.reason,
    requests: coopel.requests.map((request) => ({
      operation: request.operation,
      method: request.method,
      path: request.path,
      body: (request.body as CoopelRecord | undefined) ?? null,
    })),
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
