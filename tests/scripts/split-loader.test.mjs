// scripts/split-loader.mjs on the loader wasm-split-cli wrote for the
// consent module (fixtures/__wasm_split.js, as the tool writes it) and a
// small glue written the way wasm-bindgen writes its import of it: the
// merged glue instantiates a split module from its file in Node, only if it
// is the split module of this build, and calls back with success or
// failure as the runtime expects; the script refuses what it does not
// know how to merge, and then writes nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SCRIPT = join(ROOT, "scripts/split-loader.mjs");
const WASM_AS = join(ROOT, "node_modules/.bin/wasm-as");
const LOADER = readFileSync(new URL("./fixtures/__wasm_split.js", import.meta.url), "utf8");

// The main module, as far as a split module sees it: memory, the function
// table, a shared global, and at table index 0 the runtime's callback,
// which notes (data × 10 + success).
const MAIN_WAT = `(module
  (memory (export "memory") 1)
  (table (export "__indirect_function_table") 1 funcref)
  (global (export "__wasm_split_shared0") i32 (i32.const 0))
  (global $seen (mut i32) (i32.const -1))
  (func $done (param i32 i32)
    (global.set $seen (i32.add (i32.mul (local.get 0) (i32.const 10)) (local.get 1))))
  (elem (i32.const 0) $done)
  (func (export "seen") (result i32) (global.get $seen)))`;

// A split module: it imports what the loader hands it, and writes `byte`
// into the shared memory when it is instantiated.
const splitWat = (byte) => `(module
  (import "__wasm_split" "memory" (memory 1))
  (import "__wasm_split" "__indirect_function_table" (table 1 funcref))
  (import "__wasm_split" "__wasm_split_shared0" (global i32))
  (data (i32.const 16) "\\${byte.toString(16).padStart(2, "0")}"))`;

// The main module's glue, reduced to what the loader meets: wasm-bindgen's
// import of the loader, `initSync` (the module already initialised), and,
// for the test, the loaders as the glue hands them to the module.
const GLUE = `import * as import1 from "./__wasm_split.js"
import { readFileSync } from "node:fs";
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(new URL("./main.wasm", import.meta.url))));
export function initSync() { return instance.exports; }
export const exports = instance.exports;
export const loaders = () => import1;
`;

function wasm(dir, file, wat) {
  writeFileSync(join(dir, `${file}.wat`), wat);
  execFileSync(WASM_AS, [join(dir, `${file}.wat`), "-o", join(dir, file)]);
}

/**
 * Merges `loader` into `glue` in a new folder, hands `check` the folder,
 * the script's result and the glue after, and removes the folder.
 */
