import { randomBytes, timingSafeEqual } from "node:crypto";
import type { FastifyError, FastifyInstance } from "fastify";
import { buildCoopelOpenApi } from "./coopel-openapi.js";
import {
  createCoopelTask,
  deleteCoopelTask,
  registerCoopelRecordRoutes,
  updateCoopelTask,
  type TaskDueDateDefault,
} from "./coopel-records.js";
import {
  CoopelStore,
  type CoopelAppointment,
  type CoopelContact,
  type CoopelContactFilter,
  type CoopelNote,
  type CoopelTask,
} from "./coopel-store.js";
import {
  CoopelApiError,
  requireObject,
  validateTags,
} from "./coopel-validation.js";
import {
  CoopelWebhookSender,
  type CoopelWebhookTarget,
} from "./coopel-webhooks.js";
import type { FaultConfig } from "./faults.js";
import { GhlRateLimiter, type GhlRateLimits } from "./ghl-rate-limit.js";
import type { RecordedRequest, RequestPattern } from "./request-log.js";
import {
  bearerToken,
  createSandboxServer,
  listenOnLoopback,
  SANDBOX_ADMIN_PREFIX,
  type SandboxServerOptions,
} from "./sandbox-server.js";

export interface CoopelSandboxOptions extends SandboxServerOptions {
  /** Bearer token that every route except `GET /openapi.json` requires. */
  token: string;
  /**
   * Request budgets, counted and reported with the same `X-RateLimit-*`
   * headers and 429 as the GHL sandbox; unlimited when unset.
   */
  rateLimits?: GhlRateLimits;
  /**
   * An OAuth 2.0 client accepted at `POST /oauth/token` with the client
   * credentials grant; the tokens it issues work like `token` until they expire.
   */
  oauthClient?: {
    clientId: string;
    clientSecret: string;
    /** `expires_in` of issued tokens in seconds; default 3600. */
    tokenTtlSeconds?: number;
  };
  /** Sends a signed webhook on every contact and task change, by the API or by a user; off when unset. */
  webhooks?: CoopelWebhookTarget;
  /** The due date stored for a task created without `due_date`: none (`none`, the default) or its creation time (`created_at`). */
  taskDueDateDefault?: TaskDueDateDefault;
}

/** A running Coopel sandbox and its in-memory state. */
export interface CoopelSandbox {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  contacts: Map<string, CoopelContact>;
  /** Tasks by contact id, then task id. */
  tasks: Map<string, Map<string, CoopelTask>>;
  /** Notes by contact id, then note id. */
  notes: Map<string, Map<string, CoopelNote>>;
  /** Appointments by contact id; tests add them here, the API only lists them. */
  appointments: Map<string, CoopelAppointment[]>;
  /** Every request received, oldest first. */
  requests: RecordedRequest[];
  /** Counts requests by method (`*` for any) and route template, concrete path or RegExp on the path. */
  countRequests(method: string, pattern?: RequestPattern): number;
  setFaults(faults: FaultConfig | undefined): void;
  /** Deletes all data and clears the request log; fault settings stay. */
  reset(): void;
  /** Creates a contact as a Coopel user would, without HTTP. */
  userCreateContact(fields: Record<string, unknown>): CoopelContact;
  /** Updates a contact as a Coopel user would: given fields replace stored ones, null removes one. */
  userUpdateContact(id: string, fields: Record<string, unknown>): CoopelContact;
  userDeleteContact(id: string): CoopelContact;
  /** Creates a task of a contact as a Coopel user would, without HTTP. */
  userCreateTask(
    contactId: string,
    fields: Record<string, unknown>,
  ): CoopelTask;
  /** Updates a task as a Coopel user would: given fields replace stored ones, null removes one. */
  userUpdateTask(
    contactId: string,
    taskId: string,
    fields: Record<string, unknown>,
  ): CoopelTask;
  userDeleteTask(contactId: string, taskId: string): CoopelTask;
  /** Number of calls to `POST /oauth/token`. */
  countTokenRequests(): number;
  /** Expires every token issued at `POST /oauth/token`, so the next call gets 401. */
  expireIssuedTokens(): void;
  /** Sets or clears where contact and task change webhooks go. */
  setWebhookTarget(target: CoopelWebhookTarget | null): void;
  /** Resolves when every contact and task change webhook sent so far has been delivered or given up. */
  flushWebhooks(): Promise<void>;
  /** Webhook deliveries that got a 2xx response, and those given up. */
  webhookCounts(): { delivered: number; failed: number };
  close(): Promise<void>;
}

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 500;

