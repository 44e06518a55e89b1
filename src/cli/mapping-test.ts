import { readFileSync } from "node:fs";
import path from "node:path";
import type { LoadedConfig } from "../config/load.js";
import type { Config, CoopelRoutes } from "../config/schema.js";
import type {
  CoopelClient,
  CoopelOperation,
  CoopelRecord,
  EventStats,
  GhlApi,
  GhlCreateResult,
  GhlRecord,
  Link,
  Logger,
  Store,
} from "../engine/ports.js";
import { entitySettings, buildEngine } from "../runtime/service.js";
import { orderingKeyOf } from "../server/ghl-webhook-route.js";

/** One request the plan would send. */
export interface PlannedRequest {
  /** Name of the Coopel route in config, for example `create_contact`. */
  operation: string;
  method: string;
  path: string;
  body?: unknown;
}

/** What one webhook body would cause, with nothing sent. */
export interface MappingPlan {
  event: string;
  outcome: string;
  reason: string | null;
  requests: PlannedRequest[];
  tagsAdded: string[];
  tagsRemoved: string[];
  warnings: string[];
}

/**
 * Coopel writes recorded instead of sent. Creates return placeholder ids
 * (`planned-1`, ...), so later steps of the same plan can refer to them.
 */
export class PlanningCoopel implements CoopelClient {
  readonly accountId: string;
  readonly externalIdField: string | null;
  readonly requests: PlannedRequest[] = [];
  readonly tagsAdded: string[] = [];
  readonly tagsRemoved: string[] = [];
  private nextId = 1;

  constructor(private readonly config: Config["coopel"]) {
    this.accountId = config.account_id;
    this.externalIdField = config.external_id_field;
  }

  supports(operation: CoopelOperation): boolean {
    return this.config.routes[operation] !== null;
  }

  private record(
    route: keyof CoopelRoutes,
    method: string,
    params: Record<string, string>,
    body?: unknown,
  ): string {
    const template = this.config.routes[route] ?? `(${route} is null)`;
    const routePath = template.replace(
      /:([A-Za-z]+)/g,
      (_match, name: string) => params[name] ?? `:${name}`,
    );
    this.requests.push({ operation: route, method, path: routePath, body });
    return `planned-${this.nextId++}`;
  }

  createContact(body: CoopelRecord) {
    if (Array.isArray(body.tags))
      this.tagsAdded.push(...(body.tags as string[]));
    const id = this.record("create_contact", "POST", {}, body);
    return Promise.resolve({ id, record: { ...body, id } });
  }
  updateContact(id: string, body: CoopelRecord) {
    this.record("update_contact", "PUT", { contactId: id }, body);
    return Promise.resolve(body);
  }
  getContact() {
    return Promise.resolve(null);
  }
  deleteContact(id: string) {
    this.record("delete_contact", "DELETE", { contactId: id });
    return Promise.resolve();
  }
  findContacts() {
    return Promise.resolve([]);
  }
  listContacts() {
    return Promise.resolve({ contacts: [], nextCursor: null });
  }
  addTags(contactId: string, tags: string[]) {
    this.tagsAdded.push(...tags);
    this.record("add_tags", "POST", { contactId }, { tags });
    return Promise.resolve();
  }
  removeTags(contactId: string, tags: string[]) {
    this.tagsRemoved.push(...tags);
    this.record("remove_tags", "DELETE", { contactId }, { tags });
    return Promise.resolve();
  }
  createTask(contactId: string, body: CoopelRecord) {
    const id = this.record("create_task", "POST", { contactId }, body);
    return Promise.resolve({ id, record: { ...body, id } });
  }
  updateTask(contactId: string, taskId: string, body: CoopelRecord) {
    this.record("update_task", "PUT", { contactId, taskId }, body);
    return Promise.resolve();
  }
  completeTask(contactId: string, taskId: string, completed: boolean) {
    this.record("complete_task", "PUT", { contactId, taskId }, { completed });
    return Promise.resolve();
  }
  deleteTask(contactId: string, taskId: string) {
    this.record("delete_task", "DELETE", { contactId, taskId });
    return Promise.resolve();
  }
  createNote(contactId: string, body: CoopelRecord) {
    const id = this.record("create_note", "POST", { contactId }, body);
    return Promise.resolve({ id, record: { ...body, id } });
  }
  updateNote(contactId: string, noteId: string, body: CoopelRecord) {
    this.record("update_note", "PUT", { contactId, noteId }, body);
    return Promise.resolve();
  }
  deleteNote(contactId: string, noteId: string) {
    this.record("delete_note", "DELETE", { contactId, noteId });
    return Promise.resolve();
  }
}

