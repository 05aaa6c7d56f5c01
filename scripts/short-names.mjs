// Gives one module's wasm imports and exports short names, and renames them
// the same way in the JavaScript glue and the wasm typings that wasm-bindgen
// wrote for it. wasm-bindgen names each import after the JS function and a
// 16-digit hash (`__wbg_createElement_8c9931a732ee2fea`), and each closure
// shim after its full Rust type. Those names are in both files, and the
// hashes do not compress: about 2.8 KB gzip on the consent module and
// 1.8 KB on its script, which only tie the two files together.
//
// The wasm side is binaryen's own pass (`wasm-opt
// --minify-imports-and-exports-and-modules`), which prints the mapping as JSON; this
// script applies it to the glue, where wasm-bindgen refers to an import as a
// key of its import object (`name: function(`) and to an export as
// `wasm.name`, and to the typings of both (`*_bg.wasm.d.ts`, and
// `InitOutput` in `*.d.ts`). It then checks, against the renamed module itself, that the
// glue provides every import and uses only exports that exist, and fails the
// build otherwise: a later wasm-bindgen that writes its glue differently
// stops here, not in a citizen's browser.
//
// A module split by wasm-split-cli (the consent module) also imports the
// loaders of its split modules, which scripts/split-loader.mjs merged into
// the glue: wasm-bindgen's glue hands them over as a second import object
// (under the module name "./__wasm_split.js"), and the loader reads the
// main module's memory, table and shared globals by export name. The pass
// puts every import in one module, so the loaders become keys of the
// glue's one import object, and the loader takes the short export names.
// The split modules keep their own import names: the loader gives them an
// object of its own.
//
// usage: node scripts/short-names.mjs pkg/consent mapping.json
import { readFileSync, writeFileSync } from "node:fs";

const [base, mappingPath] = process.argv.slice(2);
if (!base || !mappingPath) throw new Error("usage: short-names.mjs pkg/<module name> <wasm-opt's mapping.json>");
const mapping = JSON.parse(readFileSync(mappingPath, "utf8"));
const jsPath = `${base}.js`;
const typingsPath = `${base}_bg.wasm.d.ts`;
let js = readFileSync(jsPath, "utf8");
let typings = readFileSync(typingsPath, "utf8");
// In the glue's own typings, only the InitOutput interface names exports.
const declarationsPath = `${base}.d.ts`;
const declarationsText = readFileSync(declarationsPath, "utf8");
const initOutput = /^export interface InitOutput \{\n[^}]*^\}/m.exec(declarationsText);
if (!initOutput) throw new Error(`${declarationsPath}: no InitOutput interface where wasm-bindgen writes it`);
let declarations = initOutput[0];

