import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import {
  touch,
  type CoopelNote,
  type CoopelStore,
  type CoopelTask,
} from "./coopel-store.js";
import {
  CoopelApiError,
  notFound,
  requireObject,
  validateContactFields,
} from "./coopel-validation.js";

type ContactParams = { contactId: string };
type TaskParams = { contactId: string; taskId: string };
type NoteParams = { contactId: string; id: string };

const TASK_READ_ONLY = new Set([
  "id",
  "contact_id",
  "created_at",
  "updated_at",
]);

/** The due date the sandbox stores for a task created without `due_date`. */
export type TaskDueDateDefault = "none" | "created_at";

/** Adds the task, note and appointment routes under `/contacts/:contactId`. */
export function registerCoopelRecordRoutes(
  app: FastifyInstance,
  store: CoopelStore,
  dueDateDefault: TaskDueDateDefault = "none",
): void {
  registerTaskRoutes(app, store, dueDateDefault);
  registerNoteRoutes(app, store);
  app.get<{ Params: ContactParams }>(
    "/contacts/:contactId/appointments",
    (request) => {
      store.getContact(request.params.contactId);
      return {
        appointments: store.appointments.get(request.params.contactId) ?? [],
      };
    },
  );
}

/**
 * Creates a task of a contact, by the API or by a user. With `created_at`
 * as `dueDateDefault`, a task without `due_date` gets its creation time.
 */
export function createCoopelTask(
  store: CoopelStore,
  contactId: string,
  body: unknown,
  dueDateDefault: TaskDueDateDefault,
): CoopelTask {
  const tasks = recordsOf(store, store.tasks, contactId);
  const fields = validateRecordFields(body, "title");
  if (typeof fields.title !== "string" || fields.title === "") {
    throw new CoopelApiError(
      400,
      "invalid_request",
      `Field "title" is required and must be a non-empty string`,
    );
  }
  const now = new Date().toISOString();
  const task: CoopelTask = {
    ...fields,
    id: randomUUID(),
    contact_id: contactId,
    title: fields.title,
    completed: fields.completed === true,
    created_at: now,
    updated_at: now,
  };
  if (dueDateDefault === "created_at" && task.due_date == null)
    task.due_date = now;
  tasks.set(task.id, task);
  store.onTaskChange?.("task.created", structuredClone(task));
  return task;
}

/** Merges fields into a task, by the API or by a user: null removes a field. */
export function updateCoopelTask(
  store: CoopelStore,
  params: TaskParams,
  body: unknown,
): CoopelTask {
  const task = findTask(store, params);
  const fields = validateRecordFields(body, "title");
  if (
    "title" in fields &&
    (typeof fields.title !== "string" || fields.title === "")
  ) {
    throw new CoopelApiError(
      400,
      "invalid_request",
      `Field "title" must be a non-empty string`,
    );
  }
  mergeFields(task, fields);
  store.onTaskChange?.("task.updated", structuredClone(task));
  return task;
}

/** Deletes a task, by the API or by a user. */
export function deleteCoopelTask(
  store: CoopelStore,
  params: TaskParams,
): CoopelTask {
  const task = findTask(store, params);
  store.tasks.get(params.contactId)?.delete(params.taskId);
  store.onTaskChange?.("task.deleted", structuredClone(task));
  return task;
}

function registerTaskRoutes(
  app: FastifyInstance,
  store: CoopelStore,
  dueDateDefault: TaskDueDateDefault,
): void {
  app.get<{ Params: ContactParams }>(
    "/contacts/:contactId/tasks",
    (request) => ({
      tasks: [
        ...recordsOf(store, store.tasks, request.params.contactId).values(),
      ],
    }),
  );

  app.post<{ Params: ContactParams }>(
    "/contacts/:contactId/tasks",
    (request, reply) => {
      const task = createCoopelTask(
        store,
        request.params.contactId,
        request.body,
        dueDateDefault,
      );
      void reply.code(201);
      return { task };
    },
  );

  app.get<{ Params: TaskParams }>(
    "/contacts/:contactId/tasks/:taskId",
    (request) => ({
      task: findTask(store, request.params),
    }),
  );

  app.put<{ Params: TaskParams }>(
    "/contacts/:contactId/tasks/:taskId",
    (request) => ({
      task: updateCoopelTask(store, request.params, request.body),
    }),
  );

  app.delete<{ Params: TaskParams }>(
    "/contacts/:contactId/tasks/:taskId",
    (request) => {
      deleteCoopelTask(store, request.params);
      return { deleted: true };
    },
  );

  app.put<{ Params: TaskParams }>(
    "/contacts/:contactId/tasks/:taskId/completed",
    (request) => {
      const task = findTask(store, request.params);
      const completed = requireObject(request.body).completed;
      if (typeof completed !== "boolean") {
        throw new CoopelApiError(
          400,
          "invalid_request",
          `Field "completed" is required and must be true or false`,
        );
      }
      task.completed = completed;
      touch(task);
      store.onTaskChange?.("task.completed", structuredClone(task));
      return { task };
    },
  );
}

