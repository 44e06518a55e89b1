import { readFileSync } from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { configSchema, type Config } from "./schema.js";

/** A configuration problem, with the path in the file that caused it. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(file: string, problems: string[]) {
    super(
      `invalid configuration in ${file}:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** A loaded configuration and where it came from. */
export interface LoadedConfig {
  config: Config;
  file: string;
  /** Folder of the configuration file; relative paths in it resolve from here. */
  baseDir: string;
}

/** Keys whose values are secrets and never appear in an error message. */
const SECRET_KEY = /token|secret|password|private_key/i;

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Reads, expands and validates a YAML configuration file.
 * Throws ConfigError naming each bad path, its value and what is allowed.
 */
export function loadConfigFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? "file not found"
        : String(error);
    throw new ConfigError(file, [
      `${reason}; pass an existing file with --config`,
    ]);
  }

  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      file,
      document.errors.map((e) => `YAML syntax error: ${e.message}`),
    );
  }
  let raw: unknown;
  try {
    // A low alias limit stops "billion laughs" documents from expanding.
    raw = document.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new ConfigError(file, [
      `YAML could not be read: ${(error as Error).message}`,
    ]);
  }
  const problems: string[] = [];
  const expanded = expandEnv(raw, [], env, problems);
  if (problems.length > 0) throw new ConfigError(file, problems);

  return {
    config: parseConfig(expanded, file),
    file: absolute,
    baseDir: path.dirname(absolute),
  };
}

/** Validates an already parsed configuration object. */
export function parseConfig(value: unknown, source = "configuration"): Config {
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(
    source,
    result.error.issues.map((issue) => describeIssue(issue, value)),
  );
}

function describeIssue(topIssue: z.core.$ZodIssue, root: unknown): string {
  const issue = deepestIssue(topIssue);
  const where =
    issue.path.length > 0 ? issue.path.map(String).join(".") : "(top level)";
  const hasValue = issue.code !== "unrecognized_keys";
  const value = hasValue ? valueAt(root, issue.path) : undefined;
  const secretPath = issue.path.some((part) => SECRET_KEY.test(String(part)));
  const shown =
    value === undefined
      ? "missing"
      : secretPath
        ? '"[redacted]"'
        : JSON.stringify(value, (key, inner: unknown) =>
            SECRET_KEY.test(key) ? "[redacted]" : inner,
          );
  if (issue.code === "unrecognized_keys") {
    return `${where}: unknown key(s) ${issue.keys.join(", ")}; remove them or check the spelling`;
  }
  if (issue.code === "invalid_value") {
    return `${where}: ${shown} is not allowed; use one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return `${where}: ${shown} is invalid: ${issue.message}`;
}

/**
 * For a value that matches no branch of a union, picks the branch issue that
 * got furthest into the value, since it names the most specific problem.
 */
function deepestIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return issue;
  let best: z.core.$ZodIssue | null = null;
  for (const branch of issue.errors) {
    for (const inner of branch) {
      const candidate = deepestIssue({
        ...inner,
        path: [...issue.path, ...inner.path],
      });
      const deeper = best === null || candidate.path.length > best.path.length;
      const sameDepthButNamesChoices =
        best !== null &&
        candidate.path.length === best.path.length &&
        candidate.code === "invalid_value";
      if (deeper || sameDepthButNamesChoices) best = candidate;
    }
  }
  return best ?? issue;
}

function valueAt(root: unknown, pathParts: PropertyKey[]): unknown {
  let current: unknown = root;
  for (const part of pathParts) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function expandEnv(
  value: unknown,
  at: string[],
  env: NodeJS.ProcessEnv,
  problems: string[],
): unknown {
  if (typeof value === "string") {
    return value.replace(
      ENV_REFERENCE,
      (_match, name: string, fallback: string | undefined) => {
        const where = at.join(".") || "(top level)";
        const found = env[name];
        if (found !== undefined && found !== "") return found;
        const fromFile = readVariableFile(name, env, where, problems);
        if (fromFile !== null) return fromFile;
        if (fallback !== undefined) return fallback;
        problems.push(
          `${where}: environment variable ${name} is not set; set it, set ${name}_FILE to a file that holds the value, or write \${${name}:-default}`,
        );
        return "";
      },
    );
  }
  if (Array.isArray(value))
    return value.map((item, i) =>
      expandEnv(item, [...at, String(i)], env, problems),
    );
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = expandEnv(item, [...at, key], env, problems);
    return out;
  }
  return value;
}

/**
 * Reads `${name}_FILE`, the container convention for secrets mounted as
 * files. One trailing line break is dropped, since editors and `echo` add it.
 */
function readVariableFile(
  name: string,
  env: NodeJS.ProcessEnv,
  where: string,
  problems: string[],
): string | null {
  const file = env[`${name}_FILE`];
  if (file === undefined || file === "") return null;
  try {
    return readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    problems.push(
      `${where}: ${name}_FILE names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); fix the path or its permissions`,
    );
    return "";
  }
}

/** Builds the JSON Schema of the configuration file, for editors. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: "input", target: "draft-2020-12" });
}
