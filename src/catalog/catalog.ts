import generated from "./operations.json" with { type: "json" };
import type { Catalog, CatalogEntry, Use } from "./generate.js";

export type { Catalog, CatalogEntry, Use } from "./generate.js";

/** The catalog generated at build time by `npm run catalog`. */
export const catalog = generated as Catalog;

/** Words shown for each mark, in the CLI and the dashboard. */
export const USE_LABELS: Record<Use, string> = {
  synced: "synced",
  read: "read",
  action: "offered as an action",
  unused: "not used",
};

export interface CatalogQuery {
  /** Words that must all appear in the method, path or event, summary or scopes. */
  text?: string;
  system?: CatalogEntry["system"];
  /** Only entries the product uses (every mark but `unused`). */
  usedOnly?: boolean;
}

/** Filters the catalog; matching ignores case. */
export function searchCatalog(
  entries: readonly CatalogEntry[],
  query: CatalogQuery,
): CatalogEntry[] {
  const words = (query.text ?? "")
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== "");
  return entries.filter((entry) => {
    if (query.system && entry.system !== query.system) return false;
    if (query.usedOnly && entry.use === "unused") return false;
    if (words.length === 0) return true;
    const haystack = [
      entry.method ?? "",
      entry.name,
      entry.summary,
      entry.scopes.join(" "),
      USE_LABELS[entry.use],
    ]
      .join(" ")
      .toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}
