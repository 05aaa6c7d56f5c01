// Every screen in every state, from the playground's fixtures, in Japanese
// and English: no axe-core violation, no sideways scrolling at 360 px, no
// console error or CSP violation; screenshots at 360×740 and 1280×800.
// Also: the catalogue and the validator render from the release package.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { axe, newPage, overflows, shot, start } from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const STATES = [
  "consent-phr", "consent-loan", "consent-marriage", "consent-welfare", "consent-start-fails", "consent-invalid",
  "return-done", "return-retrieval-error", "return-retrieval-timeout", "return-declined", "return-expired",
  "return-tampered", "return-used", "return-backend", "return-network",
  "review-list", "review-empty", "review-failed", "review-revoke-fails",
];

for (const [lang, category, verdict] of [
  ["ja", "生化学的検査（26項目）", "問題はありません。この内容で同意画面を表示できます。"],
  ["en", "Biochemistry tests (26 items)", "No problems. A consent screen can show this request."],
]) {
  test(`the catalogue and the validator render in ${lang}`, async () => {
    const page = await newPage(env);
    await page.goto(`${env.site}/?lang=${lang}`);
    await page.locator("body[data-state=ready]").waitFor();
    await page.getByText(category, { exact: true }).waitFor();
    await page.getByText("HbA1c (NGSP)", { exact: false }).first().waitFor({ state: "attached" });
    await page.getByText(verdict, { exact: true }).waitFor();
    // A valid draft is shown below as a preview that sends nothing.
    const preview = page.locator("#draft-preview");
    await preview.getByText(lang === "ja" ? "これは確認用の表示（下書き）です" : "This is a preview (draft)", { exact: false }).waitFor();
    assert.deepEqual(page.problems, []);
  });

  test(`every playground screen and state in ${lang}`, async () => {
    const page = await newPage(env);
    for (const state of STATES) {
      await page.goto(`${env.site}/?lang=${lang}&state=${state}`);
      await page.locator("body[data-state=ready]").waitFor();
      await page.locator("body[data-screen-chars]").waitFor();
      // The return screens settle (retrieval progress) within two seconds.
      if (state.startsWith("return-")) await page.waitForTimeout(2500);
      if (state === "consent-start-fails") {
        await page.locator("#stage").getByRole("button", { name: lang === "ja" ? "同意してマイナポータルへ進む" : "Agree and go to Mynaportal" }).click();
        await page.waitForTimeout(300);
      }
      const violations = await axe(page);
      assert.deepEqual(violations, [], `${state} (${lang}): axe finds nothing`);
      for (const [width, height] of [[1280, 800], [360, 740]]) {
        await page.setViewportSize({ width, height });
        assert.equal(await overflows(page), false, `${state} (${lang}) fits ${width} px`);
        await shot(page, `playground-${state}-${lang}-${width}`);
      }
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    // The fixture backend answers failures on purpose; the browser logs
    // nothing for them (they are fetch answers, not resource loads).
    assert.deepEqual(page.problems, []);
  });
}
