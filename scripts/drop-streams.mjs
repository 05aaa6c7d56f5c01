// Drops, from one module that wasm-bindgen has just written into pkg/, the
// exports of wasm-streams and the JavaScript classes wasm-bindgen writes for
// them. Leptos 0.8 always links server_fn, whose browser client depends on
// wasm-streams; its #[wasm_bindgen] classes (IntoUnderlyingSource, …Sink,
// …ByteSource) are exported from every crate that links it, so each module
// carried them although the SDK has no server functions and nothing can
// reach them. Without the exports, wasm-opt removes their code: about
// 1.8 KB gzip per module, and their glue (docs/size.md).
//
// The glue is matched by the shape wasm-bindgen gives it; if a later
// wasm-bindgen writes it otherwise, this script fails rather than leave a
// half-removed class behind.
//
// usage: node scripts/drop-streams.mjs pkg/consent
import { readFileSync, writeFileSync } from "node:fs";

const base = process.argv[2];
if (!base) throw new Error("usage: drop-streams.mjs pkg/<module name>");
const DROPPED = /^(__wbg_)?intounderlying/;
const CLASSES = ["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource"];

function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

function uleb(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return Buffer.from(out);
}

// The wasm: the export section, without the dropped names.
const wasmPath = `${base}_bg.wasm`;
const wasm = readFileSync(wasmPath);
const parts = [wasm.subarray(0, 8)];
const dropped = [];
for (let at = 8; at < wasm.length; ) {
  const id = wasm[at];
  const [size, start] = leb(wasm, at + 1);
  const end = start + size;
  if (id !== 7) {
    parts.push(wasm.subarray(at, end));
  } else {
    const body = wasm.subarray(start, end);
    let [count, cursor] = leb(body, 0);
    const kept = [];
    while (count--) {
      const from = cursor;
      const [length, nameAt] = leb(body, cursor);
      const name = body.subarray(nameAt, nameAt + length).toString("utf8");
      [, cursor] = leb(body, nameAt + length + 1); // kind byte, then index
      if (DROPPED.test(name)) dropped.push(name);
      else kept.push(body.subarray(from, cursor));
    }
    const section = Buffer.concat([uleb(kept.length), ...kept]);
    parts.push(Buffer.from([7]), uleb(section.length), section);
  }
  at = end;
}
if (dropped.length === 0) throw new Error(`${wasmPath}: no wasm-streams exports to drop; is this script still needed?`);
writeFileSync(wasmPath, Buffer.concat(parts));

// The glue: each class, its finalization registry, and their types.
function cut(text, pattern, what) {
  const next = text.replace(pattern, "");
  if (next === text) throw new Error(`${base}: wasm-bindgen's ${what} not found where expected`);
  return next;
}
let js = readFileSync(`${base}.js`, "utf8");
let dts = readFileSync(`${base}.d.ts`, "utf8");
for (const name of CLASSES) {
  js = cut(js, new RegExp(`export class ${name} \\{[\\s\\S]*?\\nif \\(Symbol\\.dispose\\) ${name}\\.prototype\\[Symbol\\.dispose\\] = ${name}\\.prototype\\.free;\\n`), `class ${name}`);
  js = cut(js, new RegExp(`const ${name}Finalization = [^;]*;\\n`), `${name}Finalization`);
  dts = cut(dts, new RegExp(`export class ${name} \\{[\\s\\S]*?\\n\\}\\n`), `declaration of ${name}`);
}
dts = dts.replace(/^ *readonly (__wbg_)?intounderlying\w*: .*\n/gm, "");
const wasmDts = readFileSync(`${base}_bg.wasm.d.ts`, "utf8").replace(/^export const (__wbg_)?intounderlying\w*: .*\n/gm, "");
for (const [file, text] of [[`${base}.js`, js], [`${base}.d.ts`, dts], [`${base}_bg.wasm.d.ts`, wasmDts]]) {
  if (/intounderlying/i.test(text)) throw new Error(`${file}: a wasm-streams name is left after the cut`);
  writeFileSync(file, text);
}
console.log(`${base}: dropped ${dropped.length} wasm-streams exports and their ${CLASSES.length} classes`);
