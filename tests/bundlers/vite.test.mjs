// The app built by Vite 6 (its default build target, es2020) and by Vite 8
// (Rolldown), installed side by side under npm aliases, then opened in
// Chromium under the demo's CSP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { APP, OUT, checkApp, checkBuild, keepingWarnings, launch } from "./lib.mjs";

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

for (const [name, major] of [["vite6", 6], ["vite8", 8]]) {
  test(`${name}: the build emits the package's files and the consent screen shows under CSP`, async () => {
    const vite = await import(name);
    assert.equal(Number(vite.version.split(".")[0]), major, `${name} is Vite ${vite.version}`);
    const outDir = join(OUT, name);
    // A warning in an operator's build is a bug report waiting to happen.
    const { customLogger, warnings } = keepingWarnings(vite);
    // No config file and no build.target: what `vite build` does by default.
    await vite.build({
      root: APP,
      configFile: false,
      cacheDir: join(OUT, `${name}-cache`),
      customLogger,
      logLevel: "warn",
      build: { outDir, emptyOutDir: true },
    });
    assert.deepEqual(warnings, []);

    const html = readFileSync(join(outDir, "index.html"), "utf8");
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag);
    assert.equal(scripts.length, 1, `one script tag: ${scripts}`);
    const src = scripts[0].match(/\bsrc="\/([^"]+)"/)?.[1];
    assert.ok(src, "the entry is an external script (no inline script under CSP)");
    const build = checkBuild(outDir, join(outDir, src));
    await checkApp(browser, outDir, build);
  });
}
