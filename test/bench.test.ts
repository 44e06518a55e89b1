import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");

const FIGURES = [
  "Intake, bare Fastify route",
  "Intake, durable, embedded",
  "Intake, embedded, at 1,000/s",
  "Intake, durable, PostgreSQL",
  "Intake, PostgreSQL, at 1,000/s",
  "End to end, one process, embedded",
  "End to end at 500/s, webhook to Coopel write",
  "Coalescing, ",
  "Memory at rest, ",
  "Scale-out on PostgreSQL, 1 / 2 / 4 workers",
  "Budget, 2,000 writes at 100 per 10 s",
  "Reconcile, 1 M records per side",
];

describe("benchmark", () => {
  it(
    "npm run bench -- --quick runs every part and prints every row of the table",
    { timeout: 300_000 },
    async () => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "bench/run.ts", "--quick"],
        { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 280_000);
      const code = await new Promise<number | null>((resolve) =>
        child.on("exit", resolve),
      );
      clearTimeout(timer);
      expect(code, stderr).toBe(0);
      expect(stdout).toMatch(/^Measured .* \(quick run/m);
      expect(stdout).toMatch(/^Node v\d+\.\d+\.\d+, \d+ × .*, commit /m);
      const rows = stdout.split("\n").filter((line) => line.startsWith("| "));
      expect(rows[0]).toBe("| Figure | Measured | Target | Met |");
      for (const figure of FIGURES) {
        const found = rows.find((line) => line.startsWith(`| ${figure}`));
        expect(found, `row ${figure}`).toBeDefined();
        expect(found).not.toContain("failed:");
      }
      // Every measured row holds a number.
      for (const line of rows
        .slice(2)
        .filter((l) => !l.includes("not measured")))
        expect(line.split("|")[2]).toMatch(/\d/);
    },
  );
});
