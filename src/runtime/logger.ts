import pino, { type Logger as PinoLogger } from "pino";
import type { Config } from "../config/schema.js";

/** Paths whose values never reach a log line, at any level. */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "res.headers['set-cookie']",
  "headers.authorization",
  "headers.cookie",
  "authorization",
  "token",
  "*.token",
  "access_token",
  "refresh_token",
  "client_secret",
  "*.access_token",
  "*.refresh_token",
  "*.client_secret",
];

const CENSOR = "[redacted]";
/** Keys whose values are secrets wherever they appear in a logged object. */
const SECRET_KEY =
  /^(authorization|cookie|set-cookie|password|password_hash|passwordhash|secret|client_?secret|clientsecret|(access|refresh|id|admin|bearer)?_?token|(access|refresh)token|sealed_?tokens|sealedtokens|api_?key|x-ghl-signature|x-wh-signature)$/i;
/** Keys whose values are personal data of contacts. */
const PERSONAL_KEY =
  /^(email|emaillowercase|phone|name|first_?name|last_?name|full_?name|firstnamelowercase|lastnamelowercase|fullnamelowercase|contactname|address1?|street|date_?of_?birth|dateofbirth|additionalemails|additionalphones)$/i;
const INFO_LEVEL = 30;
const MAX_DEPTH = 8;

/** Exact secret values from the configuration, replaced wherever they appear in a message. */
const knownSecrets = new Set<string>();

/**
 * Adds values that must never be logged, such as tokens and client secrets
 * from the configuration. Values shorter than 8 characters are ignored,
 * since replacing them would mangle ordinary words.
 */
export function registerSecretValues(values: (string | undefined)[]): void {
  for (const value of values) {
    if (value !== undefined && value.length >= 8) knownSecrets.add(value);
  }
}

function scrubText(text: string): string {
  let result = text;
  for (const secret of knownSecrets) {
    if (result.includes(secret)) result = result.split(secret).join(CENSOR);
  }
  return result;
}

/** Copies `value` with secret keys censored, and personal-data keys too when `personal` is set. */
function scrub(value: unknown, personal: boolean, depth: number): unknown {
  if (typeof value === "string") return scrubText(value);
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH)
    return value;
  if (Array.isArray(value))
    return value.map((item) => scrub(item, personal, depth + 1));
  if (value instanceof Error) {
    const copy = new Error(scrubText(value.message));
    copy.name = value.name;
    copy.stack = value.stack === undefined ? undefined : scrubText(value.stack);
    for (const [key, inner] of Object.entries(value)) {
      (copy as unknown as Record<string, unknown>)[key] = SECRET_KEY.test(key)
        ? CENSOR
        : scrub(inner, personal, depth + 1);
    }
    if (value.cause !== undefined)
      copy.cause = scrub(value.cause, personal, depth + 1);
    return copy;
  }
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (SECRET_KEY.test(key)) out[key] = CENSOR;
    else if (
      personal &&
      PERSONAL_KEY.test(key) &&
      inner !== null &&
      inner !== ""
    )
      out[key] = CENSOR;
    else out[key] = scrub(inner, personal, depth + 1);
  }
  return out;
}

/**
 * Builds the pino hook that censors every logged object: secrets at every
 * level, and personal data (emails, phones, names, addresses) at info and
 * above when `redactPersonalData` is set, so debug logs can still show it.
 */
export function redactionHook(
  redactPersonalData: boolean,
): NonNullable<pino.LoggerOptions["hooks"]>["logMethod"] {
  return function logMethod(args, method, level) {
    const personal = redactPersonalData && level >= INFO_LEVEL;
    const cleaned = args.map((arg) => scrub(arg, personal, 0));
    return method.apply(this, cleaned as Parameters<typeof method>);
  };
}

/** Creates the service logger: JSON lines, or readable lines when writing to a terminal. */
export function createLogger(
  config: Config["log"],
  destination?: NodeJS.WritableStream,
): PinoLogger {
  const pretty =
    config.pretty === "always" ||
    (config.pretty === "auto" && process.stdout.isTTY === true);
  const options: pino.LoggerOptions = {
    level: config.level,
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    base: { service: "ghl-coopel-sync" },
    hooks: { logMethod: redactionHook(config.redact_personal_data ?? true) },
  };
  if (destination) return pino(options, destination as pino.DestinationStream);
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: "pino-pretty",
        options: {
          colorize: true,
          translateTime: "SYS:HH:MM:ss.l",
          ignore: "pid,hostname,service",
        },
      },
    });
  }
  return pino(options);
}
