import pino, { type Logger as PinoLogger } from "pino";
import type { Config } from "../config/schema.js";

/** Paths whose values never reach a log line. */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "headers.authorization",
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
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    base: { service: "ghl-coopel-sync" },
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
