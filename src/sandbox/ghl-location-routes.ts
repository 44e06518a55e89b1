import type { FastifyInstance } from "fastify";
import { GhlApiError } from "./ghl-errors.js";
import { requireLocation, type LocationOf } from "./ghl-routes.js";
import { newGhlId, type GhlStore, type GhlTask } from "./ghl-store.js";

/** A contact custom field definition of a sandbox location. */
export interface GhlCustomFieldDefinition {
  id: string;
  name: string;
  fieldKey: string;
  dataType: string;
  model: "contact";
  locationId: string;
}

/** A business of a sandbox location (`BusinessDto` of the businesses spec). */
export interface GhlBusiness {
  id: string;
  name: string;
  locationId: string;
  website?: string;
  address?: string;
  city?: string;
  state?: string;
  postalCode?: string;
  country?: string;
  phone?: string;
  email?: string;
}

/** Location-level records of the sandbox that the contacts store does not hold. */
export class GhlLocationData {
  /** Custom field definitions by location id. */
  readonly customFields = new Map<string, GhlCustomFieldDefinition[]>();
  /** Businesses by id. */
  readonly businesses = new Map<string, GhlBusiness>();

  clear(): void {
    this.customFields.clear();
    this.businesses.clear();
  }

  /** Adds a custom field definition; the id is generated when not given. */
  addCustomField(
    locationId: string,
    field: { id?: string; name: string; fieldKey: string; dataType: string },
  ): GhlCustomFieldDefinition {
    const definition: GhlCustomFieldDefinition = {
      id: field.id ?? newGhlId(),
      name: field.name,
      fieldKey: field.fieldKey,
      dataType: field.dataType,
      model: "contact",
      locationId,
    };
    const list = this.customFields.get(locationId) ?? [];
    list.push(definition);
    this.customFields.set(locationId, list);
    return definition;
  }

  addBusiness(
    business: Omit<GhlBusiness, "id"> & { id?: string },
  ): GhlBusiness {
    const stored = { ...business, id: business.id ?? newGhlId() };
    this.businesses.set(stored.id, stored);
    return stored;
  }
}

interface TaskSearchBody {
  contactId?: unknown;
  completed?: unknown;
  limit?: unknown;
  skip?: unknown;
}

/**
 * Adds `GET /locations/:locationId/customFields`, `GET /businesses/:id` and
 * `POST /locations/:locationId/tasks/search`.
 */
export function registerGhlLocationRoutes(
  app: FastifyInstance,
  store: GhlStore,
  data: GhlLocationData,
  locationOf: LocationOf,
): void {
  app.get<{
    Params: { locationId: string };
    Querystring: { model?: string };
  }>("/locations/:locationId/customFields", (request) => {
    const locationId = requireLocation(
      request,
      locationOf,
      request.params.locationId,
    );
    const model = request.query.model ?? "all";
    const fields = data.customFields.get(locationId) ?? [];
    return {
      customFields:
        model === "all" || model === "contact"
          ? fields.map((field) => ({ ...field }))
          : [],
    };
  });

  app.get<{ Params: { businessId: string } }>(
    "/businesses/:businessId",
    (request) => {
      const business = data.businesses.get(request.params.businessId);
      if (business === undefined || business.locationId !== locationOf(request))
        throw new GhlApiError(400, {
          statusCode: 400,
          message: `Business with id ${request.params.businessId} not found`,
        });
      return { business: { ...business } };
    },
  );

  app.post<{ Params: { locationId: string }; Body: TaskSearchBody }>(
    "/locations/:locationId/tasks/search",
    (request) => {
      const locationId = requireLocation(
        request,
        locationOf,
        request.params.locationId,
      );
      const body = request.body ?? {};
      const contactIds = Array.isArray(body.contactId)
        ? new Set(body.contactId.map(String))
        : null;
      const limit = typeof body.limit === "number" ? body.limit : 25;
      const skip = typeof body.skip === "number" ? body.skip : 0;
      const contacts = store.contacts.get(locationId) ?? new Map();
      const tasks: GhlTask[] = [];
      for (const [contactId, byId] of store.tasks) {
        if (!contacts.has(contactId)) continue;
        if (contactIds && !contactIds.has(contactId)) continue;
        for (const task of byId.values()) {
          if (
            typeof body.completed === "boolean" &&
            task.completed !== body.completed
          )
            continue;
          tasks.push(task);
        }
      }
      return { tasks: tasks.slice(skip, skip + limit) };
    },
  );
}
