import { readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../src/cli/main.js";

/** Commands whose output is data, so they must offer --json. */
const DATA_COMMANDS = [
  "migrate",
  "reencrypt",
  "dead-letters",
  "replay",
  "doctor",
  "status",
  "events",
  "catalog",
  "mapping test",
  "rules apply",
];

interface Walked {
  name: string;
  command: Command;
  leaf: boolean;
}

function walk(command: Command, prefix: string[] = []): Walked[] {
  const found: Walked[] = [];
  for (const child of command.commands) {
    const names = [...prefix, child.name()];
    found.push({
      name: names.join(" "),
      command: child,
      leaf: child.commands.length === 0,
    });
    found.push(...walk(child, names));
  }
  return found;
}

/** Renders the full --help output of a command, including the text added after the options. */
function helpOf(command: Command): string {
  let text = "";
  command.configureOutput({
    writeOut: (chunk) => (text += chunk),
    writeErr: (chunk) => (text += chunk),
  });
  command.outputHelp();
  return text;
}

const commands = walk(buildProgram(() => undefined));

describe("command line help", () => {
  it("walks every command of the program", () => {
    const names = commands.map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([...DATA_COMMANDS, "init", "start", "mapping"]),
    );
    expect(names.length).toBeGreaterThanOrEqual(16);
  });

  for (const { name, command, leaf } of commands) {
    it(`${name} --help shows an example`, () => {
      const help = helpOf(command);
      expect(help).toMatch(/Examples?:\n {2}.*ghl-coopel-sync /);
      if (leaf) expect(help).toContain("Exit codes:");
    });
  }

  it("data commands offer --json", () => {
    for (const name of DATA_COMMANDS) {
      const found = commands.find((c) => c.name === name);
      expect(found, name).toBeDefined();
      const flags = found!.command.options.map((o) => o.long);
      expect(flags, name).toContain("--json");
    }
  });

  it("README lists every command with its exit codes", () => {
    const readme = readFileSync(
      path.resolve(import.meta.dirname, "../README.md"),
      "utf8",
    );
    const section = readme.slice(
      readme.indexOf("## Commands"),
      readme.indexOf("\n## ", readme.indexOf("## Commands") + 1),
    );
    const entries = section.split("\n- `ghl-coopel-sync ").slice(1);
    for (const { name, leaf } of commands) {
      if (!leaf) continue;
      const entry = entries.find(
        (e) => e.startsWith(`${name} `) || e.startsWith(`${name}\``),
      );
      expect(entry, `README entry of ${name}`).toBeDefined();
      expect(entry, name).toContain("Exit codes");
    }
  });
});
