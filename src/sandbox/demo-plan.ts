import {
  generateEmail,
  generateFieldValue,
  generateNewContact,
  UPDATABLE_FIELDS,
} from "./demo-data.js";
import type { GhlContact } from "./ghl-contact-fields.js";
import { newGhlIdFrom } from "./ghl-store.js";
import {
  CONTACT_WEBHOOK_FIELDS,
  contactWebhookFields,
  type ContactWebhookType,
} from "./ghl-webhook-payload.js";
import { pickSome, randomInt, type RandomSource } from "./random.js";

/** One contact change of the demo stream, decided before anything is sent. */
export interface PlannedChange {
  type: ContactWebhookType;
  contactId: string;
  /** Fields given to `userCreateContact` or `userUpdateContact`; undefined for deletes. */
  fields?: Record<string, unknown>;
  signWith: "ed25519" | "rsa";
  /** Seed of the choices made while building this change's payload. */
  payloadSeed: number;
  /** Whether the same delivery is sent a second time, as GHL sometimes does. */
  duplicate: boolean;
  /** Whether the change is made in GHL but its webhook is never sent. */
  drop: boolean;
}

export interface PlanOptions {
  /** Maximum number of distinct contacts the stream creates. */
  contacts: number;
  /** Number of changes to generate. */
  changes: number;
  duplicateRate: number;
  dropRate: number;
}

const CREATE_SHARE = 0.35;
const UPDATE_SHARE = 0.5;
const CLEAR_PROBABILITY = 0.12;
const RSA_SHARE = 0.2;

/**
 * Generates `changes` contact changes: about 35 % creates, 50 % updates and 15 % deletes. When
 * `contacts` creates have been made, further creates become updates, and the last live contact is
 * never deleted, so updates stay possible. No change follows a contact's delete.
 */
export function planDemoChanges(
  random: RandomSource,
  options: PlanOptions,
): PlannedChange[] {
  const plan: PlannedChange[] = [];
  const live: string[] = [];
  const countryOf = new Map<string, string | undefined>();
  let created = 0;
  let emailSerial = 0;

  for (let step = 0; step < options.changes; step++) {
    const roll = random();
    const canCreate = created < options.contacts;
    let type: ContactWebhookType =
      roll < CREATE_SHARE
        ? "ContactCreate"
        : roll < CREATE_SHARE + UPDATE_SHARE
          ? "ContactUpdate"
          : "ContactDelete";
    if (type === "ContactCreate" && !canCreate) type = "ContactUpdate";
    if (type !== "ContactCreate" && live.length === 0) type = "ContactCreate";
    if (type === "ContactDelete" && !canCreate && live.length <= 1)
      type = "ContactUpdate";

    const common = {
      signWith: random() < RSA_SHARE ? ("rsa" as const) : ("ed25519" as const),
      payloadSeed: Math.floor(random() * 2 ** 31),
      duplicate: random() < options.duplicateRate,
      drop: random() < options.dropRate,
    };
    if (type === "ContactCreate") {
      const contactId = newGhlIdFrom(random);
      const fields = generateNewContact(random, ++emailSerial);
      created += 1;
      live.push(contactId);
      countryOf.set(contactId, fields.country as string | undefined);
      plan.push({ type, contactId, fields, ...common });
      continue;
    }
    const index = randomInt(random, 0, live.length - 1);
    const contactId = live[index] as string;
    if (type === "ContactDelete") {
      live.splice(index, 1);
      plan.push({ type, contactId, ...common });
      continue;
    }
    const fields = planUpdate(
      random,
      countryOf.get(contactId),
      () => ++emailSerial,
    );
    if ("country" in fields)
      countryOf.set(contactId, (fields.country as string | null) || undefined);
    plan.push({ type, contactId, fields, ...common });
  }
  return plan;
}

/** Picks 1 to 4 fields to change; each is cleared (null or "") with a small probability. */
function planUpdate(
  random: RandomSource,
  country: string | undefined,
  nextSerial: () => number,
): Record<string, unknown> {
  const chosen = pickSome(random, UPDATABLE_FIELDS, randomInt(random, 1, 4));
  // The country is decided first, because national phone formats are read with it.
  chosen.sort((a, b) => Number(b === "country") - Number(a === "country"));
  const fields: Record<string, unknown> = {};
  let newCountry = country;
  for (const field of chosen) {
    if (field !== "dnd" && random() < CLEAR_PROBABILITY) {
      fields[field] = random() < 0.5 ? null : "";
    } else if (field === "email") {
      fields.email = generateEmail(random, nextSerial());
    } else {
      fields[field] = generateFieldValue(
        random,
        field,
        nextSerial(),
        newCountry,
      );
    }
    if (field === "country")
      newCountry = (fields.country as string | null) || undefined;
  }
  return fields;
}

/**
 * Builds the webhook body of a create or update from the contact before and after the change.
 * Fields the change removed are sent as null or "" (clear). Fields absent before and after are
 * left out or, now and then, sent as null or "". On updates some unchanged fields are left out,
 * which a receiver must read as "unchanged". So the body never hides a change.
 */
export function buildDemoPayload(
  random: RandomSource,
  type: "ContactCreate" | "ContactUpdate",
  before: GhlContact | undefined,
  after: GhlContact,
): Record<string, unknown> {
  const current = contactWebhookFields(after);
  const previous = before === undefined ? {} : contactWebhookFields(before);
  const payload: Record<string, unknown> = { type };
  for (const key of CONTACT_WEBHOOK_FIELDS) {
    const clearValue = random() < 0.5 ? null : "";
    if (key in current) {
      const unchanged =
        JSON.stringify(current[key]) === JSON.stringify(previous[key]);
      const omit =
        type === "ContactUpdate" &&
        unchanged &&
        key !== "id" &&
        key !== "locationId" &&
        random() < 0.2;
      if (!omit) payload[key] = current[key];
    } else if (key in previous || random() < 0.15) {
      payload[key] = clearValue;
    }
  }
  return payload;
}
