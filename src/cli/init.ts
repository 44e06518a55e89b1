import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline/promises";
import { ConfigError, loadConfigFile } from "../config/load.js";
import { OptionError } from "./option-error.js";

/** Settings that `init` writes into the configuration; every field has a default. */
export interface InitSettings {
  mode: "embedded" | "postgres";
  /** PostgreSQL URL for the scale-out mode; goes into `.env.example`, not the config. */
  postgresUrl: string;
  /** GHL location to sync with a Private Integration token; null writes an empty list. */
  locationId: string | null;
  ghlUrl: string;
  coopelUrl: string;
  port: number;
}

export interface InitOptions extends Partial<InitSettings> {
  dir: string;
  force?: boolean;
  /** True when any setting came from a flag, so nothing is asked. */
  flagsGiven: boolean;
}

export const INIT_DEFAULTS: InitSettings = {
  mode: "embedded",
  postgresUrl: "postgres://postgres@127.0.0.1:5432/ghl_coopel_sync",
  locationId: null,
  ghlUrl: "https://services.leadconnectorhq.com",
  coopelUrl: "https://coopel.example.com/api",
  port: 3000,
};

const CONFIG_FILE = "sync.config.yaml";
const ENV_FILE = ".env.example";

/**
 * Writes a commented `sync.config.yaml` and a `.env.example` that lists its
 * secrets into `options.dir`. Asks for the settings on a terminal unless a
 * flag gave one; otherwise takes the flags and the defaults. Rejects
 * existing files unless `force` is set, and loads the written config with
 * the example values, so a file that would not load is never left behind.
 * Returns the exit code.
 */
export async function runInit(
  options: InitOptions,
  out: NodeJS.WritableStream = process.stdout,
  input: NodeJS.ReadStream = process.stdin,
): Promise<number> {
  const dir = path.resolve(options.dir);
  const configFile = path.join(dir, CONFIG_FILE);
  const envFile = path.join(dir, ENV_FILE);
  const existing = [configFile, envFile].filter((file) => existsSync(file));
  if (existing.length > 0 && !options.force)
    throw new OptionError(
      `${existing.join(" and ")} already exist${existing.length === 1 ? "s" : ""}; pass --force to overwrite, or --dir to write elsewhere`,
    );

  const interactive = !options.flagsGiven && input.isTTY === true;
  const settings = interactive
    ? await ask(withDefaults(options), input, out)
    : withDefaults(options);
  validate(settings);

  mkdirSync(dir, { recursive: true });
  const env = exampleEnv(settings);
  writeFileSync(configFile, configText(settings));
  writeFileSync(envFile, envText(env));
  try {
    loadConfigFile(configFile, Object.fromEntries(env));
  } catch (error) {
    rmSync(configFile, { force: true });
    rmSync(envFile, { force: true });
    if (error instanceof ConfigError)
      throw new OptionError(
        `the configuration init would write does not load, so nothing was written:\n${error.message}`,
      );
    throw error;
  }

  const relative = path.relative(process.cwd(), configFile) || CONFIG_FILE;
  out.write(
    [
      `wrote ${configFile}`,
      `wrote ${envFile}`,
      "",
      "Next:",
      `  1. Copy ${ENV_FILE} to .env, fill in the real values and load them, for example: set -a; . ./.env; set +a`,
      `  2. ghl-coopel-sync doctor --config ${relative}`,
      `  3. ghl-coopel-sync start --config ${relative}`,
      "",
    ].join("\n"),
  );
  return 0;
}

function withDefaults(options: InitOptions): InitSettings {
  return {
    mode: options.mode ?? INIT_DEFAULTS.mode,
    postgresUrl: options.postgresUrl ?? INIT_DEFAULTS.postgresUrl,
    locationId: options.locationId ?? INIT_DEFAULTS.locationId,
    ghlUrl: options.ghlUrl ?? INIT_DEFAULTS.ghlUrl,
    coopelUrl: options.coopelUrl ?? INIT_DEFAULTS.coopelUrl,
    port: options.port ?? INIT_DEFAULTS.port,
  };
}

/** Asks for each setting on the terminal; an empty reply keeps the value shown in brackets. */
async function ask(
  defaults: InitSettings,
  input: NodeJS.ReadStream,
  out: NodeJS.WritableStream,
): Promise<InitSettings> {
  const prompt = createInterface({ input, output: out });
  const question = async (text: string, current: string): Promise<string> =>
    (await prompt.question(`${text} [${current}]: `)).trim() || current;
  try {
    const mode = await question(
      "Mode: embedded (one process, SQLite) or postgres (scale-out)",
      defaults.mode,
    );
    if (mode !== "embedded" && mode !== "postgres")
      throw new OptionError(
        `mode "${mode}" is invalid; type embedded or postgres`,
      );
    const postgresUrl =
      mode === "postgres"
        ? await question("PostgreSQL URL", defaults.postgresUrl)
        : defaults.postgresUrl;
    const locationId = await question(
      "GHL location id (empty for none yet)",
      defaults.locationId ?? "",
    );
    const coopelUrl = await question("Coopel API base URL", defaults.coopelUrl);
    const port = await question("Port for webhooks", String(defaults.port));
    return {
      mode,
      postgresUrl,
      locationId: locationId === "" ? null : locationId,
      ghlUrl: defaults.ghlUrl,
      coopelUrl,
      port: parsePort(port),
    };
  } finally {
    prompt.close();
  }
}

