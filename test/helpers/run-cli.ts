// Runs the command line from source, as bin/ghl-coopel-sync.js runs it from dist.
import { main } from "../../src/cli/main.js";

process.exitCode = await main(process.argv);
