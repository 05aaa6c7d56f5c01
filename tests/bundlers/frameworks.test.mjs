// Issue 13: an operator's React app (in StrictMode, built in development
// mode so that StrictMode runs every effect twice) and Vue app, each built
// by Vite 8 from frameworks/ with the wrappers in packages/, run the whole
// journey against the sandbox in Chromium under the demo's CSP: the consent
// screen, Mynaportal, one outcome on return, the review screen. No
// duplicate screens, no console errors, one completion call, axe clean.
// Beside them, an integrator's browser test page drives the same journey
// against the test kit alone.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { agree, atAuthority, axe, newPage, start } from "../e2e/harness.mjs";
import { HERE, OUT, keepingWarnings } from "./lib.mjs";

const APPS = ["react", "vue"];
// Built beside them: an integrator's browser test page on the test kit.
const BUILT = [...APPS, "kit"];
const SITE = join(OUT, "framework-site");

let env;

before(async () => {
  rmSync(SITE, { recursive: true, force: true });
  mkdirSync(join(SITE, "www"), { recursive: true });
  const vite = await import("vite8");
  for (const app of BUILT) {
    const { customLogger, warnings } = keepingWarnings(vite);
    await vite.build({
      root: join(HERE, "frameworks", app),
      base: `/${app}/`,
      configFile: false,
      // Development builds of React and Vue: StrictMode runs effects twice
      // only there, and both report misuse on the console only there.
      mode: "development",
      define: { "process.env.NODE_ENV": JSON.stringify("development") },
      cacheDir: join(OUT, `${app}-cache`),
      customLogger,
      logLevel: "warn",
      // The wrappers are linked from packages/: their imports resolve from
      // this project, as from an operator's node_modules.
      resolve: { dedupe: ["react", "react-dom", "vue", "myna-consent"] },
      build: { outDir: join(SITE, "www", app), emptyOutDir: true, minify: false },
    });
    assert.deepEqual(warnings, [], `${app}: the build warns of nothing`);
  }
  const entry = readdirSync(join(SITE, "www", "react", "assets")).find((name) => /^index-.*\.js$/.test(name));
  assert.match(readFileSync(join(SITE, "www", "react", "assets", entry), "utf8"), /react-dom-client\.development\.js/,
    "React's development build, where StrictMode runs effects twice");
  // Each app gets a backend and a client of its own, as the loan site's:
  // under its path, with its page as the redirect URI. Its own client, so
  // that no app shares the authority's per-client limit with another.
  env = await start({
    siteRoot: SITE,
    configure(config) {
      const loan = config.operators.find((operator) => operator.basePath === "/loan/myna");
      const client = config.clients.find((c) => c.clientId === loan.clientId);
      for (const app of APPS) {
        const redirectUri = loan.redirectUri.replace("/loan/callback.html", `/${app}/index.html`);
        const clientId = `demo-${app}`;
        config.clients.push({ ...structuredClone(client), clientId, redirectUris: [redirectUri] });
        config.operators.push({ ...structuredClone(loan), basePath: `/${app}/myna`, clientId, redirectUri });
      }
    },
  });
});

after(async () => {
  await env?.stop();
});

for (const app of APPS) {
  test(`${app}: consent, Mynaportal, one outcome on return, the review: one screen each, no console errors, axe clean`, async () => {
    const page = await newPage(env, { width: 360, height: 740 });
    const completions = [];
    let requestReads = 0;
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().endsWith(`/${app}/myna/authorizations/complete`)) completions.push(request.url());
      if (request.url().includes(`/${app}/myna/requests/`)) requestReads += 1;
    });
    await page.goto(`${env.site}/${app}/index.html`);
    await page.getByRole("heading", { name: "みらいローン株式会社への情報の提供について、同意をお願いします" }).waitFor();
    assert.equal(await page.locator("[data-myna-consent]").count(), 1, "one consent screen");
    assert.equal(requestReads, 1, "the request is read once");
    assert.deepEqual(await axe(page), []);

    await agree(page);
    // agree() presses again, as a citizen would, when the authority's
    // per-second limit answered; the app logged that error as it should.
    page.problems = page.problems.filter((problem) => !problem.includes("myna-consent error: rate_limited"));
    await atAuthority(page);
    await page.waitForURL(new RegExp(`/${app}/index\\.html`));
    await page.getByText("同意の手続が完了しました").waitFor();
    // The review screen appears once the app is told of the outcome.
    await page.getByRole("heading", { name: "マイナポータル連携の同意の確認" }).waitFor();
    await page.waitForTimeout(500);

    assert.deepEqual(await page.evaluate(() => window.outcomes), ["granted self.tax_income"], "one outcome");
    assert.equal(completions.length, 1, "one call completes the callback");
    // StrictMode really ran the return page's effect twice.
    if (app === "react") assert.equal(await page.evaluate(() => window.completeCalls), 2, "StrictMode asked twice");
    assert.equal(await page.getByText("手続は完了していません").count(), 0, "no failure beside the success");
    // Two screens: the outcome and the review, each once.
    assert.equal(await page.locator("[data-myna-consent]").count(), 2);
    assert.doesNotMatch(page.url(), /[?&](code|state)=/, "the callback left the address bar");
    assert.deepEqual(await axe(page), []);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
}

test("the test kit in a real browser: the journey with no server, under the demo CSP, axe clean", async () => {
  const page = await newPage(env, { width: 360, height: 740 });
  const network = [];
  page.on("request", (request) => {
    if (request.url().includes("/myna/")) network.push(request.url());
  });
  await page.goto(`${env.site}/kit/index.html`);
  await page.getByRole("button", { name: "同意してマイナポータルへ進む" }).click();
  await page.waitForFunction(() => window.kit?.fake.authorizationUrl);
  assert.match(await page.evaluate(() => window.kit.fake.authorizationUrl), /^https:\/\/mynaportal\.fake\.invalid\/authorize\?/);
  const id = await page.evaluate(() => window.kit.returnFromMynaportal());
  assert.ok(id);
  await page.getByText("同意の手続が完了しました").waitFor();
  await page.getByRole("button", { name: "同意を撤回する" }).waitFor();
  assert.deepEqual(await page.evaluate(() => window.kit.events), [["granted", null]]);
  assert.deepEqual(network, [], "the fake answered every call: nothing went to the network");
  assert.deepEqual(await axe(page), []);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

