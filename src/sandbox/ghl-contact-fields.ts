import {
  applyDateOfBirth,
  mergeCustomFields,
  normalisePhone,
  normaliseTags,
} from "./ghl-field-formats.js";
import { unprocessable } from "./ghl-errors.js";

/** A custom field value in GHL's read format. */
export interface GhlCustomFieldValue {
  id: string;
  value: unknown;
}

/** A contact as the GHL sandbox stores and returns it (`GetContectByIdSchema` of the contacts spec). */
export interface GhlContact {
  id: string;
  locationId: string;
  dateAdded: string;
  dateUpdated: string;
  deleted: boolean;
  type: string;
  tags: string[];
  customFields: GhlCustomFieldValue[];
  dnd: boolean;
  bounceEmail: boolean;
  unsubscribeEmail: boolean;
  attachments: unknown[];
  firstName?: string;
  lastName?: string;
  name?: string;
  firstNameLowerCase?: string;
  lastNameLowerCase?: string;
  fullNameLowerCase?: string;
  email?: string;
  emailLowerCase?: string;
  phone?: string;
  companyName?: string;
  address1?: string;
  city?: string;
  state?: string;
  postalCode?: string;
  country?: string;
  website?: string;
  source?: string;
  timezone?: string;
  gender?: string;
  assignedTo?: string;
  /** Stored as `YYYY-MM-DDT00:00:00.000Z`. */
  dateOfBirth?: string;
  /** Zero-based month, as in the spec example (1990-09-25 gives 8). */
  birthMonth?: number;
  birthDay?: number;
  dndSettings?: Record<string, unknown>;
  inboundDndSettings?: Record<string, unknown>;
}

/** Contact fields as a caller writes them; null or "" clears a field. */
export type GhlContactInput = Record<string, unknown>;

const TEXT_FIELDS = [
  "firstName",
  "lastName",
  "name",
  "email",
  "phone",
  "address1",
  "city",
  "state",
  "postalCode",
  "website",
  "timezone",
  "source",
  "country",
  "assignedTo",
  "companyName",
  "gender",
] as const;
const OTHER_FIELDS = [
  "dnd",
  "dndSettings",
  "inboundDndSettings",
  "tags",
  "customFields",
  "dateOfBirth",
] as const;

/** Properties of `CreateContactDto`. */
export const CREATE_FIELDS: ReadonlySet<string> = new Set([
  ...TEXT_FIELDS,
  ...OTHER_FIELDS,
  "locationId",
]);
/** Properties of `UpdateContactDto`: the create fields without `locationId`, `gender` and `companyName`. */
export const UPDATE_FIELDS: ReadonlySet<string> = new Set(
  [...CREATE_FIELDS].filter(
    (field) => !["locationId", "gender", "companyName"].includes(field),
  ),
);
/** Properties of `UpsertContactDto`. */
export const UPSERT_FIELDS: ReadonlySet<string> = new Set([
  ...CREATE_FIELDS,
  "createNewIfDuplicateAllowed",
]);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Checks a request body against a DTO the way the API's validator does and throws 422 with one
 * message per problem, e.g. "property locationId should not exist".
 */
export function validateContactInput(
  body: unknown,
  allowed: ReadonlySet<string>,
): GhlContactInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw unprocessable(["request body must be a JSON object"]);
  }
  const input = body as GhlContactInput;
  const messages: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (!allowed.has(key)) {
      messages.push(`property ${key} should not exist`);
    } else if (
      (TEXT_FIELDS as readonly string[]).includes(key) ||
      key === "locationId"
    ) {
      if (value !== null && typeof value !== "string")
        messages.push(`${key} must be a string`);
      else if (
        key === "email" &&
        typeof value === "string" &&
        value !== "" &&
        !EMAIL.test(value)
      ) {
        messages.push("email must be an email");
      }
    } else if (key === "dnd" || key === "createNewIfDuplicateAllowed") {
      if (typeof value !== "boolean")
        messages.push(`${key} must be a boolean value`);
    } else if (key === "tags") {
      if (value !== null && !Array.isArray(value))
        messages.push("tags must be an array");
      else if (
        Array.isArray(value) &&
        !value.every((tag) => typeof tag === "string")
      ) {
        messages.push("each value in tags must be a string");
      }
    } else if (key === "customFields") {
      if (!Array.isArray(value)) messages.push("customFields must be an array");
    } else if (key === "dndSettings" || key === "inboundDndSettings") {
      if (typeof value !== "object" || value === null)
        messages.push(`${key} must be an object`);
    }
  }
  if (messages.length > 0) {
    throw unprocessable(messages);
  }
  return input;
}

/**
 * Applies validated input to a contact in place, so callers pass a copy when a 422 thrown part way
 * must leave the stored contact unchanged. Null or "" removes a field, tags replace the whole list,
 * custom fields merge by id. Derives lower-case copies, `name` (unless given) and birth day and
 * month, and normalises the phone to E.164 using the contact's country (default US).
 */
export function applyContactInput(
  contact: GhlContact,
  input: GhlContactInput,
): void {
  const target = contact as unknown as Record<string, unknown>;
  // A phone in national format is read with the country of this same write, when it sets one.
  let country = contact.country;
  if ("country" in input) {
    country =
      typeof input.country === "string" && input.country !== ""
        ? input.country
        : undefined;
  }
  for (const [key, value] of Object.entries(input)) {
    if (key === "locationId" || key === "createNewIfDuplicateAllowed") continue;
    if (key === "tags") {
      contact.tags = normaliseTags(
        Array.isArray(value) ? (value as string[]) : [],
      );
    } else if (key === "customFields") {
      contact.customFields = mergeCustomFields(
        contact.customFields,
        value as unknown[],
      );
    } else if (key === "dateOfBirth") {
      applyDateOfBirth(contact, value);
    } else if (value === null || value === "") {
      delete target[key];
    } else if (key === "phone") {
      contact.phone = normalisePhone(value as string, country);
    } else {
      target[key] = value;
    }
  }
  if (contact.email === undefined) delete contact.emailLowerCase;
  else contact.emailLowerCase = contact.email.toLowerCase();
  if (!("name" in input) && ("firstName" in input || "lastName" in input)) {
    const name = [contact.firstName, contact.lastName]
      .filter((part) => part !== undefined)
      .join(" ");
    if (name === "") delete contact.name;
    else contact.name = name;
  }
  setLowerCase(contact, "firstNameLowerCase", contact.firstName);
  setLowerCase(contact, "lastNameLowerCase", contact.lastName);
  setLowerCase(contact, "fullNameLowerCase", contact.name);
}

function setLowerCase(
  contact: GhlContact,
  key: "firstNameLowerCase" | "lastNameLowerCase" | "fullNameLowerCase",
  value: string | undefined,
): void {
  if (value === undefined) delete contact[key];
  else contact[key] = value.toLowerCase();
}
