import { Command, CommanderError, Option } from "commander";
import { ConfigError, loadConfigFile } from "../config/load.js";

/** Exit codes of every command. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command()
    .name("ghl-coopel-sync")
    .description(
      "Keeps contacts in sync between GoHighLevel and Coopel, configured by one YAML file.",
    )
    .exitOverride()
    .showHelpAfterError();

  program
    .command("start")
    .description(
      "Start the service: webhook receiver and worker, plus sandboxes and demo traffic when the config enables them.",
    )
    .requiredOption(
      "-c, --config <file>",
      "configuration file",
      "sync.config.yaml",
    )
    .addOption(
      new Option("--role <role>", "which parts this process runs")
        .choices(["all", "receiver", "worker"])
        .default("all"),
    )
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync start --config sync.config.yaml\n\nExit codes: 0 stopped cleanly, 1 failed, 2 invalid configuration.",
    )
    .action(
      async (options: {
        config: string;
        role: "all" | "receiver" | "worker";
      }) => {
        const loaded = loadConfigFile(options.config);
        const { runStart } = await import("./start.js");
        setCode(await runStart(loaded, options.role));
      },
    );

  program
    .command("migrate")
    .description(
      "Bring the database named by store.url (SQLite or PostgreSQL) to the current schema, then exit.",
    )
    .requiredOption(
      "-c, --config <file>",
      "configuration file",
      "sync.config.yaml",
    )
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync migrate --config sync.config.yaml\n\nExit codes: 0 schema current, 1 failed, 2 invalid configuration or database unreachable.",
    )
    .action(async (options: { config: string }) => {
      const loaded = loadConfigFile(options.config);
      const { runMigrate } = await import("./migrate.js");
      setCode(await runMigrate(loaded));
    });

  program
    .command("sandbox")
    .description(
      "Run the GHL and Coopel sandboxes alone, on 127.0.0.1, until stopped.",
    )
    .option(
      "-c, --config <file>",
      "configuration file whose sandbox ports and tokens to use",
      "sync.config.yaml",
    )
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync sandbox --config sync.config.yaml",
    )
    .action(async (options: { config: string }) => {
      const loaded = loadConfigFile(options.config);
      const { runSandbox } = await import("./sandbox.js");
      setCode(await runSandbox(loaded));
    });
  program
    .command("mapping")
    .description("Check the mapping of the configuration.")
    .command("test")
    .description(
      "Print the plan for one GHL webhook body: every Coopel request that would be sent, with its body, and the tags that would be added or removed. Sends nothing.",
    )
    .requiredOption("--event <file>", "JSON file with one webhook body")
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option(
      "--fields <file>",
      "JSON file with the location's custom field definitions, as GET /locations/:id/customFields returns them",
    )
    .option("--json", "print the plan as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync mapping test --event fixtures/ghl/webhooks/ContactCreate.json\n\nThe plan is the one for a record seen for the first time: links are not read and GHL is not called.\nExit codes: 0 plan printed, 2 invalid configuration or event file.",
    )
    .action(
      async (options: {
        event: string;
        config: string;
        fields?: string;
        json?: boolean;
      }) => {
        const loaded = loadConfigFile(options.config);
        const { runMappingTest } = await import("./mapping-test.js");
        setCode(await runMappingTest(loaded, options));
      },
    );
  return program;
}

/** Runs the command line and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((value) => {
    code = value;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  return code;
}
