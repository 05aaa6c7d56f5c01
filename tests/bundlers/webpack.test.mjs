// The app built by webpack 5 (production mode, through its Node API), then
// opened in Chromium under the demo's CSP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import webpack from "webpack";
import { APP, OUT, checkApp, checkBuild, launch } from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

function compile(config) {
  return new Promise((resolve, reject) => {
    webpack(config, (error, stats) => (error ? reject(error) : resolve(stats)));
  });
}

test("webpack 5: the build emits the package's files and the consent screen shows under CSP", async () => {
  assert.match(webpack.version, /^5\./);
  const outDir = join(OUT, "webpack");
  // An operator's ordinary config: no rule for .wasm, no experiments; webpack
  // emits `new URL("./x.wasm", import.meta.url)` as an asset on its own.
  const stats = await compile({
    mode: "production",
    context: APP,
    entry: "./main.js",
    devtool: false,
    output: { path: outDir, filename: "main.js", publicPath: "auto", clean: true },
  });
  const info = stats.toJson({ all: false, errors: true, warnings: true });
  assert.deepEqual(info.errors.map((e) => e.message), []);
  // Only the size hint may warn: the two WebAssembly modules are ~0.5 MB each.
  assert.deepEqual(info.warnings.map((w) => w.message).filter((m) => !m.startsWith("asset size limit:")), []);

  // webpack has no HTML of its own; the page loads the bundle as
  // html-webpack-plugin would (a deferred classic script).
  const html = readFileSync(join(APP, "index.html"), "utf8");
  const tag = '<script type="module" src="./main.js"></script>';
  assert.ok(html.includes(tag));
  writeFileSync(join(outDir, "index.html"), html.replace(tag, '<script defer src="main.js"></script>'));

  const build = checkBuild(outDir, join(outDir, "main.js"));
  await checkApp(browser, outDir, build);
});
