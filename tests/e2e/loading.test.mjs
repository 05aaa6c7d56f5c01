// How the package loads (issue 11): a page fetches only the module it
// shows; a Content-Security-Policy that forbids WebAssembly, or a module
// that cannot be fetched, is a typed error and a notice in the widget, and
// never an uncaught error that takes the host page down.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { atAuthority, axe, newPage, start } from "./harness.mjs";

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

/**
 * Requests for `url` fail as when offline until `network.offline` is set to
 * false; `network.refused` counts the failed ones.
 */
async function cutOff(page, url) {
  const network = { offline: true, refused: 0 };
  await page.route(url, async (route) => {
    if (network.offline) {
      network.refused += 1;
      await route.abort("internetdisconnected");
    } else {
      await route.continue();
    }
  });
  return network;
}

/**
 * The codes of the SDK's `error` events on the page, as they come, and
 * their messages in the same order into `messages`: the demo sites pass
 * the events to the console.
 */
function sdkErrors(page, messages = []) {
  const codes = [];
  page.on("console", (message) => {
    const match = message.text().match(/^myna-consent error: (\w+): ([\s\S]*)$/);
    if (match) {
      codes.push(match[1]);
      messages.push(match[2]);
    }
  });
  return codes;
}

/** Waits up to 5 s for `list` (sdkErrors', or any other the page fills) to have a first entry. */
async function firstOf(page, list) {
  for (let waited = 0; list.length === 0 && waited < 5000; waited += 50) await page.waitForTimeout(50);
}

/**
 * Creates an SDK in the page with `options` and mounts the platform
 * site's request in an element of its own; answers the SDK's index in
 * the page's `mynaSdks`.
 */
function mountInPage(page, options) {
  return page.evaluate(async (options) => {
    const { MynaConsent } = await import("/pkg/index.js");
    const sdk = await MynaConsent.create({ backend: "/platform/myna", ...options });
    const host = document.createElement("div");
    document.body.append(host);
    sdk.mountConsent(host, { request: "checkups-30d" });
    window.mynaSdks = [...(window.mynaSdks ?? []), sdk];
    return window.mynaSdks.length - 1;
  }, options);
}

