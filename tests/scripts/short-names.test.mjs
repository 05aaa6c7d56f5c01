// scripts/short-names.mjs on a small module of our own, written the way
// wasm-bindgen and binaryen write theirs: the renames it makes, and the
// builds it refuses. The package build runs it on the real modules; a
// refusal there is only seen when something is already wrong, so the
// refusals are tried here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SCRIPT = join(ROOT, "scripts/short-names.mjs");
const WASM_AS = join(ROOT, "node_modules/.bin/wasm-as");

// The module after binaryen's pass: one import module and short names.
const RENAMED_WAT = `(module
  (import "a" "b" (func (param i32)))
  (import "a" "c" (func))
  (memory (export "memory") 1)
  (func (export "d") (param i32) (call 0 (local.get 0)))
  (func (export "e") (call 1)))`;

// What binaryen prints for it: [module, old name, new name] per import,
// [old name, new name] per export.
const MAPPING = {
  imports: [
    ["./tiny_bg.js", "__wbg_log_0123456789abcdef", "b"],
    ["./tiny_bg.js", "__wbg_ping_fedcba9876543210", "c"],
  ],
  exports: [
    ["tiny_greet", "d"],
    ["tiny_ping", "e"],
  ],
};

// The glue as wasm-bindgen writes it, with the long names.
const GLUE = `function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_log_0123456789abcdef: function(arg0) {
            console.log(arg0);
        },
        __wbg_ping_fedcba9876543210: function() {
            return undefined;
        },
    };
    return {
        __proto__: null,
        "./tiny_bg.js": import0,
    };
}
export function greet(n) {
    wasm.tiny_greet(n);
}
export function ping() {
    wasm.tiny_ping();
}
`;

const WASM_TYPINGS = `/* tslint:disable */
export const memory: WebAssembly.Memory;
export const tiny_greet: (a: number) => void;
export const tiny_ping: () => void;
`;

const DECLARATIONS = `export function greet(n: number): void;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly tiny_greet: (a: number) => void;
    readonly tiny_ping: () => void;
}
`;

// The same module split by wasm-split-cli: it also imports a split
// module's loader, and exports what the split module shares with it.
const SPLIT_WAT = `(module
  (import "a" "b" (func (param i32)))
  (import "a" "c" (func))
  (import "a" "f" (func (param i32 i32)))
  (memory (export "i") 1)
  (table (export "g") 1 funcref)
  (global (export "h") i32 (i32.const 0))
  (func (export "d") (param i32) (call 0 (local.get 0)))
  (func (export "e") (call 1)))`;

const SPLIT_MAPPING = {
  imports: [...MAPPING.imports, ["./__wasm_split.js", "__wasm_split_load_agree", "f"]],
  exports: [...MAPPING.exports, ["__indirect_function_table", "g"], ["__wasm_split_shared0", "h"], ["memory", "i"]],
};

// The glue after scripts/split-loader.mjs merged into it the loader that
// wasm-split-cli wrote for the consent module (fixtures/__wasm_split.js):
// its import of the glue gone, its loaders no longer exported, and the
// object of them that the glue hands over.
const LOADER = readFileSync(new URL("./fixtures/__wasm_split.js", import.meta.url), "utf8");
const SPLIT_GLUE = `${GLUE.replace('"./tiny_bg.js": import0,\n', '"./tiny_bg.js": import0,\n        "./__wasm_split.js": import1,\n')}
${LOADER.replace(/^import .*\n/m, "").replace(/^export const /gm, "const ")}
const import1 = { __proto__: null, __wasm_split_load_agree };
`;

// A folder holding the fixture: the module, the glue and the mapping.
// Returns the script's exit status, its error output and the files.
function run({ glue = GLUE, mapping = MAPPING, wat = RENAMED_WAT } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "short-names-"));
  try {
    const base = join(dir, "tiny");
    writeFileSync(join(dir, "module.wat"), wat);
    execFileSync(WASM_AS, [join(dir, "module.wat"), "-o", `${base}_bg.wasm`]);
    writeFileSync(`${base}.js`, glue);
    writeFileSync(`${base}_bg.wasm.d.ts`, WASM_TYPINGS);
    writeFileSync(`${base}.d.ts`, DECLARATIONS);
    writeFileSync(join(dir, "mapping.json"), JSON.stringify(mapping));
    const result = spawnSync(process.execPath, [SCRIPT, base, join(dir, "mapping.json")], { encoding: "utf8" });
    const read = (file) => readFileSync(join(dir, file), "utf8");
    return {
      status: result.status,
      stderr: result.stderr,
      glue: read("tiny.js"),
      wasmTypings: read("tiny_bg.wasm.d.ts"),
      declarations: read("tiny.d.ts"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("renames the imports, the exports, the import module and their typings", () => {
  const out = run();
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.glue, /^ {8}b: function\(arg0\)/m);
  assert.match(out.glue, /^ {8}c: function\(\)/m);
  assert.match(out.glue, /^ {8}"a": import0,$/m);
  assert.match(out.glue, /wasm\.d\(n\)/);
  assert.match(out.glue, /wasm\.e\(\)/);
  assert.doesNotMatch(out.glue, /__wbg_log|__wbg_ping|tiny_greet|tiny_ping|tiny_bg\.js/);
  assert.match(out.wasmTypings, /^export const d: \(a: number\) => void;$/m);
  assert.match(out.wasmTypings, /^export const e: \(\) => void;$/m);
  assert.match(out.declarations, /^ {4}readonly d: \(a: number\) => void;$/m);
  assert.match(out.declarations, /^ {4}readonly e: \(\) => void;$/m);
  // Only InitOutput is renamed: the glue's own API keeps its names.
  assert.match(out.declarations, /^export function greet\(n: number\): void;$/m);
});

test("refuses a mapping that misses an import", () => {
  const out = run({ mapping: { ...MAPPING, imports: MAPPING.imports.slice(1) } });
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /no function for the import b/);
  // Nothing is half-written.
  assert.equal(out.glue, GLUE);
});

test("refuses a mapping that misses an export", () => {
  const out = run({ mapping: { ...MAPPING, exports: MAPPING.exports.slice(1) } });
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /uses wasm\.tiny_greet, which the module does not export/);
  assert.equal(out.glue, GLUE);
});

