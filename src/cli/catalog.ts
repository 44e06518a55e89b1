import {
  USE_LABELS,
  catalog,
  searchCatalog,
  type CatalogEntry,
} from "../catalog/catalog.js";

export interface CatalogOptions {
  json?: boolean;
  used?: boolean;
  system?: CatalogEntry["system"];
  search?: string;
}

/** Prints the operations catalog, filtered, as a table or as JSON. */
export function runCatalog(options: CatalogOptions): number {
  const entries = searchCatalog(catalog.entries, {
    text: options.search,
    system: options.system,
    usedOnly: options.used,
  });
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ counts: catalog.counts, entries }, null, 2)}\n`,
    );
    return 0;
  }
  const rows = entries.map((e) => [
    e.system === "ghl" ? "GHL" : "Coopel",
    e.kind === "trigger" ? "webhook" : (e.method ?? ""),
    e.name,
    USE_LABELS[e.use],
    e.scopes.join(" "),
    e.summary,
  ]);
  const header = [
    "SYSTEM",
    "METHOD",
    "PATH OR EVENT",
    "USE",
    "SCOPES",
    "SUMMARY",
  ];
  const widths = header.map((h, i) =>
    Math.min(48, Math.max(h.length, ...rows.map((r) => r[i]!.length))),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : cell.padEnd(widths[i]!),
      )
      .join("  ")
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  const { ghl, coopel } = catalog.counts;
  out.push(
    "",
    `${entries.length} shown. GHL: ${ghl.actions} actions, ${ghl.triggers} webhook events; ` +
      `${ghl.byUse.synced} synced, ${ghl.byUse.read} read, ${ghl.byUse.action} offered as actions. ` +
      `Coopel: ${coopel.actions} actions; ${coopel.byUse.synced} synced, ${coopel.byUse.read} read.`,
  );
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}