/** Parses a TCP port from a flag or a prompt reply; throws OptionError naming the value. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new OptionError(
      `port ${JSON.stringify(text)} is invalid; use a whole number from 0 to 65535`,
    );
  return port;
}

function validate(settings: InitSettings): void {
  for (const [flag, value] of [
    ["--ghl-url", settings.ghlUrl],
    ["--coopel-url", settings.coopelUrl],
  ] as const) {
    let url: URL | null;
    try {
      url = new URL(value);
    } catch {
      url = null;
    }
    if (url === null || !/^https?:$/.test(url.protocol))
      throw new OptionError(
        `${flag} ${JSON.stringify(value)} is invalid; use an http:// or https:// URL`,
      );
  }
  if (!/^postgres(ql)?:\/\//.test(settings.postgresUrl))
    throw new OptionError(
      `--postgres-url ${JSON.stringify(settings.postgresUrl)} is invalid; use a URL that starts with postgres://`,
    );
  if (
    settings.locationId !== null &&
    !/^[A-Za-z0-9_-]+$/.test(settings.locationId)
  )
    throw new OptionError(
      `--location-id ${JSON.stringify(settings.locationId)} is invalid; use the id from the location's URL in GHL (letters and digits)`,
    );
}

/** Lists the variables the config reads, with example values that let it load. */
function exampleEnv(settings: InitSettings): [string, string][] {
  const env: [string, string][] = [
    ["COOPEL_TOKEN", "replace-with-your-coopel-api-token"],
    [
      "GHL_COOPEL_SYNC_ADMIN_TOKEN",
      "replace-with-the-output-of-openssl-rand-hex-32",
    ],
  ];
  if (settings.locationId !== null)
    env.push([
      "GHL_LOCATION_TOKEN",
      "replace-with-the-private-integration-token-of-the-location",
    ]);
  if (settings.mode === "postgres")
    env.push(["GHL_COOPEL_SYNC_DATABASE_URL", settings.postgresUrl]);
  return env;
}

function envText(env: [string, string][]): string {
  const notes: Record<string, string> = {
    COOPEL_TOKEN: "Bearer token of the Coopel API.",
    GHL_COOPEL_SYNC_ADMIN_TOKEN:
      "Admin bearer token for the dashboard API and /metrics, 32 characters or more: openssl rand -hex 32",
    GHL_LOCATION_TOKEN:
      "Private Integration token of the GHL location (Settings, Private Integrations).",
    GHL_COOPEL_SYNC_DATABASE_URL:
      "PostgreSQL database shared by every process; it may carry a password.",
  };
  const lines = [
    "# Secrets of sync.config.yaml. Copy this file to .env, fill in the real",
    "# values and keep .env out of version control. Any variable NAME can",
    "# instead be read from a file named by NAME_FILE, such as a mounted secret.",
  ];
  for (const [name, value] of env)
    lines.push("", `# ${notes[name] ?? name}`, `${name}=${value}`);
  return `${lines.join("\n")}\n`;
}

function configText(settings: InitSettings): string {
  const store =
    settings.mode === "embedded"
      ? [
          "store:",
          "  # Embedded mode: one SQLite file; relative paths start at this file's folder.",
          "  url: sqlite:./data/sync.db",
          "  # normal survives a killed process; full also survives power loss.",
          "  synchronous: normal",
        ]
      : [
          "store:",
          "  # Scale-out mode: PostgreSQL shared by every receiver and worker.",
          "  # Create the database, then run: ghl-coopel-sync migrate --config sync.config.yaml",
          "  url: ${GHL_COOPEL_SYNC_DATABASE_URL}",
          "  max_connections: 10",
        ];
  const locations =
    settings.locationId === null
      ? [
          "  # Each synced location with its Private Integration token, for example:",
          "  #   - id: ve9EPM428h8vShlRW1KT",
          "  #     token: ${GHL_LOCATION_TOKEN}",
          "  locations: []",
        ]
      : [
          "  locations:",
          `    - id: ${settings.locationId}`,
          "      # Private Integration token with the contacts and tags scopes.",
          "      token: ${GHL_LOCATION_TOKEN}",
        ];
  return [
    "# ghl-coopel-sync configuration, written by `ghl-coopel-sync init`.",
    "# ${NAME} reads the environment variable NAME (or the file NAME_FILE names);",
    "# .env.example lists the ones this file uses. README.md describes every key.",
    "",
    ...store,
    "",
    "server:",
    "  host: 127.0.0.1",
    `  port: ${settings.port}`,
    "  # The HTTPS address GHL posts webhooks to, behind your reverse proxy:",
    "  # public_url: https://sync.example.com",
    "",
    "ghl:",
    `  base_url: ${settings.ghlUrl}`,
    ...locations,
    "",
    "coopel:",
    `  base_url: ${settings.coopelUrl}`,
    "  token: ${COOPEL_TOKEN}",
    "  timeout_ms: 10000",
    "  # Routes your Coopel lacks can be set to null, for example:",
    "  # routes: { remove_tags: null }",
    "",
    "sync:",
    "  contacts:",
    "    enabled: true",
    "    delete:",
    "      policy: delete # delete | mark | ignore",
    "  tasks:",
    "    enabled: true",
    "  notes:",
    "    enabled: true",
    "  tags:",
    "    enabled: true",
    "",
    "mapping:",
    "  # Country assumed for phone numbers written without a country code.",
    "  default_country: US",
    "  # Tags added on Coopel while a JSONata condition holds, for example:",
    "  #   - tag: hot-lead",
    "  #     when: custom.lead_score >= 50",
    "  tag_rules: []",
    "",
    "admin:",
    "  # Bearer token for scripts and /metrics; or set password_hash from",
    "  # `ghl-coopel-sync hash-password` to log in to the dashboard.",
    "  token: ${GHL_COOPEL_SYNC_ADMIN_TOKEN}",
    "",
    "log:",
    "  level: info",
    "",
  ].join("\n");
}
