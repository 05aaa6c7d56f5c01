// Renewal leaves one live grant (issue 12): 同意を更新する on a consent that
// is ending soon leads to a new consent, and once that one is granted the
// backend withdraws the old one, at the authority too; both receipts say
// so. In its own file (its own sandbox), because the clock moves.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { agree, atAuthority, axe, control, newPage, start } from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

const OPERATOR = "つなぐヘルスプラットフォーム株式会社";

async function activeGrants() {
  const { grants } = await control(env, "grants");
  return grants.filter((g) => g.clientId === "demo-platform" && g.status === "active");
}

test("renewing a consent that ends soon withdraws the old one once the new one is granted", async () => {
  const page = await newPage(env);
  await page.goto(`${env.site}/platform/`);
  await agree(page);
  await atAuthority(page);
  await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
  // The first retrieval runs on the return page; let it end, so that the
  // renewal's start does not meet the authority's per-second budget.
  await page.waitForFunction(() => {
    const root = document.querySelector("[data-myna-consent]")?.shadowRoot;
    return root && !root.querySelector('[aria-busy="true"]');
  });
  assert.equal((await activeGrants()).length, 1);

  // 30-day linkage, 20 days on: ending soon, with renewal offered.
  await control(env, "clock", { advanceDays: 20 });
  await page.goto(`${env.site}/platform/review.html`);
  const old = page.getByRole("article", { name: OPERATOR });
  await old.getByText("まもなく終了").waitFor();
  await old.getByRole("button", { name: "同意を更新する" }).click();
  await page.waitForURL(/\/platform\/\?renews=/);
  // The clock's jump makes the backend's upkeep run the linkage's due
  // retrieval now, which can use up the authority's per-second budget.
  await agree(page);
  await atAuthority(page);
  await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
  await page.getByText("同意を更新しました。以前の同意は撤回しました。").waitFor();

  // One live grant at the authority, and on the review screen.
  assert.equal((await activeGrants()).length, 1);
  await page.goto(`${env.site}/platform/review.html`);
  const cards = page.getByRole("article", { name: OPERATOR });
  await cards.first().waitFor();
  assert.equal(await cards.count(), 2);
  const withdrawn = cards.filter({ hasText: "撤回済み" });
  const live = cards.filter({ hasText: "有効" });
  assert.equal(await withdrawn.count(), 1);
  assert.equal(await live.count(), 1);

  // Both receipts say so.
  await withdrawn.getByRole("button", { name: "同意の控えを見る" }).click();
  await withdrawn.getByText("更新した新しい同意に切り替えたため撤回しました", { exact: false }).waitFor();
  await live.getByRole("button", { name: "同意の控えを見る" }).click();
  await live.getByText("以前の同意を更新したものです", { exact: false }).waitFor();
  assert.deepEqual(await axe(page), []);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
