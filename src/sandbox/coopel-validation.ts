/** Validation of Coopel request bodies, and the error type that carries a 4xx response. */

/** A request the Coopel API rejects, with its HTTP status and `error` code. */
export class CoopelApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "CoopelApiError";
  }
}

const READ_ONLY_FIELDS = new Set(["id", "created_at", "updated_at"]);
const SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const STRING_FIELDS = new Set([
  "first_name",
  "last_name",
  "email",
  "phone",
  "company_name",
  "address1",
  "city",
  "state",
  "postal_code",
  "country",
  "website",
  "date_of_birth",
  "source",
]);

export function notFound(kind: string, id: string): CoopelApiError {
  return new CoopelApiError(404, "not_found", `${kind} ${id} not found`);
}

/**
 * Checks a contact body and returns its writable fields. Every key must be snake_case; known
 * text fields must be strings or null, `tags` a string array or null. `id`, `created_at` and
 * `updated_at` are read-only and ignored.
 */
export function validateContactFields(body: unknown): Record<string, unknown> {
  const fields = requireObject(body);
  const accepted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (READ_ONLY_FIELDS.has(key)) {
      continue;
    }
    if (!SNAKE_CASE.test(key)) {
      throw new CoopelApiError(
        400,
        "invalid_request",
        `Field "${key}" is not snake_case; use e.g. first_name`,
      );
    }
    if (STRING_FIELDS.has(key) && value !== null && typeof value !== "string") {
      throw new CoopelApiError(
        400,
        "invalid_request",
        `Field "${key}" must be a string or null`,
      );
    }
    if (
      key === "email" &&
      typeof value === "string" &&
      value !== "" &&
      !/^[^\s@]+@[^\s@]+$/.test(value)
    ) {
      throw new CoopelApiError(
        400,
        "invalid_request",
        `Field "email" is not an email address: "${value}"`,
      );
    }
    if (key === "tags" && value !== null) {
      accepted.tags = validateTags(value);
      continue;
    }
    accepted[key] = value;
  }
  return accepted;
}

export function validateTags(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((tag) => typeof tag === "string")) {
    throw new CoopelApiError(
      400,
      "invalid_request",
      `Field "tags" must be an array of strings`,
    );
  }
  return [...new Set(value)];
}

export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new CoopelApiError(
      400,
      "invalid_request",
      "Request body must be a JSON object",
    );
  }
  return body as Record<string, unknown>;
}
