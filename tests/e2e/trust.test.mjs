// The trust boundary in a real browser (issue 8): a request edited in the
// page changes nothing at the authority, in the stored consent or in the
// receipt; the same member sees and revokes a consent from a second
// browser; a request with a carriage return is refused before 同意.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { atAuthority, axe, control, newPage, shot, signIn, start } from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const AGREE = "同意してマイナポータルへ進む";

async function grantsOf(clientId) {
  const { grants } = await control(env, "grants");
  return grants.filter((g) => g.clientId === clientId);
}

describe("a request edited in the browser", () => {
  test("changes neither the authority, the stored consent nor the receipt", async () => {
    const page = await newPage(env);
    const before = (await grantsOf("demo-platform")).length;

    // 1. What the page shows is edited (as in devtools): the backend sees
    //    that the citizen was not shown its request, and refuses.
    await page.route(/\/platform\/myna\/requests\//, async (route) => {
      const response = await route.fetch();
      const request = await response.json();
      request.operator.name = "偽の事業者";
      request.items.required.push("insurance.drugs");
      request.recipients = [];
      await route.fulfill({ response, json: request });
    });
    await page.goto(`${env.site}/platform/`);
    await page.getByText("偽の事業者", { exact: false }).first().waitFor();
    const refused = page.waitForResponse((r) => r.url().endsWith("/platform/myna/authorizations"));
    await page.getByRole("button", { name: AGREE }).click();
    assert.equal((await refused).status(), 409);
    await page.getByText("マイナポータルへ進めませんでした", { exact: false }).waitFor();
    await page.unroute(/\/platform\/myna\/requests\//);

    // 2. What the page sends is edited: the backend takes the citizen's
    //    choice only, and refuses the rest by name.
    await page.route(/\/platform\/myna\/authorizations$/, async (route) => {
      const body = route.request().postDataJSON();
      await route.continue({
        postData: JSON.stringify({
          ...body,
          operator: { name: "偽の事業者", approvalId: "FAKE-1" },
          preview: true,
          optionalItems: ["insurance.treatment"],
        }),
      });
    });
    await page.reload();
    await page.getByRole("button", { name: AGREE }).waitFor();
    const edited = page.waitForResponse((r) => r.url().endsWith("/platform/myna/authorizations"));
    await page.getByRole("button", { name: AGREE }).click();
    const answer = await edited;
    assert.equal(answer.status(), 422);
    const fields = (await answer.json()).errors.map((e) => e.field);
    assert.ok(fields.includes("operator") && fields.includes("preview"), JSON.stringify(fields));
    await page.unroute(/\/platform\/myna\/authorizations$/);
    assert.equal((await grantsOf("demo-platform")).length, before, "nothing reached the authority");

    // 3. Untouched, the consent is the configured one, everywhere.
    await page.reload();
    await page.getByRole("button", { name: AGREE }).click();
    await atAuthority(page);
    await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
    const grants = await grantsOf("demo-platform");
    const grant = grants.at(-1);
    assert.deepEqual(grant.items, ["insurance.checkups"]);
    assert.equal(grant.recipients[0].name, "ゆうゆう健康アプリ株式会社");
    const { consents } = await (await page.request.get(`${env.site}/platform/myna/consents`)).json();
    const consent = consents.find((c) => c.grantId === grant.grantId);
    assert.equal(consent.operator.name, "つなぐヘルスプラットフォーム株式会社");
    assert.deepEqual(consent.items, ["insurance.checkups"]);
    const receipt = await (await page.request.get(`${env.site}/platform/myna/consents/${consent.id}/receipt`)).json();
    assert.equal(receipt.receipt.controller.name, "つなぐヘルスプラットフォーム株式会社");
    assert.equal(receipt.receipt.controller.approvalId, "MPA-2025-1010");
    assert.deepEqual(receipt.receipt.items.map((i) => i.id), ["insurance.checkups"]);
    // The console shows the two refusals the test provoked, nothing else.
    assert.deepEqual(page.problems.filter((p) => !/40[9]|422/.test(p)), []);
  });
});

