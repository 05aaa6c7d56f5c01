// The app built by Vite 6 (its default build target, es2020) and by Vite 8
// (Rolldown), installed side by side under npm aliases, then opened in
// Chromium under the demo's CSP.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { APP, OUT, PKG, checkApp, checkBuild, keepingWarnings, launch, sha256 } from "./lib.mjs";

// The package README's preload line for Vite ("Loading early"), with the
// path from index.html to node_modules: here the app's root is app/, and
// node_modules is beside it.
const PRELOAD = '<link rel="preload" href="../node_modules/myna-consent/consent_bg.wasm" as="fetch" type="application/wasm" crossorigin>';

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
    // The page carries the package README's preload line for Vite, as an
    // operator would paste it into index.html.
    const readmePreload = {
      name: "readme-preload",
      transformIndexHtml: { order: "pre", handler: (html) => html.replace("</head>", `    ${PRELOAD}\n  </head>`) },
    };
    await vite.build({
      root: APP,
      configFile: false,
      cacheDir: join(OUT, `${name}-cache`),
      customLogger,
      logLevel: "warn",
      plugins: [readmePreload],
      build: { outDir, emptyOutDir: true },
    });
    assert.deepEqual(warnings, []);

    const html = readFileSync(join(outDir, "index.html"), "utf8");
    // Vite pointed it at the file it emitted; checkApp then sees that
    // module fetched once, so the SDK took the preloaded response.
    const preloaded = html.match(/<link rel="preload" href="\/([^"]+\.wasm)"/)?.[1];
    assert.ok(preloaded, `the preload names an emitted file: ${html}`);
    assert.equal(sha256(readFileSync(join(outDir, preloaded))), sha256(readFileSync(join(PKG, "consent_bg.wasm"))));
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag);
    assert.equal(scripts.length, 1, `one script tag: ${scripts}`);
    const src = scripts[0].match(/\bsrc="\/([^"]+)"/)?.[1];
    assert.ok(src, "the entry is an external script (no inline script under CSP)");
    const build = checkBuild(outDir, join(outDir, src));
    await checkApp(browser, outDir, build);
  });
}