/** Starts a Coopel API simulator on a loopback address. */
export async function startCoopelSandbox(
  options: CoopelSandboxOptions,
): Promise<CoopelSandbox> {
  if (options.token === "") {
    throw new Error("Coopel sandbox token must not be empty");
  }
  const { app, requestLog, faults } = createSandboxServer(options);
  const store = new CoopelStore();
  const webhooks = new CoopelWebhookSender();
  webhooks.setTarget(options.webhooks ?? null);
  store.onChange = (type, contact) => webhooks.notify(type, contact);
  store.onTaskChange = (type, task) => webhooks.notifyTask(type, task);
  const dueDateDefault = options.taskDueDateDefault ?? "none";

  registerErrorHandlers(app);
  const issued = new Map<string, number>();
  let tokenRequests = 0;
  registerAuth(
    app,
    options.token,
    (token) => (issued.get(token) ?? 0) > Date.now(),
    options.rateLimits === undefined
      ? null
      : new GhlRateLimiter(options.rateLimits),
  );
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );
  app.post("/oauth/token", async (request, reply) => {
    tokenRequests += 1;
    const form = (request.body ?? {}) as Record<string, string | undefined>;
    const client = options.oauthClient;
    if (
      client === undefined ||
      form.client_id !== client.clientId ||
      form.client_secret !== client.clientSecret
    ) {
      return reply.code(401).send({
        error: "invalid_client",
        error_description: "Unknown client_id or wrong client_secret",
      });
    }
    if (form.grant_type !== "client_credentials") {
      return reply.code(400).send({
        error: "unsupported_grant_type",
        error_description: "Only client_credentials is supported",
      });
    }
    const ttl = client.tokenTtlSeconds ?? 3600;
    const token = randomBytes(24).toString("base64url");
    issued.set(token, Date.now() + ttl * 1000);
    return { access_token: token, token_type: "Bearer", expires_in: ttl };
  });
  app.get("/openapi.json", () => buildCoopelOpenApi());
  registerContactRoutes(app, store);
  registerCoopelRecordRoutes(app, store, dueDateDefault);

  const url = await listenOnLoopback(app, options);
  return {
    url,
    contacts: store.contacts,
    tasks: store.tasks,
    notes: store.notes,
    appointments: store.appointments,
    requests: requestLog.entries,
    countRequests: (method, pattern) => requestLog.count(method, pattern),
    setFaults: (config) => faults.setConfig(config),
    reset: () => {
      store.clear();
      requestLog.clear();
    },
    userCreateContact: (fields) => structuredClone(store.createContact(fields)),
    userUpdateContact: (id, fields) =>
      structuredClone(store.updateContact(id, fields)),
    userDeleteContact: (id) => store.deleteContact(id),
    userCreateTask: (contactId, fields) =>
      structuredClone(
        createCoopelTask(store, contactId, fields, dueDateDefault),
      ),
    userUpdateTask: (contactId, taskId, fields) =>
      structuredClone(updateCoopelTask(store, { contactId, taskId }, fields)),
    userDeleteTask: (contactId, taskId) =>
      deleteCoopelTask(store, { contactId, taskId }),
    countTokenRequests: () => tokenRequests,
    expireIssuedTokens: () => {
      for (const token of issued.keys()) issued.set(token, 0);
    },
    setWebhookTarget: (target) => webhooks.setTarget(target),
    flushWebhooks: () => webhooks.flush(),
    webhookCounts: () => ({
      delivered: webhooks.delivered,
      failed: webhooks.failed,
    }),
    close: async () => {
      webhooks.setTarget(null);
      await webhooks.flush();
      await app.close();
    },
  };
}

