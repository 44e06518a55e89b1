import { Command, CommanderError, Option } from "commander";
import { ConfigError, loadConfigFile } from "../config/load.js";
import { UsageError } from "./errors.js";
import type { EventsOptions } from "./inspect.js";

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
    .command("doctor")
    .description(
      "Check the configuration, the store, both APIs with their tokens, and the clock, and say how to fix each failure.",
    )
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option("--json", "print the checks as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync doctor --config sync.config.yaml\n\nExit codes: 0 every check passed, 1 a check failed, 2 invalid configuration.",
    )
    .action(async (options: { config: string; json?: boolean }) => {
      const loaded = loadConfigFile(options.config);
      const { runDoctor } = await import("./doctor.js");
      setCode(await runDoctor(loaded, options));
    });

  program
    .command("status")
    .description(
      "Show connections, the last 24 hours of events, inbox depth, lag and dead letters.",
    )
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option("--json", "print the figures as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync status --json\n\nExit codes: 0 healthy, 1 dead letters wait or no GHL location is active, 2 invalid configuration.",
    )
    .action(async (options: { config: string; json?: boolean }) => {
      const loaded = loadConfigFile(options.config);
      const { runStatus } = await import("./inspect.js");
      setCode(await runStatus(loaded, options));
    });

  program
    .command("events")
    .description(
      "List events newest first, filtered by type, state, outcome, contact and time; or show one with --id.",
    )
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option("--json", "print the events as JSON")
    .option("--type <type>", "event type, such as ContactUpdate")
    .addOption(
      new Option("--state <state>", "job state").choices([
        "pending",
        "running",
        "done",
        "dead",
      ]),
    )
    .addOption(
      new Option("--outcome <outcome>", "final outcome").choices([
        "synced",
        "skipped",
        "ignored",
        "failed",
      ]),
    )
    .option(
      "--contact <id>",
      "text in the event's key, such as a GHL contact id",
    )
    .option(
      "--since <duration>",
      "only events received within, such as 30m, 6h, 2d",
    )
    .option("--limit <n>", "at most this many events (1 to 1000)", "50")
    .option(
      "--id <id>",
      "show one event with its payload and requests, as JSON",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync events --state dead --since 1d\n  ghl-coopel-sync events --contact CWBf1PR9LvvBkcYqiXlc --json\n  ghl-coopel-sync events --id 42\n\nExit codes: 0 listed, 1 the event of --id does not exist, 2 invalid configuration or flag.",
    )
    .action(async (options: { config: string } & EventsOptions) => {
      const loaded = loadConfigFile(options.config);
      const { runEvents } = await import("./inspect.js");
      setCode(await runEvents(loaded, options));
    });

  program
    .command("catalog")
    .description(
      "Print every GHL and Coopel operation and GHL webhook event, marked with what this product does with it.",
    )
    .option("--json", "print the catalog as JSON, with counts")
    .option("--used", "only operations and events the product uses")
    .addOption(
      new Option("--system <system>", "one side only").choices([
        "ghl",
        "coopel",
      ]),
    )
    .option(
      "--search <words>",
      "only entries whose method, path, summary or scope has all the words",
    )
    .addHelpText(
      "after",
      '\nExamples:\n  ghl-coopel-sync catalog --used\n  ghl-coopel-sync catalog --system ghl --search "contacts tags" --json\n\nExit codes: 0 printed, 2 invalid flag.',
    )
    .action(
      async (options: {
        json?: boolean;
        used?: boolean;
        system?: "ghl" | "coopel";
        search?: string;
      }) => {
        const { runCatalog } = await import("./catalog.js");
        setCode(runCatalog(options));
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
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  return code;
}