async function merged(check, { loader = LOADER, glue = GLUE } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "split-loader-"));
  try {
    wasm(dir, "main.wasm", MAIN_WAT);
    wasm(dir, "split_agree.wasm", splitWat(42));
    writeFileSync(join(dir, "consent.js"), glue);
    writeFileSync(join(dir, "loader.js"), loader);
    const result = spawnSync(process.execPath, [SCRIPT, join(dir, "consent"), join(dir, "loader.js")], { encoding: "utf8" });
    await check({ dir, result, glue: readFileSync(join(dir, "consent.js"), "utf8") });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The merged glue in `dir`, imported afresh. */
function importGlue(dir) {
  return import(`${pathToFileURL(join(dir, "consent.js"))}?${Math.random()}`);
}

/**
 * Has `glue` load the agreement's module as the main module would, with
 * `data` for the callback; returns the callback's note, the shared memory
 * and what the loader logged.
 */
async function loadAgreement(glue, data) {
  const logged = [];
  const error = console.error;
  console.error = (...args) => logged.push(args.map(String).join(" "));
  try {
    await glue.loaders().__wasm_split_load_agree(0, data);
  } finally {
    console.error = error;
  }
  return { seen: glue.exports.seen(), memory: new Uint8Array(glue.exports.memory.buffer), logged };
}

test("merges the loader into the glue: the split module's URL for bundlers, its SHA-256, and no import left", () =>
  merged(({ dir, result, glue }) => {
    assert.equal(result.status, 0, result.stderr);
    const sha256 = execFileSync("sha256sum", [join(dir, "split_agree.wasm")], { encoding: "utf8" }).split(" ")[0];
    assert.ok(glue.includes(`splitModule(new URL("./split_agree.wasm", import.meta.url), "${sha256}")`), glue);
    assert.match(glue, /WebAssembly\.instantiate\(await src, imports\)/);
    assert.doesNotMatch(glue, /instantiateStreaming|\bfetch\(new URL|__wasm_split\.js"|^export const __wasm_split/m);
    assert.match(glue, /^const import1 = \{ __proto__: null, __wasm_split_load_agree \};$/m);
  }));

test("in Node, the merged glue instantiates the split module from its file and calls back with success", () =>
  merged(async ({ dir, result }) => {
    assert.equal(result.status, 0, result.stderr);
    const glue = await importGlue(dir);
    const { seen, memory, logged } = await loadAgreement(glue, 7);
    assert.equal(seen, 71, "the callback ran with its data and success");
    assert.equal(memory[16], 42, "the split module wrote into the shared memory");
    assert.deepEqual(logged, []);
    assert.equal(glue.splitFailure(), undefined);
  }));

test("a split module from another build is refused before it touches memory", () =>
  merged(async ({ dir, result }) => {
    assert.equal(result.status, 0, result.stderr);
    wasm(dir, "split_agree.wasm", splitWat(43));
    const glue = await importGlue(dir);
    const { seen, memory, logged } = await loadAgreement(glue, 4);
    assert.equal(seen, 40, "the callback ran with its data and failure");
    assert.equal(memory[16], 0, "nothing was written");
    assert.match(logged.join("\n"), /split_agree\.wasm is not the split module of this build of the SDK/);
    // Kept for the entry, which names it in the widget's error event.
    assert.match(glue.splitFailure(), /^\/.*\/split_agree\.wasm is not the split module of this build of the SDK \(SHA-256 [0-9a-f]{64}, not [0-9a-f]{64}\)/);
  }));

test("a split module that cannot be read calls back with failure, and a later call tries again", () =>
  merged(async ({ dir, result }) => {
    assert.equal(result.status, 0, result.stderr);
    const bytes = readFileSync(join(dir, "split_agree.wasm"));
    unlinkSync(join(dir, "split_agree.wasm"));
    const glue = await importGlue(dir);
    assert.equal((await loadAgreement(glue, 3)).seen, 30, "the callback ran with its data and failure");
    assert.match(glue.splitFailure(), /ENOENT.*split_agree\.wasm/);
    // The file arrives: the failure was not cached.
    writeFileSync(join(dir, "split_agree.wasm"), bytes);
    const { seen, memory } = await loadAgreement(glue, 5);
    assert.equal(seen, 51);
    assert.equal(memory[16], 42);
  }));

test("refuses a loader or a glue it does not know how to merge, and writes nothing", async () => {
  const cases = [
    [{ loader: LOADER.replace(/^export const __wasm_split_load_agree[\s\S]*$/m, "") }, /0 fetches and 0 streamed instantiations for 0 split modules/],
    [{ loader: LOADER.replace("instantiateStreaming", "instantiateStreamingly") }, /1 fetches and 0 streamed instantiations for 1 split modules/],
    [{ loader: LOADER.replace('import { initSync } from "./consent.js";', "const { initSync } = globalThis;") }, /no import of initSync from \.\/consent\.js/],
    [{ loader: LOADER.replace("console.error(e);", "console.warn(e);") }, /no console\.error\(e\) where wasm-split-cli logs a failed load/],
    [{ glue: GLUE.replace('import * as import1 from "./__wasm_split.js"\n', "") }, /consent\.js: no import of \.\/__wasm_split\.js/],
    [{ loader: LOADER.replace("(WebAssembly.instantiateStreaming(src, imports))", "(() => WebAssembly.instantiateStreaming(src, imports))") }, /not a module after the merge/],
  ];
  for (const [change, message] of cases) {
    await merged(({ result, glue }) => {
      assert.notEqual(result.status, 0, `refused: ${message}`);
      assert.match(result.stderr, message);
      assert.equal(glue, change.glue ?? GLUE, "nothing is written");
    }, change);
  }
});