function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof CoopelApiError) {
      return reply
        .code(error.status)
        .send({ error: error.code, message: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      return reply
        .code(status)
        .send({ error: "invalid_request", message: error.message });
    }
    request.log.error({ err: error }, "Coopel sandbox route failed");
    return reply
      .code(500)
      .send({ error: "internal_error", message: error.message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: "not_found",
      message: `Route ${request.method} ${request.url} not found`,
    }),
  );
}

function registerAuth(
  app: FastifyInstance,
  token: string,
  isIssuedToken: (token: string) => boolean,
  rateLimiter: GhlRateLimiter | null,
): void {
  const expected = Buffer.from(token);
  app.addHook("preHandler", async (request, reply) => {
    const route = request.routeOptions.url;
    if (
      route === "/openapi.json" ||
      route === "/oauth/token" ||
      route?.startsWith(SANDBOX_ADMIN_PREFIX)
    ) {
      return undefined;
    }
    const bearer = bearerToken(request.headers.authorization) ?? "";
    if (isIssuedToken(bearer)) return rateLimiter?.apply("account", reply);
    const received = Buffer.from(bearer);
    if (
      received.length !== expected.length ||
      !timingSafeEqual(received, expected)
    ) {
      return reply.code(401).send({
        error: "unauthorized",
        message: "Missing or invalid bearer token in the Authorization header",
      });
    }
    return rateLimiter?.apply("account", reply);
  });
}

type ContactParams = { contactId: string };
type ListQuery = Record<string, string | undefined>;

function registerContactRoutes(app: FastifyInstance, store: CoopelStore): void {
  app.get<{ Querystring: ListQuery }>("/contacts/", (request) => {
    const query = request.query;
    const filter: CoopelContactFilter = {};
    if (query.external_id !== undefined) filter.externalId = query.external_id;
    if (query.email !== undefined) filter.email = query.email;
    if (query.phone !== undefined) filter.phone = query.phone;
    if (query.updated_since !== undefined)
      filter.updatedSince = parseTime("updated_since", query.updated_since);
    return store.listContacts(filter, parseLimit(query.limit), query.cursor);
  });

  app.post("/contacts/", (request, reply) => {
    const contact = store.createContact(request.body);
    void reply.code(201);
    return { contact };
  });

  app.get<{ Params: { businessId: string }; Querystring: ListQuery }>(
    "/contacts/business/:businessId",
    (request) =>
      store.listContacts(
        { businessId: request.params.businessId },
        parseLimit(request.query.limit),
        request.query.cursor,
      ),
  );

  app.get<{ Params: ContactParams }>("/contacts/:contactId", (request) => ({
    contact: store.getContact(request.params.contactId),
  }));

  app.put<{ Params: ContactParams }>("/contacts/:contactId", (request) => ({
    contact: store.updateContact(request.params.contactId, request.body),
  }));

  app.delete<{ Params: ContactParams }>("/contacts/:contactId", (request) => {
    store.deleteContact(request.params.contactId);
    return { deleted: true };
  });

  app.post<{ Params: ContactParams }>(
    "/contacts/:contactId/tags",
    (request) => ({
      tags: store.addTags(
        request.params.contactId,
        validateTags(requireObject(request.body).tags),
      ),
    }),
  );

  app.delete<{ Params: ContactParams }>(
    "/contacts/:contactId/tags",
    (request) => ({
      tags: store.removeTags(
        request.params.contactId,
        validateTags(requireObject(request.body).tags),
      ),
    }),
  );
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) {
    return DEFAULT_PAGE_SIZE;
  }
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw new CoopelApiError(
      400,
      "invalid_request",
      `limit must be an integer from 1 to ${MAX_PAGE_SIZE}, got "${raw}"`,
    );
  }
  return limit;
}

function parseTime(name: string, raw: string): number {
  const time = Date.parse(raw);
  if (Number.isNaN(time)) {
    throw new CoopelApiError(
      400,
      "invalid_request",
      `${name} must be an ISO 8601 date-time, got "${raw}"`,
    );
  }
  return time;
}
