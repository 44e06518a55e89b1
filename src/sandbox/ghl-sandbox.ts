import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import type { FaultConfig } from "./faults.js";
import { SearchFaultState, type SearchFaults } from "./ghl-search.js";
import {
  CREATE_FIELDS,
  validateContactInput,
  type GhlContact,
  type GhlContactInput,
} from "./ghl-contact-fields.js";
import { GhlApiError } from "./ghl-errors.js";
import { GhlOAuthServer, type GhlOAuthOptions } from "./ghl-oauth.js";
import { GhlRateLimiter, type GhlRateLimits } from "./ghl-rate-limit.js";
import {
  GhlLocationData,
  registerGhlLocationRoutes,
  type GhlBusiness,
  type GhlCustomFieldDefinition,
} from "./ghl-location-routes.js";
import { registerGhlRecordRoutes } from "./ghl-records.js";
import { registerGhlContactRoutes } from "./ghl-routes.js";
import {
  GhlStore,
  type CreateContactOptions,
  type GhlNote,
  type GhlTask,
} from "./ghl-store.js";
import type { RecordedRequest, RequestPattern } from "./request-log.js";
import {
  bearerToken,
  createSandboxServer,
  listenOnLoopback,
  SANDBOX_ADMIN_PREFIX,
  type SandboxServerOptions,
} from "./sandbox-server.js";
import {
  sendWebhook,
  type SendWebhookOptions,
  type WebhookDelivery,
} from "./webhook-sender.js";
import { loadSandboxSigningKeys } from "./webhook-signing.js";
import { buildContactWebhookPayload } from "./ghl-webhook-payload.js";

/** A sub-account of the GHL sandbox with its static access token (like a private integration token). */
export interface GhlSandboxLocation {
  id: string;
  token: string;
  /** The location's "Allow Duplicate Contact" setting; default false. */
  allowDuplicates?: boolean;
}

export interface GhlSandboxOptions extends SandboxServerOptions {
  locations: GhlSandboxLocation[];
  /** OAuth client accepted at `POST /oauth/token`; without it every token request gets 401. */
  oauth?: GhlOAuthOptions;
  /** Per-location request budgets; default none (no limit and no rate-limit headers). */
  rateLimits?: GhlRateLimits;
  /** Pagination faults of the contact search; also settable with `setSearchFaults` or `PUT /_sandbox/search-faults`. */
  searchFaults?: SearchFaults;
}

/** A running GHL sandbox, its in-memory state and helpers that act as a GHL user or as GHL itself. */
export interface GhlSandbox {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Contacts by location id, then contact id. */
  contacts: Map<string, Map<string, GhlContact>>;
  /** Tasks by contact id, then task id. */
  tasks: Map<string, Map<string, GhlTask>>;
  /** Notes by contact id, then note id. */
  notes: Map<string, Map<string, GhlNote>>;
  /** Custom field definitions by location id. */
  customFields: Map<string, GhlCustomFieldDefinition[]>;
  /** Businesses by id. */
  businesses: Map<string, GhlBusiness>;
  /** Every request received, oldest first. */
  requests: RecordedRequest[];
  /** Counts requests by method (`*` for any) and route template, concrete path or RegExp on the path. */
  countRequests(method: string, pattern?: RequestPattern): number;
  setFaults(faults: FaultConfig | undefined): void;
  /** Replaces the contact search's pagination faults; undefined removes them. */
  setSearchFaults(faults: SearchFaults | undefined): void;
  /** Merges contact `fromId` into `intoId` as a GHL user would; `fromId` then reads as not found. Returns the survivor. */
  mergeContact(locationId: string, fromId: string, intoId: string): GhlContact;
  /** Adds a contact custom field definition to a location, as an admin in GHL would. */
  addCustomField(
    locationId: string,
    field: { id?: string; name: string; fieldKey: string; dataType: string },
  ): GhlCustomFieldDefinition;
  /** Adds a business, as a person in GHL would. */
  addBusiness(business: Omit<GhlBusiness, "id"> & { id?: string }): GhlBusiness;
  /** Deletes all contacts, tasks, notes, custom fields and businesses and clears the request log; locations, tokens and faults stay. */
  reset(): void;
  /** Public keys that verify this sandbox's webhook signatures, as PEM. */
  publicKeys: { ed25519: string; rsa: string };
  /** Issues a single-use OAuth authorization code for `locationId`, as the install redirect would. */
  issueAuthorizationCode(locationId: string): string;
  /**
   * Installs the app on locations of a company, as a bulk agency install
   * does, and issues a code whose exchange returns a company token.
   */
  issueCompanyAuthorizationCode(
    companyId: string,
    locationIds: string[],
  ): string;
  /** Expires OAuth access tokens (of one location or company, when given), so the next API call gets 401. */
  expireAccessTokens(subject?: string): void;
  /** Makes token refreshes of the location fail with 400 "Location is not active", or lifts that. */
  setLocationActive(locationId: string, active: boolean): void;
  /** Counts calls to `POST /oauth/token`, of one grant type (such as `refresh_token`) when given. */
  countTokenRequests(grantType?: string): number;
  setAllowDuplicates(locationId: string, allow: boolean): void;
  /** Creates a contact as a person in GHL would: no HTTP, no duplicate check. Returns a copy. */
  userCreateContact(
    locationId: string,
    fields: GhlContactInput,
    options?: CreateContactOptions,
  ): GhlContact;
  /** Updates a contact as a person in GHL would: missing fields stay, null or "" clears. Returns a copy. */
  userUpdateContact(
    locationId: string,
    id: string,
    fields: GhlContactInput,
  ): GhlContact;
  /** Deletes a contact as a person in GHL would and returns it as it was. */
  userDeleteContact(locationId: string, id: string): GhlContact;
  /**
   * Sets or clears a loopback URL that gets a signed contact webhook after
   * every successful contact write through the API (create, update, tags),
   * carrying the contact as it now is. GHL does not document whether its
   * own API writes fire webhooks; this lets tests assume they do.
   */
  setApiWriteWebhooks(url: string | null): void;
  /** Resolves when every API write webhook sent so far got a response or failed. */
  flushApiWriteWebhooks(): Promise<void>;
  /** POSTs a webhook signed with the sandbox keys; adds `webhookId` and `timestamp` when missing. */
  sendWebhook(
    targetUrl: string,
    payload: Record<string, unknown>,
    options?: SendWebhookOptions,
  ): Promise<WebhookDelivery>;
  close(): Promise<void>;
}

