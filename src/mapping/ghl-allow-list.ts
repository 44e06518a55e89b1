import { readFileSync } from "node:fs";
import path from "node:path";
import { findPackageRoot } from "../sandbox/webhook-signing.js";

/** GHL write operations whose bodies the allow-list covers, by operationId of the official contacts spec. */
export type GhlWriteOperation =
  | "create-contact"
  | "update-contact"
  | "upsert-contact"
  | "create-task"
  | "update-task"
  | "create-note"
  | "update-note";

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { operationId?: string; requestBody?: unknown }>
  >;
  components: {
    schemas: Record<
      string,
      { properties?: Record<string, unknown>; allOf?: unknown[] }
    >;
  };
}

let cache: Map<string, ReadonlySet<string>> | null = null;

/**
 * Reads, from the official contacts spec in `spec/ghl/contacts.json`, the
 * properties each write operation's request body accepts. GHL rejects an
 * unknown property on update with 422 ("property X should not exist"), and
 * read-only fields such as `id` or `dateAdded` are not in these bodies.
 */
export function ghlAllowLists(): Map<string, ReadonlySet<string>> {
  if (cache) return cache;
  const file = path.join(findPackageRoot(), "spec", "ghl", "contacts.json");
  const spec = JSON.parse(readFileSync(file, "utf8")) as OpenApiDocument;
  const lists = new Map<string, ReadonlySet<string>>();
  for (const operations of Object.values(spec.paths)) {
    for (const operation of Object.values(operations)) {
      const ref = (
        operation.requestBody as
          | {
              content?: { "application/json"?: { schema?: { $ref?: string } } };
            }
          | undefined
      )?.content?.["application/json"]?.schema?.$ref;
      if (!operation.operationId || !ref) continue;
      const name = ref.split("/").pop()!;
      lists.set(operation.operationId, new Set(propertiesOf(spec, name)));
    }
  }
  cache = lists;
  return lists;
}

function propertiesOf(spec: OpenApiDocument, name: string): string[] {
  const schema = spec.components.schemas[name];
  if (!schema) return [];
  const own = Object.keys(schema.properties ?? {});
  const inherited = (schema.allOf ?? []).flatMap((part) => {
    const ref = (part as { $ref?: string }).$ref;
    return ref ? propertiesOf(spec, ref.split("/").pop()!) : [];
  });
  return [...own, ...inherited];
}

/** The fields a GHL write operation accepts. Throws for an operation the spec does not define. */
export function allowedFields(
  operation: GhlWriteOperation,
): ReadonlySet<string> {
  const fields = ghlAllowLists().get(operation);
  if (!fields)
    throw new Error(
      `operation ${operation} has no request body in spec/ghl/contacts.json`,
    );
  return fields;
}

/** Removes the fields that `operation` does not accept; returns the body and the names removed. */
export function stripToAllowList(
  operation: GhlWriteOperation,
  body: Record<string, unknown>,
): { body: Record<string, unknown>; stripped: string[] } {
  const allowed = allowedFields(operation);
  const kept: Record<string, unknown> = {};
  const stripped: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (allowed.has(key)) kept[key] = value;
    else stripped.push(key);
  }
  return { body: kept, stripped };
}
