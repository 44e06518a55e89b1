/** OpenAPI 3.1 description of the routes the Coopel sandbox serves. */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({
  $ref: `#/components/schemas/${name}`,
});
const nullableString: Schema = { type: ["string", "null"] };
const tagList: Schema = { type: "array", items: { type: "string" } };

const contactFields: Schema = {
  type: "object",
  description:
    "Contact fields in snake_case. Other snake_case fields are stored as sent; null clears a field on PUT.",
  properties: {
    first_name: nullableString,
    last_name: nullableString,
    email: nullableString,
    phone: nullableString,
    company_name: nullableString,
    address1: nullableString,
    city: nullableString,
    state: nullableString,
    postal_code: nullableString,
    country: nullableString,
    website: nullableString,
    date_of_birth: nullableString,
    source: nullableString,
    external_id: nullableString,
    business_id: nullableString,
    tags: { type: ["array", "null"], items: { type: "string" } },
  },
  additionalProperties: true,
};

const timestamps: Schema = {
  id: { type: "string" },
  created_at: { type: "string", format: "date-time" },
  updated_at: { type: "string", format: "date-time" },
};

const schemas: Record<string, Schema> = {
  ContactFields: contactFields,
  Contact: {
    allOf: [
      ref("ContactFields"),
      {
        type: "object",
        required: ["id", "created_at", "updated_at"],
        properties: timestamps,
      },
    ],
  },
  ContactPage: {
    type: "object",
    required: ["contacts", "next_cursor"],
    properties: {
      contacts: { type: "array", items: ref("Contact") },
      next_cursor: {
        type: ["string", "null"],
        description: "Opaque cursor of the next page; null on the last page.",
      },
    },
  },
  Task: {
    type: "object",
    required: [
      "id",
      "contact_id",
      "title",
      "completed",
      "created_at",
      "updated_at",
    ],
    properties: {
      ...timestamps,
      contact_id: { type: "string" },
      title: { type: "string" },
      body: nullableString,
      due_date: { type: ["string", "null"], format: "date-time" },
      assigned_to: nullableString,
      completed: { type: "boolean" },
    },
    additionalProperties: true,
  },
  Note: {
    type: "object",
    required: ["id", "contact_id", "body", "created_at", "updated_at"],
    properties: {
      ...timestamps,
      contact_id: { type: "string" },
      body: { type: "string" },
      user_id: nullableString,
    },
    additionalProperties: true,
  },
  Tags: {
    type: "object",
    required: ["tags"],
    properties: { tags: tagList },
  },
  Error: {
    type: "object",
    required: ["error", "message"],
    properties: { error: { type: "string" }, message: { type: "string" } },
  },
};

const errorResponse = (description: string): Schema => ({
  description,
  content: { "application/json": { schema: ref("Error") } },
});

function jsonResponse(
  description: string,
  properties: Record<string, Schema>,
): Schema {
  return {
    description,
    content: {
      "application/json": {
        schema: {
          type: "object",
          required: Object.keys(properties),
          properties,
        },
      },
    },
  };
}

const jsonBody = (schema: Schema): Schema => ({
  required: true,
  content: { "application/json": { schema } },
});

const pathParam = (name: string): Schema => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string" },
});
const queryParam = (
  name: string,
  schema: Schema,
  description: string,
): Schema => ({
  name,
  in: "query",
  required: false,
  schema,
  description,
});

const pagingParams = [
  queryParam(
    "limit",
    { type: "integer", minimum: 1, maximum: 500, default: 100 },
    "Page size.",
  ),
  queryParam("cursor", { type: "string" }, "next_cursor of the previous page."),
];

function operation(
  operationId: string,
  responses: Record<string, Schema>,
  extra: Schema = {},
): Schema {
  return {
    operationId,
    ...extra,
    responses: {
      ...responses,
      "400": errorResponse("Invalid request"),
      "401": errorResponse("Missing or invalid bearer token"),
      "404": errorResponse("Contact or record not found"),
    },
  };
}

const contactId = pathParam("contactId");
const deleted = jsonResponse("Deleted", {
  deleted: { type: "boolean", const: true },
});