/** The only `Version` header value the contacts API accepts. */
export const GHL_API_VERSION = "2021-07-28";

const USER_FIELDS: ReadonlySet<string> = new Set(
  [...CREATE_FIELDS].filter((field) => field !== "locationId"),
);
const UNVERSIONED_ROUTES = new Set(["/oauth/token"]);
/** Routes that take an agency (company) token instead of a location token. */
const COMPANY_ROUTES = new Set([
  "/oauth/locationToken",
  "/oauth/installedLocations",
]);

/** Starts a GHL API simulator on a loopback address. */
export async function startGhlSandbox(
  options: GhlSandboxOptions,
): Promise<GhlSandbox> {
  const staticTokens = new Map<string, string>();
  for (const location of options.locations) {
    if (location.id === "" || location.token === "") {
      throw new Error(
        "Each GHL sandbox location needs a non-empty id and token",
      );
    }
    staticTokens.set(location.token, location.id);
  }
  const keys = loadSandboxSigningKeys();
  const { app, requestLog, faults } = createSandboxServer(options);
  const searchFaults = new SearchFaultState();
  searchFaults.set(options.searchFaults);
  const store = new GhlStore(options.locations);
  const locationData = new GhlLocationData();
  const oauth = new GhlOAuthServer(options.oauth);
  const rateLimiter =
    options.rateLimits === undefined
      ? undefined
      : new GhlRateLimiter(options.rateLimits);
  const requestLocations = new WeakMap<FastifyRequest, string>();
  const requestCompanies = new WeakMap<FastifyRequest, string>();
  const locationOf = (request: FastifyRequest): string => {
    const locationId = requestLocations.get(request);
    if (locationId === undefined)
      throw new Error(
        `No authenticated location for ${request.method} ${request.url}`,
      );
    return locationId;
  };

  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );
  registerErrorHandlers(app);
  let writeWebhookUrl: string | null = null;
  let writeWebhooks: Promise<void> = Promise.resolve();
  app.addHook("onSend", async (request, reply, payload) => {
    const type = apiWriteWebhookType(request.method, request.routeOptions.url);
    if (writeWebhookUrl === null || type === null || reply.statusCode >= 300)
      return payload;
    const locationId = requestLocations.get(request);
    let contactId = (request.params as { contactId?: string }).contactId;
    if (contactId === undefined && typeof payload === "string")
      contactId = (JSON.parse(payload) as { contact?: { id?: string } }).contact
        ?.id;
    const contact =
      locationId === undefined || contactId === undefined
        ? undefined
        : store.contacts.get(locationId)?.get(contactId);
    if (contact !== undefined) {
      const body = buildContactWebhookPayload(
        type === "ContactTagUpdate" ? "ContactUpdate" : type,
        contact,
      );
      body.type = type;
      const url = writeWebhookUrl;
      writeWebhooks = writeWebhooks.then(() =>
        sendWebhook(keys, url, body).then(
          () => undefined,
          () => undefined,
        ),
      );
    }
    return payload;
  });
  app.addHook("preHandler", async (request, reply) => {
    const route = request.routeOptions.url;
    if (
      route === undefined ||
      UNVERSIONED_ROUTES.has(route) ||
      route.startsWith(SANDBOX_ADMIN_PREFIX)
    )
      return undefined;
    if (request.headers.version !== GHL_API_VERSION) {
      // The real API's message for a missing or wrong Version header is not documented.
      return reply.code(400).send({
        statusCode: 400,
        message: `Version header must be ${GHL_API_VERSION}, got ${JSON.stringify(request.headers.version ?? null)}`,
        error: "Bad Request",
      });
    }
    const token = bearerToken(request.headers.authorization) ?? "";
    if (COMPANY_ROUTES.has(route)) {
      const companyId = oauth.companyOfAccessToken(token);
      if (companyId === undefined) {
        return reply.code(401).send({
          statusCode: 401,
          message: "Invalid token: access token is invalid",
          error: "Unauthorized",
        });
      }
      requestCompanies.set(request, companyId);
      return undefined;
    }
    const locationId =
      staticTokens.get(token) ?? oauth.locationOfAccessToken(token);
    if (locationId === undefined) {
      return reply.code(401).send({
        statusCode: 401,
        message: "Invalid token: access token is invalid",
        error: "Unauthorized",
      });
    }
    requestLocations.set(request, locationId);
    return rateLimiter?.apply(locationId, reply);
  });
  oauth.register(app);
  registerCompanyRoutes(app, oauth, (request) => requestCompanies.get(request));
  registerGhlContactRoutes(app, store, locationOf, searchFaults);
  registerSearchAdminRoutes(app, store, searchFaults);
  registerGhlRecordRoutes(app, store, locationOf);
  registerGhlLocationRoutes(app, store, locationData, locationOf);

  const url = await listenOnLoopback(app, options);
  return {
    url,
    contacts: store.contacts,
    tasks: store.tasks,
    notes: store.notes,
    customFields: locationData.customFields,
    businesses: locationData.businesses,
    addCustomField: (locationId, field) => {
      if (!store.hasLocation(locationId))
        throw new Error(`Unknown GHL sandbox location "${locationId}"`);
      return locationData.addCustomField(locationId, field);
    },
    addBusiness: (business) => locationData.addBusiness(business),
    requests: requestLog.entries,
    countRequests: (method, pattern) => requestLog.count(method, pattern),
    setFaults: (config) => faults.setConfig(config),
    setSearchFaults: (config) => searchFaults.set(config),
    mergeContact: (locationId, fromId, intoId) =>
      structuredClone(store.mergeContact(locationId, fromId, intoId)),
    reset: () => {
      store.clear();
      locationData.clear();
      requestLog.clear();
    },
    publicKeys: {
      ed25519: keys.ed25519PublicKeyPem,
      rsa: keys.rsaPublicKeyPem,
    },
    issueAuthorizationCode: (locationId) => {
      if (!store.hasLocation(locationId))
        throw new Error(`Unknown GHL sandbox location "${locationId}"`);
      return oauth.issueAuthorizationCode(locationId);
    },
    issueCompanyAuthorizationCode: (companyId, locationIds) => {
      for (const id of locationIds) {
        if (!store.hasLocation(id))
          throw new Error(`Unknown GHL sandbox location "${id}"`);
      }
      return oauth.issueCompanyAuthorizationCode(companyId, locationIds);
    },
    expireAccessTokens: (subject) => oauth.expireAccessTokens(subject),
    setLocationActive: (locationId, active) =>
      oauth.setLocationActive(locationId, active),
    countTokenRequests: (grantType) => oauth.countTokenRequests(grantType),
    setAllowDuplicates: (locationId, allow) =>
      store.setAllowDuplicates(locationId, allow),
    userCreateContact: (locationId, fields, createOptions) =>
      structuredClone(
        store.createContact(
          locationId,
          validateContactInput(fields, USER_FIELDS),
          createOptions,
        ),
      ),
    userUpdateContact: (locationId, id, fields) =>
      structuredClone(
        store.updateContact(
          locationId,
          id,
          validateContactInput(fields, USER_FIELDS),
        ),
      ),
    userDeleteContact: (locationId, id) => store.deleteContact(locationId, id),
    setApiWriteWebhooks: (url) => {
      writeWebhookUrl = url;
    },
    flushApiWriteWebhooks: () => writeWebhooks,
    sendWebhook: (targetUrl, payload, sendOptions) =>
      sendWebhook(keys, targetUrl, payload, sendOptions),
    close: async () => {
      writeWebhookUrl = null;
      await writeWebhooks;
      await app.close();
    },
  };
}

