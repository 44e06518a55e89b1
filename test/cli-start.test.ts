import { createServer } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runCli } from "./helpers/cli.js";
import { testConfig } from "./helpers/harness.js";

describe("start on a busy port", () => {
  it("exits 1 and names the port instead of hanging", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) =>
      blocker.listen(0, "127.0.0.1", resolve),
    );
    const port = (blocker.address() as { port: number }).port;
    const dir = mkdtempSync(path.join(tmpdir(), "busy-port-"));
    try {
      const file = path.join(dir, "sync.config.yaml");
      const config = testConfig(dir, "http://127.0.0.1:9", {
        server: { host: "127.0.0.1", port },
        log: { level: "info", pretty: "never" },
      });
      writeFileSync(file, stringify(config));
      const result = await runCli(["start", "--config", file], {}, 30_000);
      expect(result.code).toBe(1);
      expect(result.stdout + result.stderr).toContain(
        `cannot listen on 127.0.0.1:${port}`,
      );
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
