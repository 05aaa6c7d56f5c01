// Citizens' journeys through the demo sites, the SDK and the sandbox's
// Mynaportal stand-in, in Debian's Chromium. Every journey ends with no
// console error and no CSP violation, and every screen it passes has no
// axe-core violation, fits 360 px without sideways scrolling, and is saved
// as a screenshot under test-output/e2e/.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { webcrypto } from "node:crypto";
import { atAuthority, axe, control, missingRules, newPage, overflows, shot, signIn, start } from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

/**
 * axe, the module's stylesheet, overflow at 360 px and at 1280 px, and
 * screenshots, for the page as it is.
 */
async function check(page, name) {
  const violations = await axe(page);
  assert.deepEqual(violations, [], `${name}: axe finds nothing`);
  assert.deepEqual(await missingRules(page), [], `${name}: every rule the screen uses came with its module`);
  const original = page.viewportSize();
  for (const [width, height] of [[1280, 800], [360, 740]]) {
    await page.setViewportSize({ width, height });
    assert.equal(await overflows(page), false, `${name} fits ${width} px`);
    await shot(page, `${name}-${width}`);
  }
  await page.setViewportSize(original);
}

const AGREE = "同意してマイナポータルへ進む";

/**
 * Verifies a compact JWS (ES256) with a JWK Set using only WebCrypto, as
 * any third party can; answers the payload (the receipt).
 */
async function verifyReceipt(jws, jwks) {
  const [header, payload, signature] = jws.split(".");
  const { alg, kid } = JSON.parse(Buffer.from(header, "base64url"));
  assert.equal(alg, "ES256");
  const jwk = jwks.keys.find((k) => k.kid === kid);
  assert.ok(jwk, `the key ${kid} is published`);
  const key = await webcrypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const ok = await webcrypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key,
    Buffer.from(signature, "base64url"), Buffer.from(`${header}.${payload}`));
  if (!ok) throw new Error("the signature does not verify");
  return JSON.parse(Buffer.from(payload, "base64url"));
}

function jstDatePlus(days) {
  const end = new Date(Date.now() + days * 86_400_000 + 9 * 3_600_000);
  return `${end.getUTCFullYear()}年${end.getUTCMonth() + 1}月${end.getUTCDate()}日`;
}

/** Consent screen → agree → the authority → back, granted. */
async function grant(page, site, { optional, screens = false } = {}) {
  await page.goto(`${env.site}/${site}/`);
  if (site === "phr") {
    await page.locator(".member-bar").waitFor();
    if ((await page.getByRole("link", { name: "ログインする" }).count()) > 0) await signIn(page, env);
  }
  await page.getByRole("button", { name: AGREE }).waitFor();
  if (screens) await check(page, `${site}-1-consent`);
  if (optional) await page.getByRole("checkbox", { name: optional }).check();
  await page.getByRole("button", { name: AGREE }).click();
  if (screens) {
    await page.waitForURL(/\/authorize\/signin/);
    await check(page, `${site}-2-authority-signin`);
  }
  await atAuthority(page);
  await page.waitForURL(new RegExp(`/${site}/callback\\.html`));
  await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
}