/**
 * A GHL API that sends nothing: the contact of a task or note is taken to
 * exist with only its id, and other reads find nothing. Custom field
 * definitions come from `--fields FILE` when given.
 */
export class OfflineGhl implements GhlApi {
  constructor(
    private readonly customFields: Awaited<
      ReturnType<GhlApi["listCustomFields"]>
    >,
  ) {}
  getContact(_locationId: string, contactId: string) {
    return Promise.resolve({ id: contactId } as GhlRecord);
  }
  getTask() {
    return Promise.resolve(null);
  }
  getNote() {
    return Promise.resolve(null);
  }
  searchTasks() {
    return Promise.resolve([]);
  }
  searchContacts() {
    return Promise.resolve({ contacts: [], total: 0 });
  }
  listCustomFields() {
    return Promise.resolve(this.customFields);
  }
  getBusiness() {
    return Promise.resolve(null);
  }
  listAppointments() {
    return Promise.resolve([]);
  }
  // The mapping test plans GHL to Coopel writes only, so nothing here writes to GHL.
  createContact(): Promise<GhlCreateResult> {
    return Promise.reject(offlineWrite());
  }
  updateContact(): Promise<GhlRecord> {
    return Promise.reject(offlineWrite());
  }
  addTags(): Promise<string[] | null> {
    return Promise.reject(offlineWrite());
  }
  removeTags(): Promise<string[] | null> {
    return Promise.reject(offlineWrite());
  }
  deleteContact(): Promise<void> {
    return Promise.reject(offlineWrite());
  }
  createTask(): Promise<GhlRecord & { id: string }> {
    return Promise.reject(offlineWrite());
  }
  updateTask(): Promise<void> {
    return Promise.reject(offlineWrite());
  }
  completeTask(): Promise<void> {
    return Promise.reject(offlineWrite());
  }
  deleteTask(): Promise<void> {
    return Promise.reject(offlineWrite());
  }
  findDuplicate() {
    return Promise.resolve(null);
  }
}

function offlineWrite(): Error {
  return new Error("the mapping test does not write to GHL");
}

