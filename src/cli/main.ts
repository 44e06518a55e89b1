import { Command, CommanderError, Option } from "commander";
import { ConfigError, loadConfigFile } from "../config/load.js";
import type { DeadLetterOptions } from "./dead-letters.js";
import { OptionError } from "./option-error.js";
import { UsageError } from "./errors.js";
import { INIT_DEFAULTS } from "./init.js";
import type { EventsOptions } from "./inspect.js";

/** Exit codes of every command. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Builds the commander program; `setCode` receives the exit code of the command that ran. */
export function buildProgram(setCode: (code: number) => void): Command {
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
    .command("init")
    .description(
      "Write a commented sync.config.yaml and a .env.example that lists its secrets as ${VARIABLE} references. Asks for the settings on a terminal; with any setting flag, or without a terminal, takes the flags and the defaults.",
    )
    .option("--dir <folder>", "folder to write the two files into", ".")
    .addOption(
      new Option(
        "--mode <mode>",
        "embedded (one process, SQLite) or postgres (scale-out)",
      ).choices(["embedded", "postgres"]),
    )
    .option(
      "--postgres-url <url>",
      `PostgreSQL URL for --mode postgres, written to .env.example (default ${INIT_DEFAULTS.postgresUrl})`,
    )
    .option(
      "--location-id <id>",
      "GHL location to sync with a Private Integration token (default none yet)",
    )
    .option(
      "--ghl-url <url>",
      `GHL API base URL (default ${INIT_DEFAULTS.ghlUrl})`,
    )
    .option(
      "--coopel-url <url>",
      `Coopel API base URL (default ${INIT_DEFAULTS.coopelUrl})`,
    )
    .option(
      "--port <port>",
      `TCP port the webhook receiver listens on (default ${INIT_DEFAULTS.port})`,
    )
    .option("--force", "overwrite existing files")
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync init\n  ghl-coopel-sync init --dir deploy --mode postgres --location-id ve9EPM428h8vShlRW1KT --coopel-url https://api.coopel.example\n\nExit codes: 0 files written, 2 a file exists (without --force) or a flag is invalid.",
    )
    .action(async (options: CliInitOptions, command: Command) => {
      const { runInit, parsePort } = await import("./init.js");
      const settings = [
        "mode",
        "postgresUrl",
        "locationId",
        "ghlUrl",
        "coopelUrl",
        "port",
      ];
      setCode(
        await runInit({
          dir: options.dir,
          force: options.force,
          mode: options.mode,
          postgresUrl: options.postgresUrl,
          locationId: options.locationId,
          ghlUrl: options.ghlUrl,
          coopelUrl: options.coopelUrl,
          port:
            options.port === undefined ? undefined : parsePort(options.port),
          flagsGiven: settings.some(
            (name) => command.getOptionValueSource(name) === "cli",
          ),
        }),
      );
    });

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
    .option("--json", "print the applied migrations as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync migrate --config sync.config.yaml\n\nExit codes: 0 schema current, 1 failed, 2 invalid configuration or database unreachable.",
    )
    .action(async (options: { config: string; json?: boolean }) => {
      const loaded = loadConfigFile(options.config);
      const { runMigrate } = await import("./migrate.js");
      setCode(await runMigrate(loaded, options));
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
    .option(
      "--seed <count>",
      "fill the sandboxes for trying a first sync: this many GHL contacts, a third of them already on Coopel, plus the cases that need review",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync sandbox --config sync.config.yaml\n  ghl-coopel-sync sandbox --seed 2000\n\nExit codes: 0 stopped by a signal, 1 a sandbox could not start (a port in use), 2 invalid configuration.",
    )
    .action(async (options: { config: string; seed?: string }) => {
      const loaded = loadConfigFile(options.config);
      let seed: number | undefined;
      if (options.seed !== undefined) {
        seed = Number(options.seed);
        if (!Number.isInteger(seed) || seed < 0 || seed > 1_000_000)
          throw new OptionError(
            `--seed ${options.seed} is not a whole number from 0 to 1000000; give the number of GHL contacts to create`,
          );
      }
      const { runSandbox } = await import("./sandbox.js");
      setCode(await runSandbox(loaded, { seed }));
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
    .option("--json", "print the counts as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  GHL_COOPEL_SYNC_NEW_ENCRYPTION_KEY=$(openssl rand -base64 32) ghl-coopel-sync reencrypt\n\nA progress bar shows on a terminal.\nExit codes: 0 done, 1 a stored secret could not be opened, 2 a key or the store is not usable.",
    )
    .action(async (options: { config: string; json?: boolean }) => {
      const loaded = loadConfigFile(options.config);
      const { runReencrypt } = await import("./security.js");
      setCode(await runReencrypt(loaded, options));
    });

  program
    .command("hash-password")
    .description(
      "Read an admin password from standard input and print the scrypt hash to put in admin.password_hash.",
    )
    .addHelpText(
      "after",
      "\nExample:\n  printf '%s' \"$ADMIN_PASSWORD\" | ghl-coopel-sync hash-password\n\nExit codes: 0 hash printed, 2 the password is shorter than 12 characters.",
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
      "\nExample:\n  ghl-coopel-sync dead-letters --config sync.config.yaml --class permanent\n\nExit codes: 0 listed, 2 invalid configuration or flag.",
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

  program
    .command("conflicts")
    .description(
      "List fields changed on both sides since the last sync, newest first: the record, both values, both update times, the winner and the rule that picked it.",
    )
    .requiredOption(
      "-c, --config <file>",
      "configuration file whose store to read",
      "sync.config.yaml",
    )
    .option("--json", "print JSON instead of text")
    .option(
      "--since <time>",
      "only conflicts found at or after this ISO 8601 time",
    )
    .option("--limit <count>", "print at most this many conflicts", "100")
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync conflicts --config sync.config.yaml\n  ghl-coopel-sync conflicts --json --since 2026-01-31T00:00:00Z --limit 20\n\nExit codes: 0 listed, 2 invalid configuration or flag.",
    )
    .action(
      async (options: {
        config: string;
        json?: boolean;
        since?: string;
        limit?: string;
      }) => {
        const loaded = loadConfigFile(options.config);
        const { runConflicts } = await import("./conflicts.js");
        setCode(await runConflicts(loaded, options));
      },
    );

  selectOptions(
    program
      .command("replay")
      .description(
        "Queue dead jobs again: one (--id), a filtered set, or all (--all). Safe to repeat: a job already replayed is not queued twice, and a record created earlier is found before any create.",
      ),
  )
    .option("--all", "replay every dead letter")
    .option("--dry-run", "list what would be replayed and change nothing")
    .option("--json", "print the replayed job ids and count as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync replay --id 42\n  ghl-coopel-sync replay --account ve9EPM428h8vShlRW1KT --class retryable\n  ghl-coopel-sync replay --all --json\n\nA progress bar shows on a terminal.\nExit codes: 0 replayed (or listed with --dry-run), 2 invalid configuration, flag or selection.",
    )
    .action(
      async (
        options: CliSelectOptions & {
          all?: boolean;
          dryRun?: boolean;
          json?: boolean;
        },
      ) => {
        const loaded = loadConfigFile(options.config);
        const { runReplay } = await import("./replay.js");
        setCode(
          await runReplay(loaded, {
            ...fromCli(options),
            all: options.all,
            dryRun: options.dryRun,
            json: options.json,
          }),
        );
      },
    );

  program
    .command("backfill")
    .description(
      "First sync of one GHL location into Coopel: reads every GHL contact by cursor, links one-to-one matches (external id, then email, then E.164 phone), creates what has no match and puts doubtful matches on the review list. Resumes from its saved cursor.",
    )
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option(
      "--location <id>",
      "GHL location id; needed when several are configured",
    )
    .option("--dry-run", "log every write as a plan and send none")
    .option(
      "--restart",
      "forget the saved cursor and start from the first contact",
    )
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync backfill --config sync.config.yaml --dry-run\n\nExit codes: 0 done, 1 stopped early (budget share used up, GHL pages inconsistent) or some writes failed, 2 invalid configuration or flag.",
    )
    .action(
      async (options: {
        config: string;
        location?: string;
        dryRun?: boolean;
        restart?: boolean;
        json?: boolean;
      }) => {
        const loaded = loadConfigFile(options.config);
        const { runBackfill } = await import("./backfill.js");
        setCode(await runBackfill(loaded, options));
      },
    );

  const review = program
    .command("review")
    .description(
      "List and decide the matches the first sync did not link on its own (several candidates, a shared email or phone, a name and phone that differ).",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync review\n  ghl-coopel-sync review accept 3\n  ghl-coopel-sync review accept 4 --coopel 6f1c...\n  ghl-coopel-sync review reject 5\n\nExit codes: 0 done, 1 a contact no longer exists, 2 invalid configuration, item or flag.",
    );
  review
    .command("list", { isDefault: true })
    .description("List the open review items (the default of `review`).")
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option("--json", "print the items as JSON")
    .option("--all", "also list accepted and rejected items")
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync review list\n  ghl-coopel-sync review list --all --json\n\nExit codes: 0 listed, 2 invalid configuration or flag.",
    )
    .action(
      async (options: { config: string; json?: boolean; all?: boolean }) => {
        const loaded = loadConfigFile(options.config);
        const { runReviewList } = await import("./review.js");
        setCode(await runReviewList(loaded, options));
      },
    );
  review
    .command("accept <id>")
    .description(
      "Link the GHL contact of a review item to its Coopel candidate and fill that contact with the GHL values.",
    )
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option("--coopel <id>", "the candidate to link, when there are several")
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync review accept 3\n  ghl-coopel-sync review accept 4 --coopel 6f1c...\n\nExit codes: 0 linked, 1 a contact no longer exists, 2 invalid configuration, item or flag.",
    )
    .action(
      async (id: string, options: { config: string; coopel?: string }) => {
        const loaded = loadConfigFile(options.config);
        const { runReviewAccept } = await import("./review.js");
        setCode(await runReviewAccept(loaded, id, options));
      },
    );
  review
    .command("reject <id>")
    .description(
      "Treat the GHL contact of a review item as another person: create it on Coopel as a contact of its own, or with --leave-unlinked create nothing.",
    )
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option(
      "--leave-unlinked",
      "create nothing; later backfills leave the contact alone",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync review reject 5\n  ghl-coopel-sync review reject 6 --leave-unlinked\n\nExit codes: 0 done, 1 a contact no longer exists, 2 invalid configuration, item or flag.",
    )
    .action(
      async (
        id: string,
        options: { config: string; leaveUnlinked?: boolean },
      ) => {
        const loaded = loadConfigFile(options.config);
        const { runReviewReject } = await import("./review.js");
        setCode(await runReviewReject(loaded, id, options));
      },
    );

  program
    .command("reconcile")
    .description(
      "Compare every linked contact pair of a location field by field after mapping and normalisation, and list records missing on either side, links whose GHL contact is gone, and drift. Streams both sides.",
    )
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option(
      "--location <id>",
      "GHL location id; needed when several are configured",
    )
    .option(
      "--repair",
      "fix each difference in the direction of sync.contacts.direction and its conflict policy; a merged GHL contact's link moves to the survivor",
    )
    .option(
      "--dry-run",
      "with --repair: log the repairs as a plan and send none",
    )
    .option("--json", "print the findings and the summary as one JSON document")
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync reconcile\n  ghl-coopel-sync reconcile --repair --dry-run\n  ghl-coopel-sync reconcile --repair --json\n\nExit codes: 0 no difference left, 1 differences remain or a check failed, 2 invalid configuration or flag.",
    )
    .action(
      async (options: {
        config: string;
        location?: string;
        repair?: boolean;
        dryRun?: boolean;
        json?: boolean;
      }) => {
        const loaded = loadConfigFile(options.config);
        const { runReconcile } = await import("./reconcile.js");
        setCode(await runReconcile(loaded, options));
      },
    );

  program
    .command("sync-one")
    .description(
      "Sync one GHL contact now and print it before and after on both sides.",
    )
    .requiredOption("--ghl-id <id>", "the GHL contact id")
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option(
      "--location <id>",
      "GHL location id; needed when several are configured",
    )
    .option("--dry-run", "log the writes as a plan and send none")
    .option("--json", "print before, actions and after as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync sync-one --ghl-id nmFmQEsNgz6AVpgLVUJ0\n\nExit codes: 0 synced or already in sync, 1 not found in GHL or the sync failed, 2 invalid configuration or flag.",
    )
    .action(
      async (options: {
        config: string;
        ghlId: string;
        location?: string;
        dryRun?: boolean;
        json?: boolean;
      }) => {
        const loaded = loadConfigFile(options.config);
        const { runSyncOne } = await import("./sync-one.js");
        setCode(await runSyncOne(loaded, options));
      },
    );

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
        "unsupported",
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

  program
    .command("rules")
    .description("Work with the tag rules of the configuration.")
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync rules apply --config sync.config.yaml --dry-run",
    )
    .command("apply")
    .description(
      "Evaluate the tag rules over every linked contact, reading each contact from GHL within ghl.rate_limit, and add or remove the rule-owned tags on Coopel as a contact event would. Tags that no rule produced stay as they are.",
    )
    .option("-c, --config <file>", "configuration file", "sync.config.yaml")
    .option("--dry-run", "print the tag changes and send no Coopel writes")
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  ghl-coopel-sync rules apply --config sync.config.yaml --dry-run\n  ghl-coopel-sync rules apply --json\n\nA progress bar with the rate and the time left shows on a terminal.\nExit codes: 0 done, 1 a contact failed or the daily GHL budget ran out, 2 invalid configuration or no tag rules.",
    )
    .action(
      async (options: { config: string; dryRun?: boolean; json?: boolean }) => {
        const loaded = loadConfigFile(options.config);
        const { runRulesApply } = await import("./rules.js");
        setCode(await runRulesApply(loaded, options));
      },
    );

  program
    .command("mapping")
    .description("Check the mapping of the configuration.")
    .addHelpText(
      "after",
      "\nExample:\n  ghl-coopel-sync mapping test --event fixtures/ghl/webhooks/ContactCreate.json",
    )
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

interface CliInitOptions {
  dir: string;
  force?: boolean;
  mode?: "embedded" | "postgres";
  postgresUrl?: string;
  locationId?: string;
  ghlUrl?: string;
  coopelUrl?: string;
  port?: string;
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
    if (error instanceof ConfigError || error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  return code;
}
