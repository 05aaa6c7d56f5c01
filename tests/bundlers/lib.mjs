// Shared by the bundler tests: where things are, what a build must emit, a
// static server with the demo's CSP, and the checks in Debian's Chromium.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
// From the repository's root node_modules (scripts/test installs it first):
// one pinned version for the e2e tests and these.
import { chromium } from "playwright-core";
import { AUTHORIZATION_URL } from "./app/request.js";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const APP = join(HERE, "app");
export const OUT = join(HERE, ".out");
// The freshly built package, as the apps see it through the file: link.
export const PKG = join(HERE, "node_modules", "myna-consent");
export const OPERATOR = "すこやか手帳株式会社";

// The same policy as every operator page of the demo (README.md).
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'";

export const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

export function filesUnder(dir) {
  return readdirSync(dir, { recursive: true })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

/**
 * What every build must hold: both WebAssembly modules byte for byte, and
 * each wasm-bindgen glue in a chunk of its own that the entry only imports
 * lazily. Property names survive minification: a glue is a chunk with
 * wasm-bindgen's `__wbg_ptr`, and the method only its module has
 * (mountConsent, mountReview) tells which.
 */
const GLUE_METHOD = { consent: "mountConsent", account: "mountReview" };
export function checkBuild(outDir, entry) {
  const files = filesUnder(outDir);
  const byHash = new Map(files.map((path) => [sha256(readFileSync(path)), path]));
  for (const file of ["consent_bg.wasm", "account_bg.wasm", "split_agree.wasm"]) {
    const wasm = byHash.get(sha256(readFileSync(join(PKG, file))));
    assert.ok(wasm, `${file} is emitted, unchanged, into ${relative(HERE, outDir)}`);
    assert.equal(extname(wasm), ".wasm", `${file} keeps its extension (the server's MIME type depends on it)`);
  }
  const entryText = readFileSync(entry, "utf8");
  assert.ok(!entryText.includes("__wbg_ptr"), "the entry chunk holds no wasm-bindgen glue");
  const scripts = files.filter((path) => path.endsWith(".js") && path !== entry);
  const glue = {};
  for (const part of ["consent", "account"]) {
    const chunks = scripts.filter((path) => {
      const text = readFileSync(path, "utf8");
      return text.includes("__wbg_ptr") && text.includes(GLUE_METHOD[part]);
    });
    assert.equal(chunks.length, 1, `the ${part} glue is in exactly one other chunk: ${chunks.map((p) => relative(outDir, p))}`);
    glue[part] = `/${relative(outDir, chunks[0]).split(sep).join("/")}`;
  }
  // The entry holds index.js (15 kB unminified) and the app; the glue alone is 50 kB.
  assert.ok(entryText.length < 25_000, `the entry chunk is small (${entryText.length} bytes)`);
  return { files, glue };
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".map": "application/json",
};

/** Serves `root` on 127.0.0.1 (a free port) with the CSP on every answer. */
export async function serve(root) {
  const server = createServer((req, res) => {
    res.setHeader("Content-Security-Policy", CSP);
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = resolve(root, `.${path.endsWith("/") ? `${path}index.html` : path}`);
    if (file !== root && !file.startsWith(root + sep)) file = null;
    let body = null;
    try {
      if (file && statSync(file).isFile()) body = readFileSync(file);
    } catch {}
    if (body === null) {
      // Chromium asks for /favicon.ico on its own; a 404 would be a console error.
      res.writeHead(path === "/favicon.ico" ? 204 : 404).end();
      return;
    }
    const type = TYPES[extname(file)];
    assert.ok(type, `the server knows the type of ${file}`);
    res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-store" }).end(body);
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    close: () => new Promise((done) => server.close(done)),
  };
}

/** Debian's Chromium, headless, with the flags of tests/e2e/harness.mjs. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

/** The consent button in English: text only en.js holds. */
const ENGLISH_AGREE = "Agree and go to Mynaportal";

/**
 * Opens a built app under the CSP and checks it the way a citizen meets it:
 * the page paints and shows a loading notice while the WebAssembly is held
 * back; once it arrives, the consent screen appears, in a shadow root in
 * #app; only the consent part was fetched (`glue` from checkBuild); nothing
 * was logged as an error or a warning.
 */
export async function checkApp(browser, outDir, { glue }) {
  const site = await serve(outDir);
  const context = await browser.newContext({ locale: "ja-JP" });
  try {
    // Runs before any page script; CSP violations become console errors.
    await context.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    const page = await context.newPage();
    const problems = [];
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") {
        problems.push(`console ${message.type()}: ${message.text()} (${message.location().url})`);
      }
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    const wasm = [];
    page.on("response", (response) => {
      if (response.url().endsWith(".wasm")) wasm.push(response);
    });
    const requested = [];
    page.on("request", (request) => requested.push(request.url()));
    // Scripts that carry the English text, whatever name the bundler gave them.
    const englishScripts = [];
    page.on("response", async (response) => {
      if (!new URL(response.url()).pathname.endsWith(".js")) return;
      const body = await response.text().catch(() => "");
      if (body.includes(ENGLISH_AGREE)) englishScripts.push(new URL(response.url()).pathname);
    });

    let release;
    const held = new Promise((done) => { release = done; });
    await page.route(/\.wasm$/, async (route) => {
      await held;
      await route.continue();
    });

    // A timeout says little by itself: add what the page logged.
    const explain = (what) => (error) => {
      throw new Error(`${what}: ${error.message.split("\n")[0]}\n${problems.join("\n")}`);
    };
    await page.goto(site.url);
    // Before the WebAssembly: the host page ran, and the SDK says it is loading.
    await page.waitForFunction(() => document.body.dataset.host === "painted", null, { timeout: 10_000 })
      .catch(explain("the host page did not paint while the WebAssembly was on its way"));
    await page.locator("#app").getByRole("status").filter({ hasText: "画面を読み込んでいます" }).waitFor({ timeout: 10_000 })
      .catch(explain("no loading notice"));
    assert.equal(await page.getByRole("article").count(), 0, "no screen before the WebAssembly arrives");
    release();

    // The screen: an article named by its heading, which names the operator,
    // marked as a draft preview, in the shadow root of div[data-myna-consent].
    // Or the SDK's own failure notice (load_failed, wasm_blocked): fail at once.
    const screen = page.getByRole("article", { name: new RegExp(OPERATOR) });
    const failed = page.locator("[data-myna-consent-error]");
    await screen.or(failed).waitFor({ timeout: 20_000 }).catch(explain("no consent screen"));
    if (await failed.count()) {
      assert.fail(`the SDK shows a failure: ${await failed.first().getAttribute("data-myna-consent-error")}\n${problems.join("\n")}`);
    }
    await screen.getByRole("heading", { level: 2, name: new RegExp(OPERATOR) }).waitFor();
    await screen.getByRole("note").filter({ hasText: "確認用の表示" }).waitFor();
    await screen.getByRole("button", { name: "同意してマイナポータルへ進む" }).waitFor();
    assert.equal(
      await page.evaluate(() => {
        const host = document.querySelector("#app > div[data-myna-consent]");
        return host?.shadowRoot?.querySelector("article.consent h2")?.textContent ?? null;
      }),
      `${OPERATOR}への情報の提供について、同意をお願いします`,
    );
    assert.equal(await page.evaluate(() => document.body.dataset.host), "painted");
    assert.equal(await page.locator("[data-myna-consent-loading]").count(), 0, "the loading notice is gone");

    // Only the consent part was fetched, as WebAssembly, byte for byte.
    assert.equal(wasm.length, 1, `one WebAssembly module fetched: ${wasm.map((r) => r.url())}`);
    assert.equal(wasm[0].headers()["content-type"], "application/wasm");
    assert.equal(sha256(await wasm[0].body()), sha256(readFileSync(join(PKG, "consent_bg.wasm"))));
    const origin = new URL(site.url).origin;
    assert.deepEqual(requested.filter((url) => new URL(url).origin !== origin), [], "nothing leaves the site");
    const paths = requested.map((url) => new URL(url).pathname);
    assert.ok(paths.includes(glue.consent), `the consent chunk ${glue.consent} was loaded`);
    assert.ok(!paths.includes(glue.account), `the account chunk ${glue.account} was not loaded`);
    // A page in Japanese never downloads the English text.
    await page.waitForTimeout(100);
    assert.deepEqual(englishScripts, [], "no English text on a Japanese page");

    // The same page in English: the English text comes as a chunk of its own.
    await page.goto(`${site.url}?locale=en`);
    await page.getByRole("article", { name: new RegExp(OPERATOR) })
      .getByRole("button", { name: ENGLISH_AGREE }).waitFor({ timeout: 20_000 })
      .catch(explain("no consent screen in English"));
    // The response bodies are read in this process, a moment after the page used them.
    for (let waited = 0; englishScripts.length === 0 && waited < 2000; waited += 50) await page.waitForTimeout(50);
    assert.equal(englishScripts.length, 1, `the English text loaded once: ${englishScripts}`);

    // A request defined on the backend: once its screen is shown, the
    // agreement's own module comes, as the bundler emitted it, and 同意 runs
    // it up to leaving for Mynaportal.
    wasm.length = 0;
    await page.goto(`${site.url}?agree`);
    const agree = page.getByRole("button", { name: "同意してマイナポータルへ進む" });
    await agree.waitFor({ timeout: 20_000 }).catch(explain("no consent screen for the defined request"));
    // Then, in the background, the account module for the return page,
    // at the URL the bundler gave it.
    for (let waited = 0; wasm.length < 3 && waited < 10_000; waited += 50) await page.waitForTimeout(50);
    const names = wasm.map((response) => response.url());
    assert.equal(wasm.length, 3, `the consent module, the agreement's, then the account module: ${names}`);
    assert.equal(sha256(await wasm[1].body()), sha256(readFileSync(join(PKG, "split_agree.wasm"))), names.join(", "));
    assert.equal(sha256(await wasm[2].body()), sha256(readFileSync(join(PKG, "account_bg.wasm"))), names.join(", "));
    await agree.click();
    await page.waitForFunction((url) => document.body.dataset.left === url, AUTHORIZATION_URL, { timeout: 10_000 })
      .catch(explain("同意 did not leave for Mynaportal"));

    // The page settles: late errors (a panic after the first render) count too.
    await page.waitForTimeout(300);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await site.close();
  }
}

/**
 * A Vite logger that prints warnings as usual and also keeps them, for
 * the builds that must warn of nothing: `{ customLogger, warnings }`.
 */
export function keepingWarnings(vite) {
  const warnings = [];
  const logger = vite.createLogger("warn");
  const customLogger = {
    ...logger,
    warn: (message, options) => { warnings.push(message); logger.warn(message, options); },
    warnOnce: (message, options) => { warnings.push(message); logger.warnOnce(message, options); },
  };
  return { customLogger, warnings };
}
