import type { GhlContact } from "./ghl-contact-fields.js";

/** Event types of the contact webhooks the demo sends. */
export type ContactWebhookType =
  "ContactCreate" | "ContactUpdate" | "ContactDelete";

/**
 * Contact fields of a contact webhook, in the order of GHL's official examples. Fields the
 * contact does not have are left out.
 */
export const CONTACT_WEBHOOK_FIELDS = [
  "locationId",
  "id",
  "address1",
  "city",
  "state",
  "companyName",
  "country",
  "source",
  "dateAdded",
  "dateOfBirth",
  "dnd",
  "email",
  "name",
  "firstName",
  "lastName",
  "phone",
  "postalCode",
  "tags",
  "website",
  "attachments",
  "assignedTo",
  "customFields",
] as const;

/** Returns the webhook fields of a contact (without `type`), as plain copies. */
export function contactWebhookFields(
  contact: GhlContact,
): Record<string, unknown> {
  const source = contact as unknown as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const key of CONTACT_WEBHOOK_FIELDS) {
    if (source[key] !== undefined) {
      fields[key] = structuredClone(source[key]);
    }
  }
  return fields;
}

/** Builds a ContactCreate, ContactUpdate or ContactDelete body shaped like GHL's examples. */
export function buildContactWebhookPayload(
  type: ContactWebhookType,
  contact: GhlContact,
): Record<string, unknown> {
  return { type, ...contactWebhookFields(contact) };
}
