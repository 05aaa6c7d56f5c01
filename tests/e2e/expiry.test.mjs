// A 90-day linkage after the sandbox clock moves past its end. In its own
// file (and so its own sandbox), because the clock moves for everyone.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { atAuthority, axe, control, newPage, shot, signIn, start } from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

test("a linkage shows as expired, with renewal, once the clock passes 90 days", async () => {
  const page = await newPage(env);
  await signIn(page, env);
  await page.goto(`${env.site}/phr/`);
  await page.getByRole("button", { name: "同意してマイナポータルへ進む" }).click();
  await atAuthority(page);
  await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
  // The return page's first retrieval runs after the heading: let it finish
  // before the clock moves, or it meets an ended grant (a 502 in the console).
  await page.getByText("情報の取得が完了しました。").waitFor({ timeout: 15_000 });

  await control(env, "clock", { advanceDays: 76 });
  await page.goto(`${env.site}/phr/review.html`);
  const card = page.getByRole("article", { name: "すこやか手帳株式会社" });
  await card.getByText("まもなく終了").waitFor();
  await card.getByText("あと14日").waitFor();

  await control(env, "clock", { advanceDays: 15 });
  await page.reload();
  await card.getByText("期間終了").waitFor();
  await card.getByRole("button", { name: "同意を更新する" }).click();
  // The consent page, told which consent the new one renews.
  await page.waitForURL(/\/phr\/\?renews=[^&]+$/);
  await page.getByRole("button", { name: "同意してマイナポータルへ進む" }).waitFor();
  await page.goto(`${env.site}/phr/review.html`);
  await card.getByText("期間終了").waitFor();
  assert.deepEqual(await axe(page), []);
  await shot(page, "expired-1280");
  assert.deepEqual(page.problems, []);
});
