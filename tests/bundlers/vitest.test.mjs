// Runs Vitest (jsdom environment) on vitest/sdk.spec.js as an operator's CI
// would, and checks from its JSON report that every test ran and passed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { HERE, OUT } from "./lib.mjs";

test("Vitest with jsdom: validate() and catalogue(), an integrator's tests of every screen against the test kit, and the React and Vue wrappers", () => {
  mkdirSync(OUT, { recursive: true });
  const report = join(OUT, "vitest.json");
  rmSync(report, { force: true });
  // --no: never download vitest; it must come from tests/bundlers/node_modules.
  const run = spawnSync("npx", ["--no", "vitest", "run", "--config", "vitest/vitest.config.mjs",
    "--reporter=default", "--reporter=json", `--outputFile.json=${report}`], {
    cwd: HERE,
    encoding: "utf8",
    timeout: 180_000,
    env: { ...process.env, CI: "1", NO_COLOR: "1" },
  });
  const output = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, `vitest exits with 0:\n${output}`);
  const result = JSON.parse(readFileSync(report, "utf8"));
  // Every test of every file ran and passed (none skipped): sdk.spec.js,
  // the sample integrator test, and the React (StrictMode) and Vue
  // wrappers against the test kit.
  const expected = { "integrator.spec.js": 18, "react.spec.js": 2, "sdk.spec.js": 12, "vue.spec.js": 1 };
  const perFile = Object.fromEntries(result.testResults.map((file) => [
    basename(file.name), file.assertionResults.map((t) => t.status),
  ]));
  assert.deepEqual(Object.keys(perFile).sort(), Object.keys(expected), output);
  for (const [file, count] of Object.entries(expected)) {
    assert.deepEqual(perFile[file], Array(count).fill("passed"), `${file}\n${output}`);
  }
  assert.ok(result.success);
});
