// Runs Vitest (jsdom environment) on vitest/sdk.spec.js as an operator's CI
// would, and checks from its JSON report that every test ran and passed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { HERE, OUT } from "./lib.mjs";

test("Vitest with jsdom: validate() and catalogue() pass in an operator's unit tests", () => {
  mkdirSync(OUT, { recursive: true });
  const report = join(OUT, "vitest.json");
  rmSync(report, { force: true });
  // --no: never download vitest; it must come from tests/bundlers/node_modules.
  const run = spawnSync("npx", ["--no", "vitest", "run", "--config", "vitest/vitest.config.mjs",
    "--reporter=default", "--reporter=json", `--outputFile.json=${report}`], {
    cwd: HERE,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, CI: "1", NO_COLOR: "1" },
  });
  const output = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, `vitest exits with 0:\n${output}`);
  const result = JSON.parse(readFileSync(report, "utf8"));
  const tests = result.testResults.flatMap((file) => file.assertionResults);
  // The four tests of sdk.spec.js, each one run and passed (none skipped).
  assert.equal(result.numTotalTests, 4, output);
  assert.deepEqual(tests.map((t) => t.status), ["passed", "passed", "passed", "passed"]);
  assert.ok(result.success);
});
