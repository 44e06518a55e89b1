/**
 * Builds the operations catalog: every GHL operation in the official OpenAPI
 * specs, every GHL webhook event in the official examples, and every Coopel
 * route, each marked with what this product does with it. The marks come
 * from the connector sources and the engine, so the catalog follows the code.
 */
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";

/** Mark of what the product does with an operation or event. */
export type Use = "synced" | "read" | "action" | "unused";

export interface CatalogEntry {
  system: "ghl" | "coopel";
  /** `action`: an API operation; `trigger`: an event the system sends. */
  kind: "action" | "trigger";
  /** HTTP method of an action; null for a trigger. */
  method: string | null;
  /** Path template of an action, or the event name of a trigger. */
  name: string;
  summary: string;
  /** OAuth scopes the operation needs, as its spec declares them. */
  scopes: string[];
  /** Spec file or source the entry was read from. */
  source: string;
  use: Use;
  /** The code that uses it, as file names relative to the project root. */
  usedBy: string[];
}

export interface Catalog {
  entries: CatalogEntry[];
  counts: CatalogCounts;
}

export interface CatalogCounts {
  ghl: { actions: number; triggers: number; byUse: Record<Use, number> };
  coopel: { actions: number; triggers: number; byUse: Record<Use, number> };
}

export interface CatalogInputs {
  /** The official GHL OpenAPI files: file name to parsed document. */
  ghlSpecs: Record<string, OpenApiDocument>;
  /** Event names of the official GHL webhook examples. */
  ghlEvents: string[];
  /** The Coopel routes as an OpenAPI document. */
  coopelSpec: OpenApiDocument;
  /** Source files of the GHL connector: path to text. */
  ghlSources: Record<string, string>;
  /** Source files of the Coopel connector: path to text. */
  coopelSources: Record<string, string>;
  /** Default Coopel route templates by route key, for example `/contacts/:contactId`. */
  coopelRoutes: Record<string, string | null>;
  /** GHL event types the engine routes to a sync handler, and the file that routes them. */
  syncedEvents: { types: readonly string[]; source: string };
}

export interface OpenApiDocument {
  paths?: Record<string, Record<string, unknown>>;
}

interface OpenApiOperation {
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  deprecated?: boolean;
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** A call found in connector source: method and a path with `{}` for each parameter. */
interface FoundCall {
  method: string;
  path: string;
  file: string;
}

/** Turns `/contacts/{contactId}` or `/contacts/:contactId` into a shape with `{}` per parameter. */
export function pathShape(template: string): string {
  return template
    .replace(/\$\{[^}]*\}/g, "{}")
    .replace(/\{[^}]*\}/g, "{}")
    .replace(/:[A-Za-z_]+/g, "{}");
}

/**
 * Finds GHL calls written as `request(locationId, "GET", \`/contacts/${id}\`, ...)`
 * in the connector sources: an HTTP method string followed by a path literal.
 */
