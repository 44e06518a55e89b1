import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";

function configFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "cli-config-"));
  const file = path.join(dir, "sync.config.yaml");
  writeFileSync(file, text);
  return file;
}

const base = "coopel:\n  base_url: http://127.0.0.1:9\n  token: t\n";

describe("start with an invalid configuration", () => {
  it.each([
    [
      "an unknown delete policy",
      `${base}sync:\n  contacts:\n    delete:\n      policy: purge\n`,
      "sync.contacts.delete.policy",
    ],
    ["a port out of range", `${base}server:\n  port: 70000\n`, "server.port"],
    ["a missing section", "worker:\n  concurrency: 2\n", "coopel"],
    ["an unknown key", `${base}mappings: {}\n`, "mappings"],
    [
      "an unset variable",
      "coopel:\n  base_url: http://127.0.0.1:9\n  token: ${NOT_SET_ANYWHERE}\n",
      "coopel.token",
    ],
    [
      "a bad transform",
      `${base}mapping:\n  contact:\n    fields:\n      email: { to: email, transforms: [shout] }\n`,
      "mapping.contact.fields.email",
    ],
  ])("exits 2 and names the path for %s", async (_name, text, pathInFile) => {
    const result = await runCli(["start", "--config", configFile(text)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(pathInFile);
  });

  it("exits 2 for a missing file", async () => {
    const result = await runCli([
      "start",
      "--config",
      "/nonexistent/sync.config.yaml",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("file not found");
  });

  it("exits 2 for an unknown role", async () => {
    const result = await runCli(["start", "--role", "everything"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("everything");
  });
});
