import {
  isSupportedCountry,
  parsePhoneNumberFromString,
  type CountryCode,
} from "libphonenumber-js";

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

/** A GHL API error with the status and JSON body that the real API sends. */
export class GhlApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(
      Array.isArray(body.message)
        ? body.message.join("; ")
        : String(body.message),
    );
    this.name = "GhlApiError";
  }
}

export function unprocessable(messages: string[]): GhlApiError {
  return new GhlApiError(422, {
    statusCode: 422,
    message: messages,
    error: "Unprocessable Entity",
  });
}

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
 * Applies validated input to a contact: null or "" removes a field, tags replace the whole list,
 * custom fields merge by id. Derives lower-case copies, `name` (unless given) and birth day and
 * month, and normalises the phone to E.164 using the contact's country (default US).
 */
export function applyContactInput(
  contact: GhlContact,
  input: GhlContactInput,
): void {
  const target = contact as unknown as Record<string, unknown>;
  // A phone in national format is read with the country of this same write, when it sets one.
  const country =
    "country" in input
      ? typeof input.country === "string" && input.country !== ""
        ? input.country
        : undefined
      : contact.country;
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

export function normaliseTags(tags: string[]): string[] {
  return [
    ...new Set(tags.map((tag) => tag.trim()).filter((tag) => tag !== "")),
  ];
}

/**
 * Returns a phone number in E.164. Numbers without `+` are read as national numbers of `country`.
 * NOTE: the real API's reply to an unparseable phone is not documented; the sandbox returns 422.
 */
export function normalisePhone(
  phone: string,
  country: string | undefined,
): string {
  const region =
    country !== undefined && isSupportedCountry(country.toUpperCase())
      ? country.toUpperCase()
      : "US";
  const parsed = parsePhoneNumberFromString(phone, region as CountryCode);
  if (parsed === undefined || !parsed.isPossible()) {
    throw unprocessable([`phone must be a valid phone number, got "${phone}"`]);
  }
  return parsed.number;
}

function mergeCustomFields(
  current: GhlCustomFieldValue[],
  written: unknown[],
): GhlCustomFieldValue[] {
  const merged = new Map(current.map((field) => [field.id, field.value]));
  for (const item of written) {
    const field = (
      typeof item === "object" && item !== null ? item : {}
    ) as Record<string, unknown>;
    const id =
      typeof field.id === "string"
        ? field.id
        : typeof field.key === "string"
          ? field.key
          : undefined;
    if (id === undefined) {
      throw unprocessable([
        "each value in customFields must have an id or a key",
      ]);
    }
    // Write format is {id|key, field_value}; read format {id, value} is accepted too.
    const value = "field_value" in field ? field.field_value : field.value;
    if (value === null || value === "" || value === undefined)
      merged.delete(id);
    else merged.set(id, value);
  }
  return [...merged].map(([id, value]) => ({ id, value }));
}

const YEAR_FIRST = /^(\d{4})[-/._](\d{1,2})[-/._](\d{1,2})(T[\d:.]+Z?)?$/;
const MONTH_FIRST = /^(\d{1,2})[-/._](\d{1,2})[-/._](\d{4})$/;

/** Accepts the documented input formats (YYYY-MM-DD, MM/DD/YYYY, ... with - / . or _) and ISO date-times. */
function applyDateOfBirth(contact: GhlContact, value: unknown): void {
  if (value === null || value === "") {
    delete contact.dateOfBirth;
    delete contact.birthMonth;
    delete contact.birthDay;
    return;
  }
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const yearFirst = YEAR_FIRST.exec(text);
  const monthFirst = MONTH_FIRST.exec(text);
  const [year, month, day] = yearFirst
    ? [yearFirst[1], yearFirst[2], yearFirst[3]]
    : monthFirst
      ? [monthFirst[3], monthFirst[1], monthFirst[2]]
      : [];
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (
    year === undefined ||
    Number.isNaN(date.getTime()) ||
    date.getUTCDate() !== Number(day)
  ) {
    throw unprocessable([
      `dateOfBirth must be a date such as 1990-09-25, got "${text}"`,
    ]);
  }
  contact.dateOfBirth = date.toISOString();
  contact.birthMonth = date.getUTCMonth();
  contact.birthDay = date.getUTCDate();
}
