// How the package loads (issue 11): a page fetches only the module it
// shows; a Content-Security-Policy that forbids WebAssembly, or a module
// that cannot be fetched, is a typed error and a notice in the widget, and
// never an uncaught error that takes the host page down.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { axe, newPage, start } from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const AGREE = "同意してマイナポータルへ進む";

/** The package files a page requested, by name. */
function watchPackage(page) {
  const fetched = [];
  page.on("request", (request) => {
    const match = request.url().match(/\/pkg\/([^/?#]+)$/);
    if (match) fetched.push(match[1]);
  });
  return fetched;
}

describe("a page loads only what it shows", () => {
  test("the consent page fetches the consent module, the review page the account module", async () => {
    const page = await newPage(env);
    const fetched = watchPackage(page);
    await page.goto(`${env.site}/platform/`);
    await page.getByRole("button", { name: AGREE }).waitFor();
    assert.ok(fetched.includes("consent_bg.wasm"), fetched.join(", "));
    assert.ok(!fetched.some((name) => name.startsWith("account")), `the consent page fetched ${fetched.join(", ")}`);

    fetched.length = 0;
    await page.goto(`${env.site}/platform/review.html`);
    await page.getByRole("heading", { level: 2 }).first().waitFor();
    assert.ok(fetched.includes("account_bg.wasm"), fetched.join(", "));
    assert.ok(!fetched.some((name) => name.startsWith("consent")), `the review page fetched ${fetched.join(", ")}`);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
});

describe("when the SDK cannot load", () => {
  test("a CSP without 'wasm-unsafe-eval' is a wasm_blocked error and a notice, and the page runs on", async () => {
    const page = await newPage(env);
    // The operator's CSP as it would be without 'wasm-unsafe-eval'.
    await page.route(/\/platform\/$/, async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers(), "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'" };
      await route.fulfill({ response, headers });
    });
    await page.goto(`${env.site}/platform/`);
    const notice = page.getByRole("alert").filter({ hasText: "この画面を表示できませんでした" });
    await notice.waitFor();
    assert.match(await notice.textContent(), /サービスの提供者にお問い合わせください/);
    // Nothing to retry: a reload would be blocked the same way.
    assert.equal(await notice.getByRole("button").count(), 0);
    // The host's own page is intact and answers.
    await page.getByRole("heading", { level: 1, name: "健診の結果を、提携アプリでも使えるようにする" }).waitFor();
    const code = await page.evaluate(async () => {
      const { MynaConsent } = await import("/pkg/index.js");
      try {
        await MynaConsent.validate({});
        return "loaded";
      } catch (error) {
        return `${error.name} ${error.code}`;
      }
    });
    assert.equal(code, "MynaConsentError wasm_blocked");
    // No uncaught error: only the browser's own report of the blocked compile.
    const uncaught = page.problems.filter((p) => p.startsWith("page error"));
    assert.deepEqual(uncaught, []);
    await page.context().close();
  });

  test("a module that cannot be fetched is a load_failed notice with a retry that works", async () => {
    const page = await newPage(env);
    // Offline for the module (the page's preload and the SDK's own fetch)
    // until the notice is up; then the network is back.
    let offline = true;
    let refused = 0;
    await page.route(/\/pkg\/consent_bg\.wasm$/, async (route) => {
      if (offline) {
        refused += 1;
        await route.abort("internetdisconnected");
      } else {
        await route.continue();
      }
    });
    await page.goto(`${env.site}/platform/`);
    const notice = page.getByRole("alert").filter({ hasText: "画面を読み込めませんでした" });
    await notice.waitFor();
    assert.deepEqual(await axe(page), []);
    offline = false;
    await notice.getByRole("button", { name: "もう一度読み込む" }).click();
    await page.getByRole("button", { name: AGREE }).waitFor();
    assert.equal(await notice.count(), 0);
    assert.ok(refused >= 1);
    const uncaught = page.problems.filter((p) => p.startsWith("page error"));
    assert.deepEqual(uncaught, []);
    await page.context().close();
  });

  test("English text that cannot be fetched is a load_failed notice naming en.js, and a reload brings it", async () => {
    const page = await newPage(env);
    let offline = true;
    await page.route(/\/pkg\/en\.js$/, async (route) => {
      if (offline) await route.abort("internetdisconnected");
      else await route.continue();
    });
    await page.goto(`${env.site}/platform/?lang=en`);
    const notice = page.getByRole("alert").filter({ hasText: "The screen could not be loaded" });
    await notice.waitFor();
    assert.equal(await notice.getAttribute("data-myna-consent-error"), "load_failed");
    // Nothing in Japanese stands in for the English the page asked for.
    assert.equal(await page.getByRole("button", { name: AGREE }).count(), 0);
    const message = await page.evaluate(async () => {
      const { MynaConsent } = await import("/pkg/index.js");
      return MynaConsent.catalogue("en").then(() => "loaded", (error) => `${error.code}: ${error.message}`);
    });
    assert.match(message, /^load_failed: The SDK.s English text \(en\.js\) could not be loaded/);
    assert.deepEqual(await axe(page), []);
    offline = false;
    // A failed import stays failed in this page: the button reloads it.
    await Promise.all([page.waitForEvent("load"), notice.getByRole("button", { name: "Load again" }).click()]);
    await page.getByRole("button", { name: "Agree and go to Mynaportal" }).waitFor();
    const uncaught = page.problems.filter((p) => p.startsWith("page error"));
    assert.deepEqual(uncaught, []);
    await page.context().close();
  });
});
