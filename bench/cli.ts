// Runs the command line from source for the benchmark's service processes.
import { main } from "../src/cli/main.js";

process.exitCode = await main(process.argv);
