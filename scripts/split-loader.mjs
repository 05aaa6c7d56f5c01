// Merges the loader that wasm-split-cli writes (`__wasm_split.js`) into
// the module's glue, and makes it load a split module wherever the main
// module loads, and only the one split from the same build:
// - one file, not two: the glue imports the loader statically, so a page
//   would otherwise wait for one more request before the module can start;
// - in a browser, from its bytes rather than streamed: streaming needs the
//   server to send application/wasm, and wasm-bindgen's glue falls back the
//   same way for the main module; a split module is a few KB, which
//   streaming does not speed up;
// - in Node (SSR, Vitest with jsdom, an integrator's tests against the test
//   kit), from disk, as index.js reads the main module: Node's fetch cannot
//   read a file: URL, nor a path that Vite rewrote for its dev server;
// - its SHA-256 checked first: a split module writes its data and table
//   entries at the addresses of the build it was split from, and one from
//   another build (a cache or a deploy that mixes versions) would load
//   without an error and overwrite the main module's memory. A mismatch is
//   fetched once more past the HTTP cache (an older file cached before an
//   upgrade), then refused.
// The `new URL("./<split>.wasm", import.meta.url)` stays as written, for
// bundlers to find and emit the file. Fails unless the loader and the glue
// are written the way wasm-split-cli and wasm-bindgen write them.
//
// usage: node scripts/split-loader.mjs pkg/consent target/split/__wasm_split.js
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";

const [base, loaderPath] = process.argv.slice(2);
if (!base || !loaderPath) throw new Error("usage: split-loader.mjs pkg/<module name> <wasm-split-cli's __wasm_split.js>");
const gluePath = `${base}.js`;
const name = base.split("/").pop();
let glue = readFileSync(gluePath, "utf8");
let loader = readFileSync(loaderPath, "utf8");

// The loader's own import of the glue, which it becomes part of.
const importsGlue = new RegExp(`^import \\{ initSync \\} from "\\./${name}\\.js";\\n`, "m");
if (!importsGlue.test(loader)) throw new Error(`${loaderPath}: no import of initSync from ./${name}.js where wasm-split-cli writes it`);
loader = loader.replace(importsGlue, "");
if (/^import /m.test(loader)) throw new Error(`${loaderPath}: imports more than the glue`);

// One loader per split module; each is the glue's import from the loader.
const loads = [...loader.matchAll(/^export const (__wasm_split_load_\w+) = /gm)].map(([, load]) => load);
const FETCH = /\bfetch\(new URL\("\.\/([\w.-]+\.wasm)", import\.meta\.url\)\)/g;
const STREAMED = /WebAssembly\.instantiateStreaming\((\w+), (\w+)\)/g;
const files = [...loader.matchAll(FETCH)].map(([, file]) => file);
const streamed = [...loader.matchAll(STREAMED)].length;
if (loads.length === 0 || files.length !== loads.length || streamed !== loads.length) {
  throw new Error(`${loaderPath}: ${files.length} fetches and ${streamed} streamed instantiations for ${loads.length} split modules, where wasm-split-cli writes one each`);
}
const sha256 = (file) => createHash("sha256").update(readFileSync(join(dirname(base), file))).digest("hex");
loader = loader
  .replace(/^export const /gm, "const ")
  .replace(FETCH, (text, file) => `splitModule(new URL("./${file}", import.meta.url), "${sha256(file)}")`)
  .replace(STREAMED, (text, bytes, imports) => `WebAssembly.instantiate(await ${bytes}, ${imports})`);
if (/^export\b/m.test(loader)) throw new Error(`${loaderPath}: exports more than its loaders, which would become exports of ${gluePath}`);
// A failed load is logged, and the callback tells the module only that it
// failed: the error is kept for the entry (index.js), which names it in
// the widget's `error` event, where a page's error monitoring sees it.
const LOGGED = /^( +)console\.error\(e\);$/m;
if (!LOGGED.test(loader)) throw new Error(`${loaderPath}: no console.error(e) where wasm-split-cli logs a failed load`);
loader = loader.replace(LOGGED, "$1console.error(e);\n$1lastFailure = e;");

const HELPER = `
let lastFailure;
let arrived;

/**
 * Has \`then\` run once a split module's bytes have arrived in a browser:
 * the agreement's, which the consent screen fetches once it shows a request
 * that a citizen can agree to.
 */
export function afterSplitModule(then) {
    arrived = then;
}

/** Why the last load of a split module failed: a URL and HTTP status, or a file of another build. */
export function splitFailure() {
    return lastFailure === undefined ? undefined : String(lastFailure?.message ?? lastFailure);
}

/**
 * A split module's bytes: read from disk in Node, fetched elsewhere, and
 * only if they are the split module of this build (\`sha256\`, in hex).
 */
async function splitModule(url, sha256) {
    lastFailure = undefined;
    const fromDisk = typeof globalThis.process?.versions?.node === "string"
        && (url.protocol === "file:" || url.pathname.startsWith("/@fs/"));
    if (fromDisk) {
        // Kept out of bundlers' sight: only Node reaches these lines.
        const [fs, crypto] = ["node:fs/promises", "node:crypto"];
        const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fs);
        const { createHash } = await import(/* webpackIgnore: true */ /* @vite-ignore */ crypto);
        const bytes = await readFile(url.protocol === "file:" ? url : decodeURIComponent(url.pathname.slice(4)));
        return ofThisBuild(url, bytes, createHash("sha256").update(bytes).digest("hex"), sha256);
    }
    const subtle = globalThis.crypto?.subtle;
    if (!subtle) throw new Error("SubtleCrypto is unavailable: the page is not a secure context.");
    const hex = async (bytes) => Array.from(new Uint8Array(await subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
    let bytes = await fetched(url, "default");
    let digest = await hex(bytes);
    if (digest !== sha256) {
        // An older file from the HTTP cache, after an upgrade: once more from the server.
        bytes = await fetched(url, "reload");
        digest = await hex(bytes);
    }
    ofThisBuild(url, bytes, digest, sha256);
    try {
        arrived?.();
    } catch {
        // A hint for later pages: never a reason for this module not to load.
    }
    return bytes;
}

async function fetched(url, cache) {
    const response = await fetch(url, { cache });
    if (!response.ok) throw new Error(\`\${url.pathname}: HTTP \${response.status}\`);
    return response.arrayBuffer();
}

function ofThisBuild(url, bytes, digest, sha256) {
    if (digest !== sha256) {
        throw new Error(\`\${url.pathname} is not the split module of this build of the SDK (SHA-256 \${digest}, not \${sha256}): serve all of the package's files from one build.\`);
    }
    return bytes;
}
`;

// The glue: its static import of the loader becomes the loader itself.
const importsLoader = /^import \* as (import\d+) from "\.\/__wasm_split\.js";?\n/m;
const found = importsLoader.exec(glue);
if (!found) throw new Error(`${gluePath}: no import of ./__wasm_split.js where wasm-bindgen writes it`);
glue = glue.replace(importsLoader, "");
glue += `\n// The split modules' loader (wasm-split-cli's __wasm_split.js, merged by scripts/split-loader.mjs).\n${HELPER}${loader}\nconst ${found[1]} = { __proto__: null, ${loads.join(", ")} };\n`;

// What this writes must still be a module.
const check = spawnSync(process.execPath, ["--check", "--input-type=module"], { input: glue, encoding: "utf8" });
if (check.status !== 0) throw new Error(`${gluePath}: not a module after the merge:\n${check.stderr}`);
writeFileSync(gluePath, glue);
