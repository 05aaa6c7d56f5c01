// Honest outcomes (issue 12): each way an authorization can end without a
// consent has its own words on the return page, and none of them is worded
// as the citizen's refusal unless the citizen refused. The backend's causes
// are produced by the operator backend (operator/tests/standards.rs); here
// its answer is replayed into a real journey to read what the citizen sees.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { agree, atAuthority, axe, newPage, start } from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const NOT_COMPLETED = "手続は完了していません";

/** Agrees, answers at the authority, and comes back to the platform's return page. */
async function returnWith(page, { approve = true, answer } = {}) {
  if (answer) {
    await page.route(/\/platform\/myna\/authorizations\/complete$/, (route) =>
      route.fulfill({ status: answer.status, contentType: "application/problem+json", body: JSON.stringify(answer.body) }));
  }
  await page.goto(`${env.site}/platform/`);
  await agree(page);
  await atAuthority(page, { approve });
  await page.waitForURL(/\/platform\/callback\.html/);
  await page.getByRole("heading", { level: 2 }).first().waitFor();
  return page.getByRole("alert").first();
}

const problem = (status, code, cause) => ({ status, body: { code, title: "t", detail: "d", cause, step: "token" } });

describe("the return page says what happened", () => {
  const cases = [
    ["the citizen declined at Mynaportal", { approve: false }, "マイナポータルで「同意しない」が選ばれました", true],
    ["Mynaportal granted nothing", { answer: problem(502, "nothing_granted", "nothing_granted") }, "提供を認められた情報が一つもありませんでした", true],
    ["a configuration problem", { answer: problem(502, "token_exchange_failed", "configuration") }, "やり直しても同じ結果になります", true],
    ["a temporary failure", { answer: problem(503, "token_exchange_failed", "temporary") }, "一時的に利用できない", true],
    ["a lost answer", { answer: problem(502, "token_exchange_failed", "uncertain") }, "完了したかどうかを確認できませんでした", false],
  ];
  for (const [name, options, words, nothingShared] of cases) {
    test(name, async () => {
      const page = await newPage(env, { width: 360, height: 740 });
      const alert = await returnWith(page, options);
      await page.getByRole("heading", { name: NOT_COMPLETED }).waitFor();
      const text = await alert.textContent();
      assert.ok(text.includes(words), text);
      assert.equal(text.includes("あなたの情報は提供されていません"), nothingShared, text);
      if (options.answer) assert.ok(!text.includes("同意しない"), `not worded as a refusal: ${text}`);
      assert.deepEqual(await axe(page), []);
      assert.deepEqual(page.problems.filter((p) => !p.includes("the server responded with a status")), []);
      await page.context().close();
    });
  }
});
