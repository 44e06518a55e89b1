import { Command, CommanderError, Option } from "commander";
import { ConfigError, loadConfigFile } from "../config/load.js";
import type { DeadLetterOptions } from "./dead-letters.js";
import { OptionError } from "./option-error.js";

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
    .command("reencrypt")
    .description(
      "Re-encrypt the stored OAuth tokens from the key in GHL_COOPEL_SYNC_ENCRYPTION_KEY to the key in GHL_COOPEL_SYNC_NEW_ENCRYPTION_KEY (each also as a _FILE variable).",
    )
    .requiredOption(
      "-c, --config <file>",
      "configuration file whose store to use",
      "sync.config.yaml",
    )
    .addHelpText(
      "after",
      "\nExample:\n  GHL_COOPEL_SYNC_NEW_ENCRYPTION_KEY=$(openssl rand -base64 32) ghl-coopel-sync reencrypt\n\nExit codes: 0 done, 1 a stored secret could not be opened, 2 a key or the store is not usable.",
    )
    .action(async (options: { config: string }) => {
      const loaded = loadConfigFile(options.config);
      const { runReencrypt } = await import("./security.js");
      setCode(await runReencrypt(loaded));
    });

  program
    .command("hash-password")
    .description(
      "Read an admin password from standard input and print the scrypt hash to put in admin.password_hash.",
    )
    .addHelpText(
      "after",
      "\nExample:\n  printf '%s' \"$ADMIN_PASSWORD\" | ghl-coopel-sync hash-password",
    )
    .action(async () => {
      const { runHashPassword } = await import("./security.js");
      setCode(await runHashPassword());
    });

  const selectOptions = (command: Command): Command =>
    command
      .option(
        "-c, --config <file>",
        "configuration file whose store to read",
        "sync.config.yaml",
      )
      .option("--id <ids...>", "job ids, as listed by dead-letters")
      .option("--account <id>", "GHL location id or Coopel account id")
      .option("--type <type>", "event type, for example ContactUpdate")
      .addOption(
        new Option("--class <class>", "error class of the last failure")
          .choices(["retryable", "permanent", "account"])
          .argParser((value) => value),
      )
      .option("--since <date>", "only jobs given up at or after this ISO date")
      .option("--limit <n>", "at most this many jobs, oldest first");

  selectOptions(
    program
      .command("dead-letters")
      .description(
        "List paused accounts and the jobs the worker gave up on, with the error class, the attempts, the last request and the error.",
      ),
  )
    .option("--json", "print JSON instead of text")
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync dead-letters --config sync.config.yaml --class permanent",
    )
    .action(async (options: CliSelectOptions & { json?: boolean }) => {
      const loaded = loadConfigFile(options.config);
      const { runDeadLetters } = await import("./dead-letters.js");
      setCode(
        await runDeadLetters(loaded, {
          ...fromCli(options),
          json: options.json,
        }),
      );
    });

  selectOptions(
    program
      .command("replay")
      .description(
        "Queue dead jobs again: one (--id), a filtered set, or all (--all). Safe to repeat: a job already replayed is not queued twice, and a record created earlier is found before any create.",
      ),
  )
    .option("--all", "replay every dead letter")
    .option("--dry-run", "list what would be replayed and change nothing")
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync replay --id 42\n  ghl-coopel-sync replay --account ve9EPM428h8vShlRW1KT --class retryable\n  ghl-coopel-sync replay --all",
    )
    .action(
      async (
        options: CliSelectOptions & { all?: boolean; dryRun?: boolean },
      ) => {
        const loaded = loadConfigFile(options.config);
        const { runReplay } = await import("./replay.js");
        setCode(
          await runReplay(loaded, {
            ...fromCli(options),
            all: options.all,
            dryRun: options.dryRun,
          }),
        );
      },
    );
  return program;
}

interface CliSelectOptions {
  config: string;
  id?: string[];
  account?: string;
  type?: string;
  class?: "retryable" | "permanent" | "account";
  since?: string;
  limit?: string;
}

function fromCli(options: CliSelectOptions): DeadLetterOptions {
  return {
    id: options.id,
    account: options.account,
    type: options.type,
    errorClass: options.class,
    since: options.since,
    limit: options.limit,
  };
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
    if (error instanceof OptionError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  return code;
}
