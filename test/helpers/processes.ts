import type { ChildProcess } from "node:child_process";
import { spawnCli } from "./cli.js";

/** A CLI child process with the JSON log lines it printed so far. */
export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  lines: Record<string, unknown>[];
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/** Starts `ghl-coopel-sync start` in a child process and resolves once it listens. */
export function startServiceProcess(
  configFile: string,
  role: "all" | "receiver" | "worker",
  timeoutMs = 20_000,
): Promise<ServiceProcess> {
  const child = spawnCli(["start", "--config", configFile, "--role", role]);
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => resolve(code)),
  );
  return new Promise((resolve, reject) => {
    let partial = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${role} did not start in ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.on("data", (chunk: Buffer) => {
      partial += chunk.toString();
      const complete = partial.split("\n");
      partial = complete.pop() ?? "";
      for (const text of complete) {
        if (text.trim() === "") continue;
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          continue;
        }
        lines.push(line);
        if (typeof line.url === "string" && line.mode !== undefined) {
          clearTimeout(timer);
          resolve({ child, url: line.url, lines, exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        new Error(`${role} exited with ${code} before listening: ${stderr}`),
      );
    });
  });
}

/** Polls `check` every 50 ms until it returns true, failing after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`${what} not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
