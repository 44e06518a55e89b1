import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  CREATE_FIELDS,
  UPDATE_FIELDS,
  UPSERT_FIELDS,
  validateContactInput,
  type GhlContact,
} from "./ghl-contact-fields.js";
import { GhlApiError, unprocessable } from "./ghl-errors.js";
import { searchContacts, type SearchFaultState } from "./ghl-search.js";
import type { GhlStore } from "./ghl-store.js";

/** Returns the location that the request's access token belongs to (set by the auth hook). */
export type LocationOf = (request: FastifyRequest) => string;

type ContactParams = { contactId: string };

export function forbiddenLocation(): GhlApiError {
  return new GhlApiError(403, {
    statusCode: 403,
    message: "The token does not have access to this location.",
  });
}

/** Checks that `locationId` is given and that the request's token may use it; returns it. */
export function requireLocation(
  request: FastifyRequest,
  locationOf: LocationOf,
  locationId: unknown,
): string {
  if (typeof locationId !== "string" || locationId === "") {
    throw unprocessable([
      "locationId should not be empty",
      "locationId must be a string",
    ]);
  }
  // NOTE: the status and message for a token of another location are assumed, not documented.
  if (locationId !== locationOf(request)) {
    throw forbiddenLocation();
  }
  return locationId;
}

/** Copy of a contact as `GET /contacts/:contactId` returns it: `dateOfBirth` as `YYYY-MM-DD`. */
function forGet(contact: GhlContact): GhlContact {
  const copy = structuredClone(contact);
  if (copy.dateOfBirth !== undefined) {
    copy.dateOfBirth = copy.dateOfBirth.slice(0, 10);
  }
  return copy;
}

function tagsOf(body: unknown): string[] {
  const tags = (body as { tags?: unknown } | null)?.tags;
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === "string")) {
    throw unprocessable([
      "tags must be an array",
      "each value in tags must be a string",
    ]);
  }
  return tags;
}

/** Adds the contact routes of the contacts spec that the sync uses. */
export function registerGhlContactRoutes(
  app: FastifyInstance,
  store: GhlStore,
  locationOf: LocationOf,
  searchFaults?: SearchFaultState,
): void {
  app.post("/contacts/", (request, reply) => {
    const input = validateContactInput(request.body, CREATE_FIELDS);
    const locationId = requireLocation(request, locationOf, input.locationId);
    store.rejectDuplicate(locationId, input);
    const contact = store.createContact(locationId, input);
    void reply.code(201);
    return { contact };
  });

  app.post("/contacts/upsert", (request) => {
    const input = validateContactInput(request.body, UPSERT_FIELDS);
    const locationId = requireLocation(request, locationOf, input.locationId);
    const skipMatching =
      store.allowsDuplicates(locationId) &&
      input.createNewIfDuplicateAllowed === true;
    const match = skipMatching
      ? undefined
      : store.findDuplicate(
          locationId,
          input.email,
          input.phone,
          input.country,
        );
    if (match === undefined) {
      return {
        new: true,
        contact: store.createContact(locationId, input),
        traceId: request.id,
      };
    }
    // NOTE: when email and phone match different contacts, the real API updates the email match
    // and ignores the phone. The sandbox applies every field, phone included, to the email match.
    return {
      new: false,
      contact: store.updateContact(locationId, match.contact.id, input),
      traceId: request.id,
    };
  });

  app.post("/contacts/search", (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const locationId = requireLocation(request, locationOf, body.locationId);
    const search = () =>
      searchContacts(store.contacts.get(locationId)?.values() ?? [], body);
    return searchFaults ? searchFaults.apply(search) : search();
  });

  app.get<{ Querystring: Record<string, string | undefined> }>(
    "/contacts/search/duplicate",
    (request) => {
      const locationId = requireLocation(
        request,
        locationOf,
        request.query.locationId,
      );
      // NOTE: the response shape is not in the spec; `{contact}` with null for no match is assumed.
      const match = store.findDuplicate(
        locationId,
        request.query.email,
        request.query.number,
      );
      return {
        contact: match === undefined ? null : structuredClone(match.contact),
      };
    },
  );

  app.get<{ Params: ContactParams }>("/contacts/:contactId", (request) => ({
    contact: forGet(
      store.getContact(locationOf(request), request.params.contactId),
    ),
  }));

  app.put<{ Params: ContactParams }>("/contacts/:contactId", (request) => {
    const input = validateContactInput(request.body, UPDATE_FIELDS);
    const contact = store.updateContact(
      locationOf(request),
      request.params.contactId,
      input,
    );
    return { succeded: true, contact };
  });

  app.delete<{ Params: ContactParams }>("/contacts/:contactId", (request) => {
    store.deleteContact(locationOf(request), request.params.contactId);
    return { succeded: true };
  });

  app.post<{ Params: ContactParams }>(
    "/contacts/:contactId/tags",
    (request, reply) => {
      const tags = store.addTags(
        locationOf(request),
        request.params.contactId,
        tagsOf(request.body),
      );
      void reply.code(201);
      return { tags };
    },
  );

  app.delete<{ Params: ContactParams }>(
    "/contacts/:contactId/tags",
    (request) => ({
      tags: store.removeTags(
        locationOf(request),
        request.params.contactId,
        tagsOf(request.body),
      ),
    }),
  );
}
