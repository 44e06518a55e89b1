import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pino from "pino";
import { parseConfig } from "/work/wt-delivery/src/config/load.js";
import { startService } from "/work/wt-delivery/src/runtime/service.js";
import { startCoopelSandbox } from "/work/wt-delivery/src/sandbox/coopel-sandbox.js";
import {
  testConfig,
  signatureHeaders,
} from "/work/wt-delivery/test/helpers/harness.js";
const dir = mkdtempSync(path.join(tmpdir(), "intake-"));
const coopel = await startCoopelSandbox({
  token: "test-coopel-token",
  logger: false,
});
const runWorker = process.argv[2] === "worker";
const service = await startService({
  config: parseConfig(
    testConfig(dir, coopel.url, { log: { level: "warn", pretty: "never" } }),
  ),
  baseDir: dir,
  logger: pino({ level: "warn" }),
  runWorker,
});
const N = 3000;
let next = 0;
const t0 = performance.now();
async function lane() {
  while (next < N) {
    const i = next++;
    const raw = JSON.stringify({
      type: "ContactCreate",
      locationId: "ve9EPM428h8vShlRW1KT",
      id: `c${i}`,
      email: `c${i}@x.com`,
      webhookId: `w${i}`,
    });
    const r = await fetch(`${service.url}/webhooks/ghl`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...signatureHeaders(raw, "ed25519"),
      },
      body: raw,
    });
    await r.arrayBuffer();
  }
}
await Promise.all(Array.from({ length: 32 }, lane));
const t1 = performance.now();
console.log(
  `intake ${N} in ${(t1 - t0).toFixed(0)} ms = ${((N / (t1 - t0)) * 1000).toFixed(0)}/s`,
);
while ((await service.queue.depth()) > 0)
  await new Promise((r) => setTimeout(r, 50));
console.log(
  `drained after ${(performance.now() - t0).toFixed(0)} ms; coopel ${coopel.contacts.size}`,
);
await service.close();
await coopel.close();
