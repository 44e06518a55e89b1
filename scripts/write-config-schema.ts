// Writes sync.config.schema.json from the same definition that validates the
// configuration at start, so editors complete and check the YAML file.
import { writeFileSync } from "node:fs";
import { configJsonSchema } from "../src/config/load.js";

const file = new URL("../sync.config.schema.json", import.meta.url);
writeFileSync(file, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