test("refuses a glue that names an import twice, or not at all", () => {
  const twice = GLUE.replace("__proto__: null,\n        __wbg_log", "__proto__: null,\n        __wbg_ping_fedcba9876543210: function() {},\n        __wbg_log");
  let out = run({ glue: twice });
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /the import __wbg_ping_fedcba9876543210 is a key of the import object 2 times, not once/);
  const none = GLUE.replace("__wbg_log_0123456789abcdef: function(arg0)", "log: function(arg0)");
  out = run({ glue: none });
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /the import __wbg_log_0123456789abcdef is a key of the import object 0 times, not once/);
});

test("refuses a mapping that gives a short name twice, or renames onto an old name", () => {
  let out = run({ mapping: { ...MAPPING, exports: [["tiny_greet", "d"], ["tiny_ping", "d"]] } });
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /a short name is given twice/);
  out = run({ mapping: { ...MAPPING, exports: [["tiny_greet", "tiny_ping"], ["tiny_ping", "e"]] } });
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /tiny_ping is both an old and a new name/);
});

test("refuses an import from a module the glue does not provide", () => {
  const imports = [["./other_bg.js", "__wbg_log_0123456789abcdef", "b"], MAPPING.imports[1]];
  const out = run({ mapping: { ...MAPPING, imports } });
  assert.notEqual(out.status, 0);
  assert.match(out.stderr, /an import from \.\/other_bg\.js, not from \.\/tiny_bg\.js/);
});

const split = (changes = {}) => run({ glue: SPLIT_GLUE, mapping: SPLIT_MAPPING, wat: SPLIT_WAT, ...changes });

test("a split module: its loaders join the one import object, and the loader takes the short export names", () => {
  const out = split();
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.glue, /^ {8}f: import1\.__wasm_split_load_agree,$/m);
  assert.match(out.glue, /^ {8}"a": import0,$/m);
  assert.doesNotMatch(out.glue, /"\.\/__wasm_split\.js":/);
  assert.match(out.glue, /const \{ g: __indirect_function_table, h: __wasm_split_shared0, i: memory \} = initSync\(/);
  // The split module's own import names stay: the loader's object provides them.
  assert.match(out.glue, /Object\.assign\(sharedImports\.__wasm_split, \{ __indirect_function_table, __wasm_split_shared0, memory,  \}\)/);
});

test("a split module: refuses a glue without the loader, or a loader that takes an export the module lacks", () => {
  const cases = [
    [{ glue: GLUE }, /imports from \.\/__wasm_split\.js, but the glue hands over no import object for it/],
    [{ glue: SPLIT_GLUE.replace(/^const import1 = .*\n/m, "") }, /import1, the split modules' loaders, is not in the glue: run scripts\/split-loader\.mjs first/],
    [{ glue: SPLIT_GLUE.replace("const __wasm_split_load_agree =", "const __wasm_split_load_other =") }, /has no __wasm_split_load_agree, which the module imports/],
    [{ glue: SPLIT_GLUE.replace("{ __proto__: null, __wasm_split_load_agree }", "{ __proto__: null }") }, /import1 does not hand over __wasm_split_load_agree/],
    [{ mapping: { ...SPLIT_MAPPING, exports: SPLIT_MAPPING.exports.filter(([name]) => name !== "memory") } }, /the loader takes memory, which the main module does not export/],
    // The mapping renames it to a name the module does not have.
    [{ mapping: { ...SPLIT_MAPPING, exports: SPLIT_MAPPING.exports.map(([name, to]) => [name, name === "memory" ? "z" : to]) } }, /the loader takes z, which the module does not export/],
  ];
  for (const [change, message] of cases) {
    const out = split(change);
    assert.notEqual(out.status, 0, `refused: ${message}`);
    assert.match(out.stderr, message);
    assert.equal(out.glue, change.glue ?? SPLIT_GLUE, "nothing is written");
  }
});
