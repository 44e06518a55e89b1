import type { FastifyInstance, FastifyRequest } from "fastify";
import { GhlApiError, unprocessable } from "./ghl-errors.js";
import type { LocationOf } from "./ghl-routes.js";
import {
  newGhlId,
  type GhlNote,
  type GhlStore,
  type GhlTask,
} from "./ghl-store.js";

const TASK_FIELDS: Record<string, "string" | "boolean"> = {
  title: "string",
  body: "string",
  dueDate: "string",
  completed: "boolean",
  assignedTo: "string",
};
const NOTE_FIELDS: Record<string, "string" | "boolean"> = {
  userId: "string",
  body: "string",
  title: "string",
  color: "string",
  pinned: "boolean",
};

type ContactParams = { contactId: string };
type TaskParams = ContactParams & { taskId: string };
type NoteParams = ContactParams & { id: string };

/** Checks a body against a DTO's fields; `required` fields must be present. Throws 422. */
function validateBody(
  body: unknown,
  fields: Record<string, "string" | "boolean">,
  required: string[],
): Record<string, unknown> {
  const input = (
    typeof body === "object" && body !== null ? body : {}
  ) as Record<string, unknown>;
  const messages: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    const type = fields[key];
    if (type === undefined) messages.push(`property ${key} should not exist`);
    else if (typeof value !== type)
      messages.push(
        type === "boolean"
          ? `${key} must be a boolean value`
          : `${key} must be a string`,
      );
  }
  for (const key of required) {
    if (input[key] === undefined) messages.push(`${key} should not be empty`);
  }
  if (messages.length > 0) throw unprocessable(messages);
  return input;
}

function recordNotFound(kind: string, id: string): GhlApiError {
  return new GhlApiError(400, {
    statusCode: 400,
    message: `${kind} with id ${id} not found`,
  });
}

/** Adds the task, note and appointment routes under `/contacts/:contactId`. */
export function registerGhlRecordRoutes(
  app: FastifyInstance,
  store: GhlStore,
  locationOf: LocationOf,
): void {
  const recordsOf = <T>(
    all: Map<string, Map<string, T>>,
    request: FastifyRequest<{ Params: ContactParams }>,
  ): Map<string, T> => {
    const contactId = request.params.contactId;
    store.getContact(locationOf(request), contactId);
    let map = all.get(contactId);
    if (map === undefined) {
      map = new Map();
      all.set(contactId, map);
    }
    return map;
  };
  const findTask = (
    request: FastifyRequest<{ Params: TaskParams }>,
  ): GhlTask => {
    const task = recordsOf(store.tasks, request).get(request.params.taskId);
    if (task === undefined) throw recordNotFound("Task", request.params.taskId);
    return task;
  };
  const findNote = (
    request: FastifyRequest<{ Params: NoteParams }>,
  ): GhlNote => {
    const note = recordsOf(store.notes, request).get(request.params.id);
    if (note === undefined) throw recordNotFound("Note", request.params.id);
    return note;
  };

  app.get<{ Params: ContactParams }>(
    "/contacts/:contactId/tasks",
    (request) => ({
      tasks: [...recordsOf(store.tasks, request).values()],
    }),
  );
  app.post<{ Params: ContactParams }>(
    "/contacts/:contactId/tasks",
    (request, reply) => {
      const tasks = recordsOf(store.tasks, request);
      const input = validateBody(request.body, TASK_FIELDS, [
        "title",
        "dueDate",
        "completed",
      ]);
      const task = {
        ...input,
        id: newGhlId(),
        contactId: request.params.contactId,
      } as GhlTask;
      tasks.set(task.id, task);
      void reply.code(201);
      return { task };
    },
  );
  app.get<{ Params: TaskParams }>(
    "/contacts/:contactId/tasks/:taskId",
    (request) => ({ task: findTask(request) }),
  );
  app.put<{ Params: TaskParams }>(
    "/contacts/:contactId/tasks/:taskId",
    (request) => {
      const task = findTask(request);
      Object.assign(task, validateBody(request.body, TASK_FIELDS, []));
      return { task };
    },
  );
  app.put<{ Params: TaskParams }>(
    "/contacts/:contactId/tasks/:taskId/completed",
    (request) => {
      const task = findTask(request);
      task.completed = validateBody(request.body, { completed: "boolean" }, [
        "completed",
      ]).completed as boolean;
      return { task };
    },
  );
  app.delete<{ Params: TaskParams }>(
    "/contacts/:contactId/tasks/:taskId",
    (request) => {
      findTask(request);
      store.tasks.get(request.params.contactId)?.delete(request.params.taskId);
      return { succeded: true };
    },
  );

  app.get<{ Params: ContactParams }>(
    "/contacts/:contactId/notes",
    (request) => ({
      notes: [...recordsOf(store.notes, request).values()],
    }),
  );
  app.post<{ Params: ContactParams }>(
    "/contacts/:contactId/notes",
    (request, reply) => {
      const notes = recordsOf(store.notes, request);
      const input = validateBody(request.body, NOTE_FIELDS, ["body"]);
      const note = {
        ...input,
        id: newGhlId(),
        contactId: request.params.contactId,
        dateAdded: new Date().toISOString(),
      } as GhlNote;
      notes.set(note.id, note);
      void reply.code(201);
      return { note };
    },
  );
  app.get<{ Params: NoteParams }>(
    "/contacts/:contactId/notes/:id",
    (request) => ({ note: findNote(request) }),
  );
  app.put<{ Params: NoteParams }>(
    "/contacts/:contactId/notes/:id",
    (request) => {
      const note = findNote(request);
      Object.assign(note, validateBody(request.body, NOTE_FIELDS, []));
      return { note };
    },
  );
  app.delete<{ Params: NoteParams }>(
    "/contacts/:contactId/notes/:id",
    (request) => {
      findNote(request);
      store.notes.get(request.params.contactId)?.delete(request.params.id);
      return { succeded: true };
    },
  );

  app.get<{ Params: ContactParams }>(
    "/contacts/:contactId/appointments",
    (request) => {
      store.getContact(locationOf(request), request.params.contactId);
      return { events: [] };
    },
  );
}
