// The npm package's sizes, gzip -9 (deterministic for a given build), and
// the budgets they are held to. Brotli (quality 11), which CDNs send to
// browsers that accept it, is printed beside them for operators: the
// budgets are gzip. Prints a table; with --check, exits 1 when
// a CI ceiling is exceeded.
//
// Two figures per part: the target, and the CI ceiling that holds
// what has been reached so far (a ratchet: lower it as the package shrinks,
// never raise it without saying why in the commit).
import { readFileSync, readdirSync } from "node:fs";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const PKG = fileURLToPath(new URL("../pkg/", import.meta.url));
const KB = 1000;

const PARTS = [
  {
    // What a page loads before the consent screen shows. split_agree.wasm,
    // what only 同意 runs, comes once the screen is shown, and counts in the
    // whole package.
    name: "consent path (index.js + consent.js + consent_bg.wasm)",
    files: ["index.js", "consent.js", "consent_bg.wasm"],
    target: 100 * KB,
    // Raised from 124.7 KB by 0.6 KB: the entry asks for a backend-defined
    // request while the consent module downloads (requestEarly in
    // index.js, read in src/backend.rs), a round trip less before the
    // screen: about 150 ms on the benchmark's slow phone, against 3 ms
    // for the bytes. 125.7 KB with backend_unexpected naming the call it
    // answered (0.3 KB), for the developers who write their own backend;
    // 125.8 KB with load_failed saying when a page came in place of the
    // module (60 B); 126.2 KB with the return page's module prefetched
    // while the citizen reads (index.js, 0.2 KB: the return page about a
    // second sooner on the slow phone), the agreement's load failure
    // named in the error event, and an ended consent's recipients in the
    // past tense.
    ceiling: 126.2 * KB,
  },
  {
    name: "whole package (every .js and .wasm a page can load)",
    // testing.js is the test kit (myna-consent/testing): it runs in an
    // operator's tests, never in a page.
    files: readdirSync(PKG).filter((f) => (f.endsWith(".js") || f.endsWith(".wasm")) && !f.startsWith("testing.")),
    target: 200 * KB,
    // Raised from 286.5 KB with the agreement's own module: split_agree.wasm
    // is 9.5 KB and took 4.7 KB out of the consent module (docs/size.md);
    // 292.2 KB with the checks the review asked for; 292.9 KB with the
    // request asked for early (above); 294.0 KB with the calls named and
    // any thenable taken as a sign-in token; 294.1 KB with the page-not-
    // module hint; 298.0 KB with receipts checked against their sha256
    // (the RFC 8785 writer in the account module, 2.2 KB) and the above.
    ceiling: 298.0 * KB,
  },
];

// Each file is compressed once: the parts below share files with the list.
const sizes = new Map();
const size = (file) => {
  if (!sizes.has(file)) {
    const data = readFileSync(join(PKG, file));
    sizes.set(file, {
      raw: data.length,
      gz: gzipSync(data, { level: 9 }).length,
      br: brotliCompressSync(data, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }).length,
    });
  }
  return sizes.get(file);
};

const fmt = (n) => n.toLocaleString("en-US").padStart(9);
for (const file of readdirSync(PKG).filter((f) => /\.(js|wasm)$/.test(f)).sort()) {
  const { raw, gz, br } = size(file);
  console.log(`${file.padEnd(24)} ${fmt(raw)} B  gzip ${fmt(gz)} B  brotli ${fmt(br)} B`);
}
let failed = false;
for (const part of PARTS) {
  const files = part.files.map(size);
  const gz = files.reduce((sum, { gz }) => sum + gz, 0);
  const br = files.reduce((sum, { br }) => sum + br, 0);
  const target = gz <= part.target ? "met" : `NOT MET (${(gz / part.target).toFixed(2)}×)`;
  const ceiling = gz <= part.ceiling ? "within" : "EXCEEDED";
  console.log(`${part.name}: ${fmt(gz)} B gzip; target ${part.target / KB} KB ${target}; CI ceiling ${part.ceiling / KB} KB ${ceiling}; brotli ${fmt(br)} B`);
  if (gz > part.ceiling) failed = true;
}
if (process.argv.includes("--check") && failed) {
  console.error("a size ceiling is exceeded");
  process.exit(1);
}