describe("the PHR journey", () => {
  test("consent, Mynaportal, retrieval, review, revocation and receipt", async () => {
    const page = await newPage(env);
    await grant(page, "phr", { optional: "特定健診などの健診結果", screens: true });
    assert.ok(!page.url().includes("code="), "the callback leaves the address bar");
    await page.getByText("情報の取得が完了しました。").waitFor({ timeout: 15_000 });
    await check(page, "phr-3-return");

    await page.getByRole("link", { name: "同意の確認へ進む" }).click();
    const card = page.getByRole("article", { name: "すこやか手帳株式会社" });
    await card.waitFor();
    for (const text of ["有効", jstDatePlus(90), "あと90日", "特定健診などの健診結果"]) {
      await card.getByText(text, { exact: false }).first().waitFor();
    }
    await check(page, "phr-4-review");

    await card.getByRole("button", { name: "同意を撤回する" }).click();
    const dialog = page.getByRole("dialog", { name: "同意を撤回しますか" });
    await dialog.waitFor();
    await check(page, "phr-5-revocation-dialog");
    await dialog.getByRole("button", { name: "撤回する" }).click();
    const done = page.getByRole("dialog", { name: "同意を撤回しました" });
    await done.waitFor();
    // The receipt is a revocation receipt, dated in Japan's time as a
    // person reads it, and its check value is explained (issue 12).
    const receipt = done.getByRole("region", { name: "同意の撤回の控え" });
    await receipt.waitFor();
    const receiptText = await receipt.textContent();
    assert.ok(receiptText.includes("撤回した日時"), receiptText);
    assert.ok(receiptText.includes(`${jstDatePlus(0)} `) && receiptText.includes("（日本時間）"), receiptText);
    assert.doesNotMatch(receiptText, /\d{4}-\d{2}-\d{2}T/);
    assert.ok(receiptText.includes("書き換えられていないかを確かめる"), receiptText);
    const download = page.waitForEvent("download");
    await done.getByRole("button", { name: "控えをダウンロードする（JSON形式）" }).click();
    const file = await download;
    assert.match(file.suggestedFilename(), /^myna-consent-receipt-.+\.json$/);
    // The check value shown is the saved file's, which the SDK checked.
    const saved = JSON.parse(readFileSync(await file.path(), "utf8"));
    assert.match(saved.sha256, /^[0-9a-f]{64}$/);
    assert.equal(await receipt.locator("code.digest").textContent(), saved.sha256);
    // The signed receipt verifies, as a third party would check it, with
    // the key the backend publishes (docs/receipts.md).
    const signedDownload = page.waitForEvent("download");
    await done.getByRole("button", { name: "署名付きの控えをダウンロードする（JWS形式）" }).click();
    const signed = await signedDownload;
    assert.match(signed.suggestedFilename(), /^myna-consent-receipt-.+\.jws$/);
    const jws = readFileSync(await signed.path(), "utf8");
    const jwks = await (await fetch(`${env.site}/phr/myna/receipts/jwks.json`)).json();
    const verified = await verifyReceipt(jws, jwks);
    assert.equal(verified.event, "revocation");
    assert.equal(verified.controller.name, "すこやか手帳株式会社");
    const forged = jws.split(".");
    forged[1] = Buffer.from(JSON.stringify({ ...verified, event: "grant" })).toString("base64url");
    await assert.rejects(verifyReceipt(forged.join("."), jwks), /does not verify/);
    // The receipt prints alone: the print stylesheets hide the rest of the
    // page and the receipt's buttons (read as the print dialog opens).
    await page.evaluate(() => {
      window.print = () => {
        const host = document.querySelector("[data-myna-printing]");
        const receipt = host?.shadowRoot.querySelector(".receipt.printing");
        window.printed = {
          receipt: receipt && getComputedStyle(receipt).visibility,
          receiptText: receipt?.textContent.includes("同意の撤回の控え"),
          buttons: [...(receipt?.querySelectorAll("button") ?? [])].map((b) => getComputedStyle(b).display),
          screen: getComputedStyle(host.shadowRoot.querySelector(".myna")).visibility,
          page: getComputedStyle(document.querySelector("h1")).visibility,
        };
      };
    });
    await page.emulateMedia({ media: "print" });
    await done.getByRole("button", { name: "控えを印刷する" }).click();
    const printed = await page.evaluate(() => window.printed);
    await page.emulateMedia({ media: "screen" });
    assert.equal(printed.receipt, "visible");
    assert.equal(printed.receiptText, true);
    assert.ok(printed.buttons.length >= 2 && printed.buttons.every((d) => d === "none"), JSON.stringify(printed));
    assert.equal(printed.screen, "hidden");
    assert.equal(printed.page, "hidden");
    assert.equal(await page.evaluate(() => document.querySelectorAll("[data-myna-printing]").length), 0);
    await check(page, "phr-6-revoked");

    const { grants } = await control(env, "grants");
    const phr = grants.filter((g) => g.clientId === "demo-phr");
    assert.ok(phr.length >= 1 && phr.every((g) => g.status !== "active"), "the authority ended the grant");
    assert.deepEqual(page.problems, []);
  });
});