/**
 * Adds `GET`/`PUT /_sandbox/search-faults` (a SearchFaults body replaces
 * the search's pagination faults, `null` removes them) and `POST
 * /_sandbox/merge` (`{locationId, fromId, intoId}` merges two contacts).
 */
function registerSearchAdminRoutes(
  app: FastifyInstance,
  store: GhlStore,
  searchFaults: SearchFaultState,
): void {
  app.get(`${SANDBOX_ADMIN_PREFIX}search-faults`, () => ({
    searchFaults: searchFaults.faults,
  }));
  app.put(`${SANDBOX_ADMIN_PREFIX}search-faults`, (request, reply) => {
    const body = request.body as SearchFaults | null | undefined;
    try {
      if (body !== null && (typeof body !== "object" || body === undefined))
        throw new RangeError(
          'send a JSON object {"wrongTotal"?, "repeatCursorFrom"?, "emptyPageAt"?}, or null to remove the faults',
        );
      searchFaults.set(body ?? undefined);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return reply
        .code(400)
        .send({ error: "invalid_search_faults", message: error.message });
    }
    return { searchFaults: searchFaults.faults };
  });
  app.post(`${SANDBOX_ADMIN_PREFIX}merge`, (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const { locationId, fromId, intoId } = body;
    if (
      typeof locationId !== "string" ||
      typeof fromId !== "string" ||
      typeof intoId !== "string"
    )
      return reply.code(400).send({
        error: "invalid_merge",
        message: "send {locationId, fromId, intoId} as strings",
      });
    return { contact: store.mergeContact(locationId, fromId, intoId) };
  });
}