const escape = (name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
// A name as a whole identifier (not a part of a longer one), between a
// lookbehind and a lookahead; ^ is a line start.
const whole = (before, name, after) => new RegExp(`${before}${escape(name)}(?![\\w$])${after}`, "gm");
const IMPORT_KEY = ["(?<=^[ \\t]+)", "(?=: function\\()"];
const EXPORT_USE = ["(?<=\\bwasm\\.)", ""];
const EXPORT_TYPING = ["(?<=^export const )", "(?=:)"];
// The module's exports as the glue's typings list them (InitOutput).
const INIT_OUTPUT = ["(?<=^[ \\t]+readonly )", "(?=:)"];

function rename(text, [before, after], name, to) {
  let count = 0;
  const next = text.replace(whole(before, name, after), () => {
    count += 1;
    return to;
  });
  return [next, count];
}

// The renames run one after another: that is only right while no old
// name is also a new one, and no new name is given twice.
const olds = [...mapping.imports.map(([, name]) => name), ...mapping.exports.map(([name]) => name)];
const news = [...mapping.imports.map(([, , to]) => to), ...mapping.exports.map(([, to]) => to)];
if (new Set(news).size !== news.length) throw new Error(`${mappingPath}: a short name is given twice`);
const clash = olds.find((name) => news.includes(name));
if (clash) throw new Error(`${mappingPath}: ${clash} is both an old and a new name`);

const module = `./${base.split("/").pop()}_bg.js`;
const SPLIT = "./__wasm_split.js";
const splitImports = [];
let count;
for (const [from, name, to] of mapping.imports) {
  if (from === SPLIT) {
    splitImports.push([name, to]);
    continue;
  }
  if (from !== module) throw new Error(`${base}: an import from ${from}, not from ${module}; the glue has no key for it`);
  [js, count] = rename(js, IMPORT_KEY, name, to);
  if (count !== 1) throw new Error(`${jsPath}: the import ${name} is a key of the import object ${count} times, not once`);
}
// The split loaders: out of their own import object, into the one the
// pass left, each under its short name.
if (splitImports.length > 0) {
  const entry = /^[ \t]+"\.\/__wasm_split\.js": (import\d+),\n/m;
  const found = entry.exec(js);
  if (!found) throw new Error(`${jsPath}: imports from ${SPLIT}, but the glue hands over no import object for it`);
  // The loaders' object, on the one line split-loader.mjs writes it.
  const members = new RegExp(`^const ${found[1]} = \\{([^}\\n]*)\\};$`, "m").exec(js);
  if (!members) {
    throw new Error(`${jsPath}: ${found[1]}, the split modules' loaders, is not in the glue: run scripts/split-loader.mjs first`);
  }
  const listed = `{${members[1]}`.trimEnd();
  for (const [name] of splitImports) {
    if (!new RegExp(`^const ${escape(name)} = `, "m").test(js)) throw new Error(`${jsPath}: has no ${name}, which the module imports`);
    if (!new RegExp(`[{,]\\s*${escape(name)}\\s*(,|$)`).test(listed)) {
      throw new Error(`${jsPath}: ${found[1]} does not hand over ${name}, which the module imports`);
    }
  }
  js = js.replace(entry, "");
  const head = /^([ \t]+)const import0 = \{\n[ \t]+__proto__: null,\n/m;
  if (!head.test(js)) throw new Error(`${jsPath}: no import0 object where wasm-bindgen writes it`);
  js = js.replace(head, (text, indent) =>
    text + splitImports.map(([name, to]) => `${indent}    ${to}: ${found[1]}.${name},\n`).join(""));
}
for (const [name, to] of mapping.exports) {
  [js] = rename(js, EXPORT_USE, name, to);
  [typings] = rename(typings, EXPORT_TYPING, name, to);
  [declarations] = rename(declarations, INIT_OUTPUT, name, to);
}

// The pass also renames the one module every import comes from; the glue
// provides it as a key of the imports it hands to the instance.
const wasm = new WebAssembly.Module(readFileSync(`${base}_bg.wasm`));
const modules = new Set(WebAssembly.Module.imports(wasm).map((i) => i.module));
if (modules.size !== 1) throw new Error(`${base}_bg.wasm: imports from ${modules.size} modules, not one`);
const [renamed] = modules;
[js, count] = rename(js, ['(?<=^[ \\t]+)"', '"(?=: import0,$)'], module, JSON.stringify(renamed));
if (count !== 1) throw new Error(`${jsPath}: "${module}" is a key of the imports ${count} times, not once`);

// What the split modules' loader takes from the main module, under the
// short names.
const SHARED = /^([ \t]+const \{)([^}]*)(\} = initSync\()/m;
if (splitImports.length > 0) {
  const found = SHARED.exec(js);
  if (!found) throw new Error(`${jsPath}: the loader takes nothing from the main module where wasm-split-cli writes it`);
  const short = new Map(mapping.exports);
  const names = found[2].split(",").map((name) => name.trim()).filter(Boolean);
  const pairs = names.map((name) => {
    if (!short.has(name)) throw new Error(`${jsPath}: the loader takes ${name}, which the main module does not export`);
    return `${short.get(name)}: ${name}`;
  });
  js = js.replace(SHARED, (text, before, list, after) => `${before} ${pairs.join(", ")} ${after}`);
}

// Checks against the module as it now is.
const exported = new Set(WebAssembly.Module.exports(wasm).map((e) => e.name));
if (splitImports.length > 0) {
  for (const pair of SHARED.exec(js)[2].split(",")) {
    const used = pair.split(":")[0].trim();
    if (used && !exported.has(used)) throw new Error(`${jsPath}: the loader takes ${used}, which the module does not export`);
  }
}
for (const [, used] of js.matchAll(/\bwasm\.([\w$]+)/g)) {
  if (!exported.has(used)) throw new Error(`${jsPath}: uses wasm.${used}, which the module does not export`);
}
const loaders = new Map(splitImports.map(([name, to]) => [to, name]));
for (const { module: from, name } of WebAssembly.Module.imports(wasm)) {
  if (from !== renamed) throw new Error(`${base}_bg.wasm: imports from ${from}, which the glue does not provide`);
  // A loader's key names it in the loaders' object, which the glue defines (above).
  const key = loaders.has(name)
    ? whole(IMPORT_KEY[0], name, `: import\\d+\\.${escape(loaders.get(name))},$`)
    : whole(IMPORT_KEY[0], name, IMPORT_KEY[1]);
  if (!key.test(js)) throw new Error(`${jsPath}: no function for the import ${name}`);
}
writeFileSync(jsPath, js);
writeFileSync(typingsPath, typings);
writeFileSync(declarationsPath, declarationsText.replace(initOutput[0], () => declarations));