describe("the other demo sites", () => {
  for (const site of ["phr", "loan", "marriage", "platform"]) {
    test(`${site}: the SDK's screens in English pass axe too`, async () => {
      const page = await newPage(env);
      if (site === "phr") await signIn(page, env);
      await page.goto(`${env.site}/${site}/?lang=en`);
      await page.getByRole("button", { name: "Agree and go to Mynaportal" }).waitFor();
      await check(page, `${site}-1-consent-en`);
      await page.goto(`${env.site}/${site}/review.html?lang=en`);
      await page.getByRole("heading", { name: "Your Mynaportal consents" }).waitFor();
      await check(page, `${site}-4-review-en`);
      assert.deepEqual(page.problems, []);
    });
  }

  for (const [site, operator, shows] of [
    ["loan", "みらいローン株式会社", "この1回のみ"],
    ["marriage", "えにし結婚相談所", "戸籍関係情報"],
    ["platform", "つなぐヘルスプラットフォーム株式会社", "ゆうゆう健康アプリ株式会社"],
  ]) {
    test(`${site}: consent to review`, async () => {
      const page = await newPage(env);
      await page.goto(`${env.site}/${site}/`);
      await page.getByText(shows, { exact: false }).first().waitFor();
      await grant(page, site, { screens: true });
      await page.goto(`${env.site}/${site}/review.html`);
      const card = page.getByRole("article", { name: operator });
      await card.waitFor();
      if (site === "platform") {
        // The recipient is accountable on the card: contact and approval id.
        await card.getByText("0120-111-222（平日10時〜18時）").waitFor();
        await card.getByText("MPA-2025-2020").waitFor();
      }
      await check(page, `${site}-4-review`);
      await card.getByRole("button", { name: "同意を撤回する" }).click();
      await page.getByRole("dialog", { name: "同意を撤回しますか" }).getByRole("button", { name: "撤回する" }).click();
      await page.getByRole("dialog", { name: "同意を撤回しました" }).waitFor();
      await page.getByRole("dialog").getByRole("button", { name: "閉じる" }).click();
      await card.getByText("撤回済み").waitFor();
      // Whatever the kind, revocation reaches the authority: no grant of
      // this site is left active there.
      const { grants } = await control(env, "grants");
      const own = grants.filter((g) => g.clientId === `demo-${site}`);
      assert.ok(own.length > 0 && own.every((g) => g.status !== "active"), "the authority ended the grant");
      if (site === "platform") {
        // The partner app heard of it through the signed webhook.
        let events = [];
        for (let i = 0; i < 50 && events.length === 0; i++) {
          ({ events } = await (await fetch(`${env.site}/partner/events`)).json());
          if (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(events.at(-1)?.type, "consent.revoked");
      }
      assert.deepEqual(page.problems, []);
    });
  }
});

describe("the custom elements", () => {
  test("<myna-consent-request> and <myna-consent-review> render and dispatch events", async () => {
    const page = await newPage(env);
    await page.goto(`${env.site}/elements/`);
    await page.getByRole("button", { name: "同意しない" }).click();
    await page.getByText("myna-denied", { exact: false }).waitFor();
    await page.getByRole("heading", { name: "マイナポータル連携の同意の確認" }).waitFor();
    await check(page, "custom-elements");
    assert.deepEqual(page.problems, []);
  });
});

describe("when things go otherwise", () => {
  test("declining on the consent screen shares nothing", async () => {
    const page = await newPage(env);
    await page.goto(`${env.site}/loan/`);
    await page.getByRole("button", { name: "同意しない" }).click();
    await page.getByText("あなたの情報は提供されません。").waitFor();
    assert.match(page.url(), /\/loan\/$/);
    await check(page, "declined-on-consent-screen");
    assert.deepEqual(page.problems, []);
  });

  test("refusing at Mynaportal comes back as access_denied, in plain words", async () => {
    const page = await newPage(env);
    await page.goto(`${env.site}/loan/`);
    await page.getByRole("button", { name: AGREE }).click();
    await atAuthority(page, { approve: false });
    await page.getByText("マイナポータルで「同意しない」が選ばれました。").waitFor();
    await check(page, "refused-at-mynaportal");
    assert.deepEqual(page.problems, []);
  });

  test("a tampered callback is refused; the real one completes once; replaying it is refused", async () => {
    const page = await newPage(env);
    // Keep the browser on the authority's page and read where it would
    // have sent the citizen (only the first request of a redirect chain
    // can be routed, so the approval itself is fetched here).
    let callback;
    await page.route(/\/authorize\/consent/, async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      const response = await route.fetch({ maxRedirects: 0 });
      callback = new URL(response.headers()["location"], route.request().url()).href;
      await route.fulfill({ status: 204 });
    });
    await page.goto(`${env.site}/marriage/`);
    await page.getByRole("button", { name: AGREE }).click();
    await atAuthority(page);
    await assertEventually(() => callback);
    await page.unroute(/\/authorize\/consent/);

    const tampered = new URL(callback);
    tampered.searchParams.set("state", "tampered-state");
    await page.goto(tampered.href);
    await page.getByText("手続の情報が一致しないため、安全のために中止しました。").waitFor();
    await check(page, "tampered-callback");

    // The tampered address never reached the backend, so the real one
    // still completes, once.
    await page.goto(callback);
    await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
    assert.ok(!page.url().includes("code="), "the callback leaves the address bar");

    await page.goto(callback);
    await page.getByText("この手続は、すでに完了しているか中止されています。", { exact: false }).waitFor();
    await check(page, "replayed-callback");
    assert.deepEqual(page.problems, []);
  });

  test("a grant flagged compromised shows as suspended", async () => {
    const page = await newPage(env);
    await grant(page, "phr");
    // The return page retrieves at once; compromise the grant only after
    // that, or the race shows up as a failed first retrieval.
    await page.getByText("情報の取得が完了しました。").waitFor({ timeout: 15_000 });
    const { grants } = await control(env, "grants");
    const newest = grants.filter((g) => g.clientId === "demo-phr" && g.status === "active").at(-1);
    await control(env, `grants/${newest.grantId}/compromise`, {});
    await page.goto(`${env.site}/phr/review.html`);
    await page.getByRole("button", { name: "いますぐ最新の情報を取得する" }).click();
    await page.getByText("取得できませんでした", { exact: false }).waitFor();
    page.problems = page.problems.filter((p) => !p.includes("409"));
    await page.reload();
    const card = page.getByRole("article", { name: "すこやか手帳株式会社" }).first();
    await card.getByText("停止中").waitFor();
    await card.getByRole("button", { name: "同意を更新する" }).waitFor();
    await check(page, "suspended");
    assert.deepEqual(page.problems, []);
  });
});

async function assertEventually(read, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (read()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail("the condition never held");
}