/** Adds the agency routes that turn a company token into location tokens. */
function registerCompanyRoutes(
  app: FastifyInstance,
  oauth: GhlOAuthServer,
  companyOf: (request: FastifyRequest) => string | undefined,
): void {
  app.post("/oauth/locationToken", async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, string | undefined>;
    const companyId = companyOf(request);
    if (form.companyId === undefined || form.locationId === undefined) {
      return reply.code(422).send({
        statusCode: 422,
        message: [
          "companyId should not be empty",
          "locationId should not be empty",
        ],
        error: "Unprocessable Entity",
      });
    }
    if (form.companyId !== companyId) {
      return reply.code(401).send({
        statusCode: 401,
        message: "The token is not authorized for this company",
        error: "Unauthorized",
      });
    }
    const minted = oauth.mintLocationToken(form.companyId, form.locationId);
    if (minted === undefined) {
      return reply.code(400).send({
        statusCode: 400,
        message: `The app is not installed on location ${form.locationId}`,
        error: "Bad Request",
      });
    }
    return minted;
  });
  app.get("/oauth/installedLocations", async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const companyId = companyOf(request);
    if (query.companyId === undefined || query.appId === undefined) {
      return reply.code(422).send({
        statusCode: 422,
        message: ["companyId should not be empty", "appId should not be empty"],
        error: "Unprocessable Entity",
      });
    }
    if (query.companyId !== companyId) {
      return reply.code(401).send({
        statusCode: 401,
        message: "The token is not authorized for this company",
        error: "Unauthorized",
      });
    }
    const skip = Number(query.skip ?? 0);
    const limit = Number(query.limit ?? 20);
    const all = oauth.installedLocations(companyId);
    return {
      locations: all.slice(skip, skip + limit).map((id) => ({
        _id: id,
        name: `Sandbox location ${id}`,
        isInstalled: true,
      })),
      count: all.length,
      installToFutureLocations: false,
    };
  });
}

function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | GhlApiError, request, reply) => {
    if (error instanceof GhlApiError) {
      return reply.code(error.status).send(error.body);
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      return reply.code(status).send({
        statusCode: status,
        message: error.message,
        error: "Bad Request",
      });
    }
    request.log.error({ err: error }, "GHL sandbox route failed");
    return reply.code(500).send({
      statusCode: 500,
      message: error.message,
      error: "Internal Server Error",
    });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      statusCode: 404,
      message: `Cannot ${request.method} ${request.url}`,
      error: "Not Found",
    }),
  );
}

/** Returns the webhook type that an API contact write fires in the sandbox, or null for other requests. */
function apiWriteWebhookType(
  method: string,
  route: string | undefined,
): "ContactCreate" | "ContactUpdate" | "ContactTagUpdate" | null {
  if (method === "POST" && route === "/contacts/") return "ContactCreate";
  if (method === "PUT" && route === "/contacts/:contactId")
    return "ContactUpdate";
  if (
    (method === "POST" || method === "DELETE") &&
    route === "/contacts/:contactId/tags"
  )
    return "ContactTagUpdate";
  return null;
}