export function findGhlCalls(sources: Record<string, string>): FoundCall[] {
  const calls: FoundCall[] = [];
  const pattern = /"(GET|POST|PUT|PATCH|DELETE)",\s*(`[^`]*`|"[^"]*")/g;
  for (const [file, text] of Object.entries(sources)) {
    for (const match of text.matchAll(pattern)) {
      const literal = match[2]!.slice(1, -1);
      calls.push({ method: match[1]!, path: pathShape(literal), file });
    }
  }
  return calls;
}

/** Finds Coopel calls written as `send("route_key", "METHOD", ...)` and resolves the route key to its template. */
export function findCoopelCalls(
  sources: Record<string, string>,
  routes: Record<string, string | null>,
): FoundCall[] {
  const calls: FoundCall[] = [];
  const pattern = /send\(\s*"([a-z_]+)",\s*"(GET|POST|PUT|PATCH|DELETE)"/g;
  for (const [file, text] of Object.entries(sources)) {
    for (const match of text.matchAll(pattern)) {
      const template = routes[match[1]!];
      if (!template) continue;
      calls.push({ method: match[2]!, path: pathShape(template), file });
    }
  }
  return calls;
}

/**
 * Whether a call writes records: any method but GET, except the token
 * exchanges under /oauth/ and operations whose spec requires only
 * `.readonly` scopes, such as the POST searches.
 */
function changesRecords(
  method: string,
  route: string,
  scopes: string[],
): boolean {
  if (method === "GET" || route.startsWith("/oauth/")) return false;
  return !(
    scopes.length > 0 && scopes.every((scope) => scope.endsWith(".readonly"))
  );
}

function scopesOf(operation: OpenApiOperation): string[] {
  const scopes = new Set<string>();
  for (const requirement of operation.security ?? [])
    for (const list of Object.values(requirement))
      for (const scope of list) scopes.add(scope);
  return [...scopes].sort();
}

function actionsOf(
  system: CatalogEntry["system"],
  document: OpenApiDocument,
  source: string,
  calls: FoundCall[],
): CatalogEntry[] {
  const entries: CatalogEntry[] = [];
  for (const [route, item] of Object.entries(document.paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method] as OpenApiOperation | undefined;
      if (!operation) continue;
      const upper = method.toUpperCase();
      const users = calls.filter(
        (c) => c.method === upper && c.path === pathShape(route),
      );
      const summary = (operation.summary ?? operation.description ?? "")
        .replace(/\s+/g, " ")
        .trim();
      const scopes = scopesOf(operation);
      let use: Use = "unused";
      if (users.length > 0)
        use = changesRecords(upper, route, scopes) ? "synced" : "read";
      entries.push({
        system,
        kind: "action",
        method: upper,
        name: route,
        summary: operation.deprecated ? `${summary} (deprecated)` : summary,
        scopes,
        source,
        use,
        usedBy: [...new Set(users.map((c) => c.file))].sort(),
      });
    }
  }
  return entries;
}

function countsOf(entries: CatalogEntry[], system: CatalogEntry["system"]) {
  const own = entries.filter((e) => e.system === system);
  const byUse: Record<Use, number> = {
    synced: 0,
    read: 0,
    action: 0,
    unused: 0,
  };
  for (const entry of own) byUse[entry.use] += 1;
  return {
    actions: own.filter((e) => e.kind === "action").length,
    triggers: own.filter((e) => e.kind === "trigger").length,
    byUse,
  };
}

/** Builds the catalog from its inputs; the same inputs give the same catalog, in a stable order. */
export function buildCatalog(inputs: CatalogInputs): Catalog {
  const ghlCalls = findGhlCalls(inputs.ghlSources);
  const coopelCalls = findCoopelCalls(
    inputs.coopelSources,
    inputs.coopelRoutes,
  );
  const entries: CatalogEntry[] = [];
  for (const file of Object.keys(inputs.ghlSpecs).sort())
    entries.push(
      ...actionsOf("ghl", inputs.ghlSpecs[file]!, `spec/ghl/${file}`, ghlCalls),
    );
  const synced = new Set(inputs.syncedEvents.types);
  for (const event of [...inputs.ghlEvents].sort()) {
    entries.push({
      system: "ghl",
      kind: "trigger",
      method: null,
      name: event,
      summary: `Webhook ${event}`,
      scopes: [],
      source: `fixtures/ghl/webhooks/${event}.json`,
      use: synced.has(event) ? "synced" : "unused",
      usedBy: synced.has(event) ? [inputs.syncedEvents.source] : [],
    });
  }
  entries.push(
    ...actionsOf(
      "coopel",
      inputs.coopelSpec,
      "src/sandbox/coopel-openapi.ts",
      coopelCalls,
    ),
  );
  return {
    entries,
    counts: {
      ghl: countsOf(entries, "ghl"),
      coopel: countsOf(entries, "coopel"),
    },
  };
}

function readSources(root: string, folder: string): Record<string, string> {
  const sources: Record<string, string> = {};
  const dir = path.join(root, folder);
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".ts")) continue;
    sources[`${folder}/${name}`] = readFileSync(path.join(dir, name), "utf8");
  }
  return sources;
}

/** Reads the catalog inputs from a project checkout at `root`. */
export async function readCatalogInputs(root: string): Promise<CatalogInputs> {
  const specDir = path.join(root, "spec/ghl");
  const ghlSpecs: Record<string, OpenApiDocument> = {};
  for (const name of readdirSync(specDir).sort()) {
    if (!name.endsWith(".json")) continue;
    ghlSpecs[name] = JSON.parse(
      readFileSync(path.join(specDir, name), "utf8"),
    ) as OpenApiDocument;
  }
  const ghlEvents = readdirSync(path.join(root, "fixtures/ghl/webhooks"))
    .filter((name) => name.endsWith(".json"))
    .map((name) => name.slice(0, -".json".length));
  const { buildCoopelOpenApi } = await import("../sandbox/coopel-openapi.js");
  const { coopelRoutesSchema } = await import("../config/schema.js");
  const { entityOf } = await import("../engine/engine.js");
  return {
    ghlSpecs,
    ghlEvents,
    coopelSpec: buildCoopelOpenApi(),
    ghlSources: readSources(root, "src/connectors/ghl"),
    coopelSources: readSources(root, "src/connectors/coopel"),
    coopelRoutes: coopelRoutesSchema.parse({}),
    // The engine's own dispatch decides, so a new handled type is marked without a list to update.
    syncedEvents: {
      types: ghlEvents.filter((type) => entityOf(type) !== null).sort(),
      source: "src/engine/engine.ts",
    },
  };
}