/** An empty in-memory store: the plan is the one for a record seen for the first time. */
class EmptyStore implements Store {
  private readonly links = new Map<string, Link>();
  getLink(entity: Link["entity"], location: string, id: string) {
    return Promise.resolve(
      this.links.get(`${entity}/${location}/${id}`) ?? null,
    );
  }
  listLinks() {
    return Promise.resolve([]);
  }
  saveRuleTags() {
    return Promise.resolve(false);
  }
  pauseLocation() {
    return Promise.resolve();
  }
  resumeLocation() {
    return Promise.resolve(false);
  }
  listLocationPauses() {
    return Promise.resolve([]);
  }
  recordContactCounts() {
    return Promise.resolve();
  }
  contactCounts() {
    return Promise.resolve([]);
  }
  apiUsage() {
    return Promise.resolve([]);
  }
  eventStats(): Promise<EventStats> {
    return Promise.reject(new Error("not available in a mapping test"));
  }
  listEvents() {
    return Promise.resolve([]);
  }
  getEvent() {
    return Promise.resolve(null);
  }
  eventSeries() {
    return Promise.resolve([]);
  }
  checkWritable() {
    return Promise.resolve();
  }
  close() {
    return Promise.resolve();
  }
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** Plans one webhook body with the configured mapping; sends nothing. */
export async function planEvent(
  config: Config,
  payload: Record<string, unknown>,
  customFields: Awaited<ReturnType<GhlApi["listCustomFields"]>> = [],
): Promise<MappingPlan> {
  const coopel = new PlanningCoopel(config.coopel);
  const engine = buildEngine(
    config,
    new EmptyStore(),
    coopel,
    new OfflineGhl(customFields),
    silentLogger,
    entitySettings(config),
  );
  const type = typeof payload.type === "string" ? payload.type : "unknown";
  const locationId =
    typeof payload.locationId === "string" ? payload.locationId : "";
  const recordId = typeof payload.id === "string" ? payload.id : "";
  const completion = await engine.handle({
    id: "mapping-test",
    attempt: 1,
    event: {
      source: "ghl",
      accountId: locationId,
      type,
      orderingKey: orderingKeyOf(type, locationId, recordId, payload),
      deliveryId: null,
      receivedAt: Date.now(),
      payload,
    },
  });
  return {
    event: type,
    outcome: completion.outcome,
    reason: completion.reason,
    requests: coopel.requests,
    tagsAdded: coopel.tagsAdded,
    tagsRemoved: coopel.tagsRemoved,
    warnings: completion.warnings,
  };
}

/** Formats a plan for a terminal. */
export function formatPlan(plan: MappingPlan): string {
  const lines = [
    `${plan.event}: ${plan.outcome}${plan.reason ? ` (${plan.reason})` : ""}`,
  ];
  if (plan.requests.length === 0) lines.push("No requests would be sent.");
  for (const [index, request] of plan.requests.entries()) {
    lines.push(`${index + 1}. ${request.method} ${request.path}`);
    if (request.body !== undefined)
      for (const line of JSON.stringify(request.body, null, 2).split("\n"))
        lines.push(`   ${line}`);
  }
  lines.push(
    `Tags added: ${plan.tagsAdded.length > 0 ? plan.tagsAdded.join(", ") : "none"}`,
  );
  lines.push(
    `Tags removed: ${plan.tagsRemoved.length > 0 ? plan.tagsRemoved.join(", ") : "none"}`,
  );
  for (const warning of plan.warnings) lines.push(`Warning: ${warning}`);
  return `${lines.join("\n")}\n`;
}

/** Runs `mapping test`: reads the event file, prints the plan, returns the exit code. */
export async function runMappingTest(
  loaded: LoadedConfig,
  options: { event: string; fields?: string; json?: boolean },
): Promise<number> {
  const payload = readJsonObject(options.event, "--event");
  if (payload === null) return 2;
  let customFields: Awaited<ReturnType<GhlApi["listCustomFields"]>> = [];
  if (options.fields) {
    const parsed = readJson(options.fields, "--fields");
    const list = Array.isArray(parsed)
      ? parsed
      : (parsed as { customFields?: unknown } | null)?.customFields;
    if (!Array.isArray(list)) {
      process.stderr.write(
        `--fields ${options.fields}: expected a JSON list of custom field definitions or {"customFields": [...]} as GHL returns it\n`,
      );
      return 2;
    }
    customFields = list as typeof customFields;
  }
  const plan = await planEvent(loaded.config, payload, customFields);
  process.stdout.write(
    options.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlan(plan),
  );
  return 0;
}

function readJson(file: string, option: string): unknown {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (error) {
    process.stderr.write(
      `${option} ${file}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})\n`,
    );
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    process.stderr.write(
      `${option} ${file}: not valid JSON (${(error as Error).message}); pass a webhook body as GHL sends it\n`,
    );
    return undefined;
  }
}

function readJsonObject(
  file: string,
  option: string,
): Record<string, unknown> | null {
  const parsed = readJson(file, option);
  if (parsed === undefined) return null;
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    process.stderr.write(
      `${option} ${file}: expected one JSON object, the webhook body\n`,
    );
    return null;
  }
  return parsed as Record<string, unknown>;
}
