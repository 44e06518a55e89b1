import type { InboxEvent, TwoWayStore } from "./ports.js";
import { timeOf } from "./two-way.js";

/**
 * Returns the ordering key of a Coopel contact's events. A linked contact
 * shares its GHL contact's key, so the events of both sides about one
 * contact run one at a time and each reads the link the previous one stored.
 */
export async function coopelOrderingKey(
  store: TwoWayStore,
  accountId: string,
  coopelId: string,
): Promise<string> {
  const link = await store.getLinkByCoopelId("contact", accountId, coopelId);
  if (link !== null && link.deletedAt === null)
    return `ghl:${link.ghlLocationId}:contact:${link.ghlId}`;
  return `coopel:${accountId}:contact:${coopelId}`;
}

/**
 * Builds the inbox event of a Coopel task change. It shares the ordering key
 * of the task's contact, so that it runs after the contact's own events.
 */
export async function coopelTaskEvent(
  store: TwoWayStore,
  input: {
    accountId: string;
    type: string;
    task: Record<string, unknown>;
    deliveryId: string | null;
    updatedAtField: string;
  },
): Promise<InboxEvent> {
  const contactId =
    typeof input.task.contact_id === "string" && input.task.contact_id !== ""
      ? input.task.contact_id
      : null;
  return {
    source: "coopel",
    accountId: input.accountId,
    type: input.type,
    orderingKey:
      contactId === null
        ? `coopel:${input.accountId}:task:${String(input.task.id)}`
        : await coopelOrderingKey(store, input.accountId, contactId),
    deliveryId: input.deliveryId,
    receivedAt: Date.now(),
    sourceUpdatedAt: timeOf(input.task[input.updatedAtField]),
    payload: { type: input.type, task: input.task },
  };
}

/** Builds the inbox event of a Coopel contact change. */
export async function coopelContactEvent(
  store: TwoWayStore,
  input: {
    accountId: string;
    type: string;
    contact: Record<string, unknown>;
    deliveryId: string | null;
    updatedAtField: string;
  },
): Promise<InboxEvent> {
  const coopelId = String(input.contact.id);
  return {
    source: "coopel",
    accountId: input.accountId,
    type: input.type,
    orderingKey: await coopelOrderingKey(store, input.accountId, coopelId),
    deliveryId: input.deliveryId,
    receivedAt: Date.now(),
    sourceUpdatedAt: timeOf(input.contact[input.updatedAtField]),
    payload: { type: input.type, contact: input.contact },
  };
}
