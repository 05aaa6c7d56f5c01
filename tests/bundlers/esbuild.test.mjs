// The app bundled by esbuild (its JS API, code splitting), then opened in
// Chromium under the demo's CSP. esbuild bundles the package's scripts but,
// unlike Vite and webpack, does not emit the files they reference with
// `new URL("./x.wasm", import.meta.url)`: the operator copies the package's
// .wasm files beside the chunks, as the package README says.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { APP, OUT, PKG, checkApp, checkBuild, launch } from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("esbuild: with the package's .wasm files copied beside the chunks, the consent screen shows under CSP", async () => {
  assert.match(esbuild.version, /^0\.28\./);
  const outDir = join(OUT, "esbuild");
  rmSync(outDir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: APP,
    entryPoints: ["main.js"],
    bundle: true,
    format: "esm",
    splitting: true,
    minify: true,
    outdir: outDir,
    logLevel: "silent",
  });
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.warnings.map((w) => w.text), []);

  // What the README's step is for: esbuild left the WebAssembly behind.
  // Should a later esbuild emit it, this fails, and the README's advice
  // should change with it.
  assert.deepEqual(readdirSync(outDir).filter((name) => name.endsWith(".wasm")), []);
  // The README's step: `cp node_modules/myna-consent/*.wasm <outdir>/`.
  for (const name of readdirSync(PKG).filter((name) => name.endsWith(".wasm"))) {
    copyFileSync(join(PKG, name), join(outDir, name));
  }
  writeFileSync(join(outDir, "index.html"), readFileSync(join(APP, "index.html"), "utf8"));

  const build = checkBuild(outDir, join(outDir, "main.js"));
  await checkApp(browser, outDir, build);
});
