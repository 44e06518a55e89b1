import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  startCoopelSandbox,
  type CoopelSandbox,
} from "../src/sandbox/coopel-sandbox.js";
import { spawnCli } from "./helpers/cli.js";
import {
  COOPEL_TOKEN,
  fixture,
  signatureHeaders,
  testConfig,
} from "./helpers/harness.js";

let coopel: CoopelSandbox | undefined;
const children: ChildProcess[] = [];
let dir: string | undefined;

afterEach(async () => {
  for (const child of children)
    if (child.exitCode === null) child.kill("SIGKILL");
  await coopel?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts the CLI and resolves with its listening URL, read from its first log lines. */
function startProcess(
  configFile: string,
  role: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnCli(["start", "--config", configFile, "--role", role]);
  children.push(child);
  return new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(
      () => reject(new Error(`service did not start: ${buffer}`)),
      15_000,
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(buffer);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]! });
      }
    });
    child.on("exit", (code) =>
      reject(new Error(`service exited with ${code}: ${buffer}`)),
    );
  });
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("durability", () => {
  it("events acknowledged before a kill -9 are all synced after a restart", async () => {
    coopel = await startCoopelSandbox({ token: COOPEL_TOKEN, logger: false });
    dir = mkdtempSync(path.join(tmpdir(), "durability-"));
    const configFile = path.join(dir, "sync.config.yaml");
    const config = testConfig(dir, coopel.url, {
      log: { level: "info", pretty: "never" },
    });
    writeFileSync(configFile, stringify(config));

    const receiver = await startProcess(configFile, "receiver");
    const count = 40;
    for (let i = 0; i < count; i++) {
      const raw = JSON.stringify({
        ...fixture("ContactCreate"),
        id: `kill-${i}`,
        email: `k${i}@example.com`,
        webhookId: `wh-kill-${i}`,
      });
      const response = await fetch(`${receiver.url}/webhooks/ghl`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...signatureHeaders(raw, "ed25519"),
        },
        body: raw,
      });
      expect(response.status).toBe(200);
    }
    receiver.child.kill("SIGKILL");
    await new Promise((resolve) => receiver.child.once("exit", resolve));
    expect(coopel.contacts.size).toBe(0);

    await startProcess(configFile, "all");
    await waitFor(() => coopel!.contacts.size === count, 20_000);
    const ids = new Set(
      [...coopel.contacts.values()].map((c) => c.external_id),
    );
    expect(ids.size).toBe(count);
    expect(coopel.countRequests("POST")).toBe(count);
  }, 60_000);
});
