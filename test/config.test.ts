import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfigFile } from "../src/config/load.js";

function writeConfig(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sync-config-"));
  const file = path.join(dir, "sync.config.yaml");
  writeFileSync(file, text);
  return file;
}

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfigFile(writeConfig(text), env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

const valid = `coopel:\n  base_url: http://127.0.0.1:4102\n  token: \${COOPEL_TOKEN}\n`;

describe("loadConfigFile", () => {
  it("expands environment variables", () => {
    const { config } = loadConfigFile(writeConfig(valid), {
      COOPEL_TOKEN: "abc",
    });
    expect(config.coopel.token).toBe("abc");
    expect(config.worker.concurrency).toBe(8);
  });

  it("names a missing environment variable and its path", () => {
    expect(problemsOf(valid)).toEqual([
      expect.stringMatching(
        /^coopel\.token: environment variable COOPEL_TOKEN is not set/,
      ),
    ]);
  });

  it("names the path, value and allowed values of an enum", () => {
    const problems = problemsOf(
      `${valid}sync:\n  contacts:\n    delete:\n      policy: purge\n`,
      { COOPEL_TOKEN: "x" },
    );
    expect(problems).toEqual([
      'sync.contacts.delete.policy: "purge" is not allowed; use one of "delete", "mark", "ignore"',
    ]);
  });

  it("names an unknown key", () => {
    const problems = problemsOf(`${valid}worker:\n  concurency: 4\n`, {
      COOPEL_TOKEN: "x",
    });
    expect(problems).toEqual([
      expect.stringContaining("worker: unknown key(s) concurency"),
    ]);
  });

  it("names a value of the wrong type", () => {
    const problems = problemsOf(`${valid}server:\n  port: "eighty"\n`, {
      COOPEL_TOKEN: "x",
    });
    expect(problems).toEqual([
      expect.stringMatching(/^server\.port: "eighty" is invalid/),
    ]);
  });

  it("reports a missing required section", () => {
    expect(problemsOf("worker:\n  concurrency: 2\n")).toEqual([
      expect.stringMatching(/^coopel: missing is invalid/),
    ]);
  });

  it("reports YAML syntax errors", () => {
    expect(problemsOf("coopel: [unclosed\n")[0]).toMatch(/YAML syntax error/);
  });
});

describe("config error messages", () => {
  it("never show a secret value", () => {
    const problems = problemsOf(
      "coopel:\n  base_url: ftp://x\n  token: sup3r-secret-value\nghl:\n  locations:\n    - {id: a, token: tok-one-secret}\n    - {id: a, token: tok-two-secret}\n",
    );
    const text = problems.join("\n");
    expect(text).toContain("ghl.locations");
    expect(text).toContain("coopel.base_url");
    expect(text).not.toContain("tok-one-secret");
    expect(text).not.toContain("tok-two-secret");
    expect(text).not.toContain("sup3r-secret-value");
  });

  it("stops a YAML alias bomb", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
    ].join("\n");
    expect(problemsOf(bomb)[0]).toMatch(/YAML could not be read/);
  });
});