describe("a page loads only what it shows", () => {
  test("the consent page shows with the consent module, the review page with the account module", async () => {
    const page = await newPage(env);
    const fetched = watchPackage(page);
    await page.goto(`${env.site}/platform/`);
    await page.getByRole("button", { name: AGREE }).waitFor();
    assert.ok(fetched.includes("consent_bg.wasm"), fetched.join(", "));
    // Before the screen, nothing of the account module; after it, and
    // after the agreement's module, it comes for the return page (below).
    const shown = [...fetched];
    const account = shown.indexOf("account_bg.wasm");
    assert.ok(account === -1 || account > shown.indexOf("split_agree.wasm") && shown.includes("split_agree.wasm"), `the consent page fetched ${shown.join(", ")}`);

    fetched.length = 0;
    await page.goto(`${env.site}/platform/review.html`);
    await page.getByRole("heading", { level: 2 }).first().waitFor();
    assert.ok(fetched.includes("account_bg.wasm"), fetched.join(", "));
    assert.ok(!fetched.some((name) => name.startsWith("consent")), `the review page fetched ${fetched.join(", ")}`);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
});

describe("the return page's module", () => {
  /** Whether the page's resource timing shows `name` as downloaded (not from the HTTP cache, nor a 304). */
  const downloaded = (page, name) =>
    page.evaluate((name) => performance.getEntriesByType("resource").filter((e) => e.name.endsWith(`/${name}`)).map((e) => e.transferSize), name);

  test("is put into the HTTP cache while the citizen reads the consent screen, and the return page uses it", async () => {
    const page = await newPage(env);
    // The citizen reads until it has arrived (or 10 s): the assertions below say whether it did.
    const arrived = page.waitForResponse(/\/pkg\/account_bg\.wasm$/, { timeout: 10_000 }).then((r) => r.finished(), () => {});
    await page.goto(`${env.site}/platform/`);
    await page.getByRole("button", { name: AGREE }).waitFor();
    await arrived;
    await page.getByRole("button", { name: AGREE }).click();
    await atAuthority(page);
    await page.waitForURL(/\/platform\/callback\.html/);
    await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
    // 0 from the cache, a few hundred bytes of headers for a 304: not the module's 350 KB.
    const sizes = await downloaded(page, "account_bg.wasm");
    assert.equal(sizes.length, 1);
    assert.ok(sizes[0] < 2000, `the return page downloaded the account module again: ${sizes[0]} bytes`);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("is not fetched when the browser asks to save data, nor with prefetch: false", async () => {
    for (const [how, setUp] of [
      ["Save-Data", async (page) => {
        await page.addInitScript(() => Object.defineProperty(Navigator.prototype, "connection", { get: () => ({ saveData: true }) }));
        await page.goto(`${env.site}/platform/`);
      }],
      ["prefetch: false", async (page) => {
        await page.goto(`${env.site}/platform/privacy.html`);
        await mountInPage(page, { prefetch: false });
      }],
    ]) {
      const page = await newPage(env);
      const fetched = watchPackage(page);
      const agreement = page.waitForResponse(/\/pkg\/split_agree\.wasm$/);
      await setUp(page);
      await page.getByRole("button", { name: AGREE }).waitFor();
      await (await agreement).finished();
      // The prefetch would start at once after the agreement's module.
      await page.waitForTimeout(500);
      assert.ok(!fetched.some((name) => name.startsWith("account")), `${how}: the consent page fetched ${fetched.join(", ")}`);
      await page.context().close();
    }
  });
});

describe("the return page's module, with several SDKs on a page", () => {
  test("is not fetched for a destroyed SDK that allowed it, once the one left says prefetch: false", async () => {
    const page = await newPage(env);
    const fetched = watchPackage(page);
    // The agreement's module arrives only once the first SDK is gone.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route(/\/pkg\/split_agree\.wasm$/, async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${env.site}/platform/privacy.html`);
    const agree = page.getByRole("button", { name: AGREE });
    const first = await mountInPage(page, {});
    await agree.waitFor();
    await page.evaluate((at) => window.mynaSdks[at].destroy(), first);
    await mountInPage(page, { prefetch: false });
    await agree.waitFor();
    const agreement = page.waitForResponse(/\/pkg\/split_agree\.wasm$/);
    release();
    await (await agreement).finished();
    await page.waitForTimeout(500);
    assert.ok(!fetched.some((name) => name.startsWith("account")), `the page fetched ${fetched.join(", ")}`);
    await page.context().close();
  });
});

describe("a request defined on the backend", () => {
  test("is asked for while the consent module downloads, once", async () => {
    const page = await newPage(env);
    const asked = [];
    page.on("request", (request) => {
      if (/\/platform\/myna\/requests\//.test(request.url())) asked.push(request.url());
    });
    // The consent module is held back until the request has been asked for.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await page.route(/\/pkg\/consent_bg\.wasm$/, async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${env.site}/platform/`);
    await firstOf(page, asked);
    release();
    assert.equal(asked.length, 1, "the request was asked for before the consent module arrived");
    await page.getByRole("button", { name: AGREE }).waitFor();
    assert.equal(asked.length, 1, `and only then: ${asked.join(", ")}`);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
});

describe("the agreement's own module", () => {
  test("is fetched once the screen has its request; when it cannot be, 同意 fails visibly and works on retry", async () => {
    const page = await newPage(env);
    const fetched = watchPackage(page);
    const messages = [];
    const errors = sdkErrors(page, messages);
    const network = await cutOff(page, /\/pkg\/split_agree\.wasm$/);
    await page.goto(`${env.site}/platform/`);
    await page.getByRole("button", { name: AGREE }).waitFor();
    // The screen did not wait for it: fetched after the consent module.
    await firstOf(page, errors);
    assert.equal(network.refused, 1, `the screen preloads the agreement's module: ${fetched.join(", ")}`);
    assert.ok(fetched.indexOf("split_agree.wasm") > fetched.indexOf("consent_bg.wasm"), fetched.join(", "));
    // Said at once, before any citizen agrees: a file missing from a deployment shows early,
    // with the browser's reason, where a page's error monitoring sees it.
    assert.deepEqual(errors, ["load_failed"]);
    assert.match(messages[0], /^The SDK's agreement module \(split_agree\.wasm.*\(Failed to fetch\)$/);

    // 同意 without it: the start fails and says so, and nothing leaves the page.
    await page.getByRole("button", { name: AGREE }).click();
    await page.getByText("マイナポータルへ進めませんでした。時間をおいて、もう一度お試しください。").waitFor();
    assert.match(page.url(), /\/platform\/$/);
    assert.equal(network.refused, 2, "同意 tried to fetch it again");
    assert.deepEqual(errors, ["load_failed", "load_failed"]);
    // Logged: the browser's failed fetches, and the loader's report of them.
    const other = page.problems.filter((p) => !/split_agree\.wasm|^console: TypeError: Failed to fetch[\s\S]*\/pkg\/consent\.js/.test(p));
    assert.deepEqual(other, []);
    assert.deepEqual(await axe(page), []);

    // The network is back: the same button goes on to Mynaportal.
    network.offline = false;
    await page.getByRole("button", { name: AGREE }).click();
    await page.waitForURL(/\/authorize\/signin/);
    const uncaught = page.problems.filter((p) => p.startsWith("page error"));
    assert.deepEqual(uncaught, []);
    await page.context().close();
  });
});

describe("the agreement's module of another build", () => {
  test("is refused before it runs, even past the HTTP cache, and 同意 fails visibly", async () => {
    const page = await newPage(env);
    const messages = [];
    const errors = sdkErrors(page, messages);
    // A valid module with other bytes: the real one with a custom section more.
    let served = 0;
    await page.route(/\/pkg\/split_agree\.wasm$/, async (route) => {
      served += 1;
      const response = await route.fetch();
      const other = Buffer.concat([await response.body(), Buffer.from([0, 4, 3, 0x78, 0x78, 0x78])]);
      await route.fulfill({ response, body: other });
    });
    await page.goto(`${env.site}/platform/`);
    await page.getByRole("button", { name: AGREE }).waitFor();
    await firstOf(page, errors);
    assert.deepEqual(errors, ["load_failed"]);
    // Fetched once more (past the HTTP cache, which routing hides) before it was refused.
    assert.equal(served, 2);
    assert.ok(page.problems.some((p) => p.includes("split_agree.wasm is not the split module of this build of the SDK")), page.problems.join("\n"));
    assert.match(messages[0], /\(\/pkg\/split_agree\.wasm is not the split module of this build of the SDK \(SHA-256 [0-9a-f]{64}, not [0-9a-f]{64}\): serve all of the package's files from one build\.\)$/);

    await page.getByRole("button", { name: AGREE }).click();
    await page.getByText("マイナポータルへ進めませんでした。時間をおいて、もう一度お試しください。").waitFor();
    assert.match(page.url(), /\/platform\/$/);
    assert.deepEqual(errors, ["load_failed", "load_failed"]);
    const uncaught = page.problems.filter((p) => p.startsWith("page error"));
    assert.deepEqual(uncaught, []);
    await page.context().close();
  });
});

describe("the agreement's module missing from a deployment", () => {
  test("is said with its URL and HTTP status", async () => {
    const page = await newPage(env);
    const messages = [];
    const errors = sdkErrors(page, messages);
    await page.route(/\/pkg\/split_agree\.wasm$/, (route) => route.fulfill({ status: 404, body: "Not Found" }));
    await page.goto(`${env.site}/platform/`);
    await page.getByRole("button", { name: AGREE }).waitFor();
    await firstOf(page, errors);
    assert.deepEqual(errors, ["load_failed"]);
    assert.match(messages[0], /could not be loaded; the agree button tries again\. \(\/pkg\/split_agree\.wasm: HTTP 404\)$/);
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
    const network = await cutOff(page, /\/pkg\/consent_bg\.wasm$/);
    await page.goto(`${env.site}/platform/`);
    const notice = page.getByRole("alert").filter({ hasText: "画面を読み込めませんでした" });
    await notice.waitFor();
    assert.deepEqual(await axe(page), []);
    network.offline = false;
    await notice.getByRole("button", { name: "もう一度読み込む" }).click();
    await page.getByRole("button", { name: AGREE }).waitFor();
    assert.equal(await notice.count(), 0);
    assert.ok(network.refused >= 1);
    const uncaught = page.problems.filter((p) => p.startsWith("page error"));
    assert.deepEqual(uncaught, []);
    await page.context().close();
  });

  test("a page served in place of the module is a load_failed that says so", async () => {
    const page = await newPage(env);
    // What a dev server's fallback or a wrong path answers: the site's page.
    await page.route(/\/pkg\/consent_bg\.wasm$/, (route) =>
      route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>Not the module</title>" }));
    const messages = [];
    const errors = sdkErrors(page, messages);
    await page.goto(`${env.site}/platform/`);
    await page.getByRole("alert").filter({ hasText: "画面を読み込めませんでした" }).waitFor();
    await firstOf(page, errors);
    assert.deepEqual(errors, ["load_failed"], "one load_failed event");
    assert.match(messages[0], /\(not WebAssembly: a page at its URL\? A wrong path, a dev server's fallback\.\)$/);
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
