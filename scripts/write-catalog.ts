// Writes src/catalog/operations.json from the official GHL specs and webhook
// examples, the Coopel routes and the connector sources. The build runs it,
// and a test fails when the committed file is stale.
import { writeFileSync } from "node:fs";
import { buildCatalog, readCatalogInputs } from "../src/catalog/generate.js";

const root = new URL("..", import.meta.url).pathname;
const catalog = buildCatalog(await readCatalogInputs(root));
const file = new URL("../src/catalog/operations.json", import.meta.url);
writeFileSync(file, `${JSON.stringify(catalog, null, 2)}\n`);
const { ghl, coopel } = catalog.counts;
console.log(
  `wrote ${file.pathname}: GHL ${ghl.actions} actions and ${ghl.triggers} triggers, Coopel ${coopel.actions} actions`,
);
