// The end-to-end harness: starts the sandbox (target/debug/myna-sandbox) on
// free loopback ports with the repository's configuration moved to them,
// launches Debian's Chromium through playwright-core, and watches every page
// for console errors and CSP violations.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const OUTPUT = join(ROOT, "test-output", "e2e");

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, ms = 15000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const open = await new Promise((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => { socket.destroy(); resolve(true); });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

/**
 * Starts the sandbox and a browser. `operatorPort` fixes the sites' port
 * (a peer authority must know the redirect URIs first); `configure` may
 * change the parsed sandbox.json (as moved to the ports) before it is used;
 * `siteRoot` serves other static pages (its `www/`) than the repository's.
 */
export async function start({ operatorPort, configure, siteRoot } = {}) {
  const [op, ap] = [operatorPort ?? await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), "myna-e2e-"));
  const text = readFileSync(join(ROOT, "sandbox", "sandbox.json"), "utf8")
    .replaceAll("http://localhost:8081", `http://localhost:${ap}`)
    .replaceAll("http://127.0.0.1:8080", `http://127.0.0.1:${op}`);
  const config = JSON.parse(text);
  configure?.(config);
  writeFileSync(join(dir, "sandbox.json"), JSON.stringify(config, null, 2));
  const sandbox = spawn(join(ROOT, "target", "debug", "myna-sandbox"), [
    "--config", join(dir, "sandbox.json"), "--data-dir", join(dir, "data"),
    "--operator", `127.0.0.1:${op}`, "--authority", `127.0.0.1:${ap}`, "--sandbox-controls",
    ...(siteRoot ? ["--site-root", siteRoot] : []),
  ], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  await waitForPort(op);
  await waitForPort(ap);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  mkdirSync(OUTPUT, { recursive: true });
  return {
    site: `http://127.0.0.1:${op}`,
    issuer: `http://localhost:${ap}`,
    browser,
    async stop() {
      await browser.close();
      sandbox.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh browser context (its own cookies, like a new citizen) and page,
 * with console errors, page errors and CSP violations recorded in
 * `page.problems`.
 */
export async function newPage(env, viewport = { width: 1280, height: 800 }) {
  const context = await env.browser.newContext({ viewport, locale: "ja-JP", timezoneId: "Asia/Tokyo" });
  // Runs before any page script, in every frame; CSP does not apply to it.
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (message) => {
    if (message.type() === "error") page.problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (error) => page.problems.push(`page error: ${error.message}`));
  return page;
}

/** Runs axe-core (WCAG 2.2 A and AA rules) on the page, shadow roots included. */
export async function axe(page) {
  const result = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

// The screens' whole stylesheet, as written. Each module carries only its
// own part of it (build.rs), so a rule placed in the wrong module's block
// is missing where a screen needs it.
const STYLESHEET = readFileSync(join(ROOT, "src", "ui", "styles.css"), "utf8");

/**
 * The rules of styles.css that select something in one of the SDK's
 * shadow roots on this page but are not in that root's stylesheet: what
 * the screen would show unstyled. Answers their selectors (empty when
 * every rule a screen needs came with its module).
 */
export async function missingRules(page) {
  return page.evaluate((text) => {
    // Style rules, and those inside @media; a style rule has cssRules too
    // (nesting), empty here.
    const selectors = (rules) =>
      [...rules].flatMap((rule) => [
        ...(rule.selectorText ? [rule.selectorText] : []),
        ...(rule.cssRules ? selectors(rule.cssRules) : []),
      ]);
    const full = new CSSStyleSheet();
    full.replaceSync(text);
    const wanted = [...new Set(selectors(full.cssRules))];
    const missing = new Set();
    const visit = (root) => {
      for (const element of root.querySelectorAll("*")) {
        const shadow = element.shadowRoot;
        if (!shadow) continue;
        if (shadow.adoptedStyleSheets.length > 0) {
          const have = new Set(shadow.adoptedStyleSheets.flatMap((sheet) => selectors(sheet.cssRules)));
          for (const selector of wanted) {
            if (have.has(selector)) continue;
            try {
              // A pseudo-element (::backdrop) selects no element itself.
              if (shadow.querySelector(selector.replace(/::[\w-]+/g, ""))) missing.add(selector);
            } catch {
              // A selector querySelector cannot take selects nothing here.
            }
          }
        }
        visit(shadow);
      }
    };
    visit(document);
    return [...missing];
  }, STYLESHEET);
}

/** Whether the page scrolls sideways (it must not, even at 360 px). */
export async function overflows(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

/** Saves a full-page screenshot under test-output/e2e/. */
export async function shot(page, name) {
  await page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
}

/** Calls a sandbox control of the authority. */
export async function control(env, path, body) {
  const response = await fetch(`${env.issuer}/sandbox/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json", "X-Sandbox-Control": "1" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`control ${path}: ${response.status}`);
  return response.json();
}

/**
 * Presses 同意してマイナポータルへ進む and waits for the authority's page. The
 * authority limits each client per second, and tests start one journey
 * right after another (with the return page's first retrieval still
 * running): when the screen says to try again, the test does, as a citizen
 * would, up to five times. The browser's report of that 429 is taken out
 * of `page.problems`.
 */
export async function agree(page) {
  for (let attempt = 1; ; attempt++) {
    await page.getByRole("button", { name: "同意してマイナポータルへ進む" }).click();
    const left = await page.waitForURL(/\/authorize\/signin/, { timeout: 5000 }).then(() => true, () => false);
    if (left) break;
    await page.getByText("もう一度お試しください", { exact: false }).waitFor();
    if (attempt >= 5) throw new Error("the start kept failing");
    await page.waitForTimeout(1000);
  }
  page.problems = page.problems.filter((p) => !p.includes("429 (Too Many Requests)"));
}

/** Signs in at the authority's page and presses 同意する or 同意しない. */
export async function atAuthority(page, { approve = true, citizen = "デジタル 太郎", pin = "1234" } = {}) {
  await page.waitForURL(/\/authorize\/signin/);
  await page.getByLabel(citizen).check();
  await page.getByLabel(/暗証番号/).fill(pin);
  await page.getByRole("button", { name: /サインイン|ログイン|次へ|進む/ }).click();
  await page.waitForURL(/\/authorize\/consent/);
  await page.getByRole("button", { name: approve ? "同意する" : "同意しない" }).click();
}

/** Signs in to the PHR site as one of its demo members (its own sign-in, not Mynaportal's). */
export async function signIn(page, env, member = "すこやか 一郎（会員番号 1001）") {
  await page.goto(`${env.site}/phr/signin.html`);
  await page.getByLabel(member).check();
  await page.getByRole("button", { name: "ログイン" }).click();
  await page.waitForURL(/\/phr\/$/);
  await page.getByText("でログインしています。", { exact: false }).waitFor();
}
