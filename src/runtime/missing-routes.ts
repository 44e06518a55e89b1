import type { Config } from "../config/schema.js";
import type { Entity } from "../engine/engine.js";

type RouteName = keyof Config["coopel"]["routes"];

/** The Coopel routes that the events of each entity can need. */
const ENTITY_ROUTES: Record<Entity, RouteName[]> = {
  contacts: [
    "list_contacts",
    "create_contact",
    "get_contact",
    "update_contact",
    "delete_contact",
  ],
  tags: ["add_tags", "remove_tags"],
  tasks: ["create_task", "update_task", "complete_task", "delete_task"],
  notes: ["create_note", "update_note", "delete_note"],
};

/** A synced entity some of whose Coopel routes are set to null. */
export interface MissingRoutes {
  entity: Entity;
  routes: RouteName[];
  /** The config keys that are null, such as `coopel.routes.create_note`. */
  configKeys: string[];
  /** One line for the start log and `doctor`. */
  message: string;
  /** Advice for fixing the configuration. */
  fix: string;
}

/**
 * Lists each synced entity whose Coopel routes include some set to null.
 * Tags count as synced while `sync.tags.enabled` is true or a tag rule
 * exists, because rules write tags too.
 */
export function missingRoutes(config: Config): MissingRoutes[] {
  const result: MissingRoutes[] = [];
  for (const [entity, routes] of Object.entries(ENTITY_ROUTES) as [
    Entity,
    RouteName[],
  ][]) {
    if (!isSynced(config, entity)) continue;
    const missing = routes.filter(
      (route) => config.coopel.routes[route] === null,
    );
    if (missing.length === 0) continue;
    const configKeys = missing.map((route) => `coopel.routes.${route}`);
    result.push({
      entity,
      routes: missing,
      configKeys,
      message: `${entity}: Coopel routes ${missing.join(", ")} are set to null (${configKeys.join(", ")}), so ${entity} events that need them are counted as unsupported and not retried`,
      fix: `set ${configKeys.join(" and ")} to the matching paths of your Coopel API, or set ${disableKey(entity)} to stop syncing ${entity}`,
    });
  }
  return result;
}

function isSynced(config: Config, entity: Entity): boolean {
  if (entity === "tags")
    return config.sync.tags.enabled || config.mapping.tag_rules.length > 0;
  return config.sync[entity].enabled;
}

function disableKey(entity: Entity): string {
  if (entity === "tags")
    return "sync.tags.enabled: false and remove mapping.tag_rules";
  return `sync.${entity}.enabled: false`;
}
