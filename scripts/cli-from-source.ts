// Runs the command line from source through tsx, for scripts that start the service without a build.
import { main } from "../src/cli/main.js";

process.exitCode = await main(process.argv);