describe("consents belong to the operator's member", () => {
  test("the same member sees and revokes from a second browser; another member sees nothing", async () => {
    const laptop = await newPage(env);
    await signIn(laptop, env);
    await laptop.getByRole("button", { name: AGREE }).click();
    await atAuthority(laptop);
    await laptop.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();

    const phone = await newPage(env, { width: 360, height: 740 });
    await signIn(phone, env);
    await phone.goto(`${env.site}/phr/review.html`);
    const card = phone.getByRole("article", { name: "すこやか手帳株式会社" });
    await card.waitFor();
    await card.getByRole("button", { name: "同意を撤回する" }).click();
    await phone.getByRole("dialog", { name: "同意を撤回しますか" }).getByRole("button", { name: "撤回する" }).click();
    await phone.getByRole("dialog", { name: "同意を撤回しました" }).waitFor();
    assert.deepEqual(await axe(phone), []);
    await shot(phone, "second-browser-revoked-360");

    await laptop.goto(`${env.site}/phr/review.html`);
    await laptop.getByRole("article", { name: "すこやか手帳株式会社" }).getByText("撤回済み").waitFor();
    const phr = await grantsOf("demo-phr");
    assert.ok(phr.length > 0 && phr.every((g) => g.status !== "active"), "the authority ended the grant");

    const other = await newPage(env);
    await signIn(other, env, "すこやか 二葉（会員番号 1002）");
    await other.goto(`${env.site}/phr/review.html`);
    await other.getByText("マイナポータル連携の同意は、まだありません", { exact: false }).waitFor();
    for (const page of [laptop, phone, other]) assert.deepEqual(page.problems, []);
  });
});

describe("a receipt whose check value is not its own", () => {
  test("is shown without that value, with a warning, and reported as receipt_mismatch", async () => {
    const page = await newPage(env);
    const errors = [];
    page.on("console", (message) => {
      const match = message.text().match(/^myna-consent error: (\w+): /);
      if (match) errors.push(match[1]);
    });
    await signIn(page, env);
    await page.getByRole("button", { name: AGREE }).click();
    await atAuthority(page);
    await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
    // The backend's answer, with a sha256 of something else.
    const wrong = "0".repeat(64);
    await page.route(/\/phr\/myna\/consents\/[^/]+\/revocation$/, async (route) => {
      const response = await route.fetch();
      const document = await response.json();
      await route.fulfill({ response, json: { ...document, sha256: wrong } });
    });
    await page.goto(`${env.site}/phr/review.html`);
    const card = page.getByRole("article", { name: "すこやか手帳株式会社" })
      .filter({ has: page.getByRole("button", { name: "同意を撤回する" }) }).first();
    await card.getByRole("button", { name: "同意を撤回する" }).click();
    await page.getByRole("dialog", { name: "同意を撤回しますか" }).getByRole("button", { name: "撤回する" }).click();
    const done = page.getByRole("dialog", { name: "同意を撤回しました" });
    // The withdrawal itself succeeded, and is said so.
    await done.waitFor();
    const receipt = done.getByRole("region", { name: "同意の撤回の控え" });
    await receipt.getByText("確認用の値は、控えの内容と一致しませんでした", { exact: false }).waitFor();
    const shown = await receipt.textContent();
    assert.ok(!shown.includes(wrong), "the wrong value is not shown as the check value");
    assert.ok(!shown.includes("64文字の値です"), "nor explained as one");
    // The withdrawal's own message is the one announced, not drowned by an alert.
    assert.equal(await done.getByRole("alert").count(), 0);
    assert.deepEqual(errors, ["receipt_mismatch"]);
    assert.deepEqual(await axe(page), []);
    await page.context().close();
  });
});

describe("one validator", () => {
  test("a request with a carriage return or a tab is refused by the SDK before 同意", async () => {
    const page = await newPage(env);
    await page.route(/\/loan\/myna\/requests\//, async (route) => {
      const response = await route.fetch();
      const request = await response.json();
      request.retention = "審査の記録として\r\n7年間保存します。";
      request.purposes[0].description = "収入の\t確認に使います。";
      await route.fulfill({ response, json: request });
    });
    let posted = false;
    page.on("request", (request) => { if (request.method() === "POST") posted = true; });
    await page.goto(`${env.site}/loan/`);
    const alert = page.getByRole("alert");
    await alert.getByText("retention").waitFor();
    await alert.getByText("purposes[0].description").waitFor();
    assert.equal(await page.getByRole("button", { name: AGREE }).count(), 0, "no way to agree");
    assert.equal(posted, false, "nothing was sent");
    page.problems = [];
  });
});