function registerNoteRoutes(app: FastifyInstance, store: CoopelStore): void {
  app.get<{ Params: ContactParams }>(
    "/contacts/:contactId/notes",
    (request) => ({
      notes: [
        ...recordsOf(store, store.notes, request.params.contactId).values(),
      ],
    }),
  );

  app.post<{ Params: ContactParams }>(
    "/contacts/:contactId/notes",
    (request, reply) => {
      const contactId = request.params.contactId;
      const notes = recordsOf(store, store.notes, contactId);
      const fields = validateRecordFields(request.body, "body");
      if (typeof fields.body !== "string" || fields.body === "") {
        throw new CoopelApiError(
          400,
          "invalid_request",
          `Field "body" is required and must be a non-empty string`,
        );
      }
      const now = new Date().toISOString();
      const note: CoopelNote = {
        ...fields,
        id: randomUUID(),
        contact_id: contactId,
        body: fields.body,
        created_at: now,
        updated_at: now,
      };
      notes.set(note.id, note);
      void reply.code(201);
      return { note };
    },
  );

  app.get<{ Params: NoteParams }>(
    "/contacts/:contactId/notes/:id",
    (request) => ({
      note: findNote(store, request.params),
    }),
  );

  app.put<{ Params: NoteParams }>(
    "/contacts/:contactId/notes/:id",
    (request) => {
      const note = findNote(store, request.params);
      const fields = validateRecordFields(request.body, "body");
      if (
        "body" in fields &&
        (typeof fields.body !== "string" || fields.body === "")
      ) {
        throw new CoopelApiError(
          400,
          "invalid_request",
          `Field "body" must be a non-empty string`,
        );
      }
      mergeFields(note, fields);
      return { note };
    },
  );

  app.delete<{ Params: NoteParams }>(
    "/contacts/:contactId/notes/:id",
    (request) => {
      findNote(store, request.params);
      store.notes.get(request.params.contactId)?.delete(request.params.id);
      return { deleted: true };
    },
  );
}

/** Returns the records of a contact, creating the empty map on first use; throws 404 for an unknown contact. */
function recordsOf<T>(
  store: CoopelStore,
  all: Map<string, Map<string, T>>,
  contactId: string,
): Map<string, T> {
  store.getContact(contactId);
  let records = all.get(contactId);
  if (records === undefined) {
    records = new Map();
    all.set(contactId, records);
  }
  return records;
}

function findTask(store: CoopelStore, params: TaskParams): CoopelTask {
  const task = recordsOf(store, store.tasks, params.contactId).get(
    params.taskId,
  );
  if (task === undefined) {
    throw notFound("Task", params.taskId);
  }
  return task;
}

function findNote(store: CoopelStore, params: NoteParams): CoopelNote {
  const note = recordsOf(store, store.notes, params.contactId).get(params.id);
  if (note === undefined) {
    throw notFound("Note", params.id);
  }
  return note;
}

/**
 * Checks a task or note body: snake_case keys, `completed` boolean when given. The required
 * field (`title` or `body`) may not be null. Read-only keys are dropped.
 */
function validateRecordFields(
  body: unknown,
  requiredField: string,
): Record<string, unknown> {
  const fields = validateContactFields(body);
  for (const key of TASK_READ_ONLY) {
    delete fields[key];
  }
  if ("completed" in fields && typeof fields.completed !== "boolean") {
    throw new CoopelApiError(
      400,
      "invalid_request",
      `Field "completed" must be true or false`,
    );
  }
  if (fields[requiredField] === null) {
    throw new CoopelApiError(
      400,
      "invalid_request",
      `Field "${requiredField}" cannot be null`,
    );
  }
  return fields;
}

/** Merges fields into a record: null removes a field, anything else replaces it. */
function mergeFields(
  record: { updated_at: string; [field: string]: unknown },
  fields: Record<string, unknown>,
): void {
  for (const [key, value] of Object.entries(fields)) {
    if (value === null) {
      delete record[key];
    } else {
      record[key] = value;
    }
  }
  touch(record);
}