const paths: Record<string, Schema> = {
  "/contacts/": {
    get: operation(
      "list-contacts",
      {
        "200": {
          description: "A page of contacts",
          content: { "application/json": { schema: ref("ContactPage") } },
        },
      },
      {
        parameters: [
          ...pagingParams,
          queryParam("external_id", { type: "string" }, "Exact external_id."),
          queryParam(
            "email",
            { type: "string" },
            "Email, compared case-insensitively.",
          ),
          queryParam("phone", { type: "string" }, "Exact phone."),
          queryParam(
            "updated_since",
            { type: "string", format: "date-time" },
            "Only contacts with updated_at at or after this time.",
          ),
        ],
      },
    ),
    post: operation(
      "create-contact",
      { "201": jsonResponse("Created", { contact: ref("Contact") }) },
      { requestBody: jsonBody(ref("ContactFields")) },
    ),
  },
  "/contacts/business/{businessId}": {
    get: operation(
      "list-contacts-by-business",
      {
        "200": {
          description: "A page of contacts with this business_id",
          content: { "application/json": { schema: ref("ContactPage") } },
        },
      },
      {
        parameters: [pathParam("businessId"), ...pagingParams],
      },
    ),
  },
  "/contacts/{contactId}": {
    parameters: [contactId],
    get: operation("get-contact", {
      "200": jsonResponse("The contact", { contact: ref("Contact") }),
    }),
    put: operation(
      "update-contact",
      {
        "200": jsonResponse("The merged contact", { contact: ref("Contact") }),
      },
      { requestBody: jsonBody(ref("ContactFields")) },
    ),
    delete: operation("delete-contact", { "200": deleted }),
  },
  "/contacts/{contactId}/tasks": {
    parameters: [contactId],
    get: operation("list-tasks", {
      "200": jsonResponse("Tasks of the contact", {
        tasks: { type: "array", items: ref("Task") },
      }),
    }),
    post: operation(
      "create-task",
      { "201": jsonResponse("Created", { task: ref("Task") }) },
      { requestBody: jsonBody(ref("Task")) },
    ),
  },
  "/contacts/{contactId}/tasks/{taskId}": {
    parameters: [contactId, pathParam("taskId")],
    get: operation("get-task", {
      "200": jsonResponse("The task", { task: ref("Task") }),
    }),
    put: operation(
      "update-task",
      { "200": jsonResponse("The merged task", { task: ref("Task") }) },
      { requestBody: jsonBody(ref("Task")) },
    ),
    delete: operation("delete-task", { "200": deleted }),
  },
  "/contacts/{contactId}/tasks/{taskId}/completed": {
    parameters: [contactId, pathParam("taskId")],
    put: operation(
      "update-task-completed",
      { "200": jsonResponse("The task", { task: ref("Task") }) },
      {
        requestBody: jsonBody({
          type: "object",
          required: ["completed"],
          properties: { completed: { type: "boolean" } },
        }),
      },
    ),
  },
  "/contacts/{contactId}/notes": {
    parameters: [contactId],
    get: operation("list-notes", {
      "200": jsonResponse("Notes of the contact", {
        notes: { type: "array", items: ref("Note") },
      }),
    }),
    post: operation(
      "create-note",
      { "201": jsonResponse("Created", { note: ref("Note") }) },
      { requestBody: jsonBody(ref("Note")) },
    ),
  },
  "/contacts/{contactId}/notes/{id}": {
    parameters: [contactId, pathParam("id")],
    get: operation("get-note", {
      "200": jsonResponse("The note", { note: ref("Note") }),
    }),
    put: operation(
      "update-note",
      { "200": jsonResponse("The merged note", { note: ref("Note") }) },
      { requestBody: jsonBody(ref("Note")) },
    ),
    delete: operation("delete-note", { "200": deleted }),
  },
  "/contacts/{contactId}/appointments": {
    parameters: [contactId],
    get: operation("list-appointments", {
      "200": jsonResponse("Appointments of the contact", {
        appointments: { type: "array", items: { type: "object" } },
      }),
    }),
  },
  "/contacts/{contactId}/tags": {
    parameters: [contactId],
    post: operation(
      "add-tags",
      { "200": jsonResponse("All tags after the change", { tags: tagList }) },
      { requestBody: jsonBody(ref("Tags")) },
    ),
    delete: operation(
      "remove-tags",
      { "200": jsonResponse("Remaining tags", { tags: tagList }) },
      { requestBody: jsonBody(ref("Tags")) },
    ),
  },
};

/** Builds the OpenAPI document served at `GET /openapi.json`; a new object on each call. */
export function buildCoopelOpenApi(): Schema {
  return structuredClone({
    openapi: "3.1.0",
    info: {
      title: "Coopel API (sandbox)",
      version: "1.0.0",
      description:
        "Routes of the Coopel sandbox, which are the defaults of the Coopel connector. Every route listed here needs a bearer token.",
    },
    servers: [{ url: "/" }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
  });
}
