#!/usr/bin/env node
// Runs the type check and the Vitest suite, then prints one closing line
// "N passed, N failed" and exits non-zero when anything failed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";

const extraArgs = process.argv.slice(2);
let passed = 0;
let failed = 0;

const typecheck = spawnSync("npx", ["tsc", "-p", "tsconfig.json", "--noEmit"], {
  stdio: "inherit",
});
if (typecheck.status === 0) passed += 1;
else {
  console.error("type check failed");
  failed += 1;
}

mkdirSync(".test-output", { recursive: true });
const resultsFile = ".test-output/vitest.json";
rmSync(resultsFile, { force: true });
const vitest = spawnSync(
  "npx",
  [
    "vitest",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${resultsFile}`,
    ...extraArgs,
  ],
  { stdio: "inherit" },
);

if (existsSync(resultsFile)) {
  const results = JSON.parse(readFileSync(resultsFile, "utf8"));
  passed += results.numPassedTests;
  failed += results.numFailedTests;
  // A suite that fails to load has no failed tests but still failed.
  failed += results.testResults.filter(
    (suite) => suite.status === "failed" && suite.assertionResults.length === 0,
  ).length;
} else {
  console.error("vitest wrote no results file");
  failed += 1;
}
if (vitest.status !== 0 && failed === 0) failed += 1;

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
