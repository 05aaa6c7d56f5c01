// A return that lands in another tab of the same browser (issue 12): the
// Mynaportal app or the browser opens the callback in a new tab, which has
// no tab-local record of the transaction. The backend's transaction for
// this session decides: the genuine return completes there, and a replay
// of the same address, or the same address in another browser, is refused.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { agree, atAuthority, newPage, start } from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

/**
 * Agrees on the platform site and approves at the authority; answers the
 * callback address. This tab lands there but never runs it: its script is
 * held back, as if the citizen had switched tabs.
 */
async function callbackAddress(page) {
  await page.goto(`${env.site}/platform/`);
  await agree(page);
  await page.route(/\/demo\.js$/, (route) => route.abort());
  await atAuthority(page);
  await page.waitForURL(/\/platform\/callback\.html\?/);
  return page.url();
}

describe("a return in another tab", () => {
  test("completes there, once", async () => {
    const page = await newPage(env);
    const address = await callbackAddress(page);

    const other = await page.context().newPage();
    other.problems = [];
    other.on("pageerror", (error) => other.problems.push(error.message));
    await other.goto(address);
    await other.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
    assert.equal(await other.getByText("安全のために中止しました").count(), 0);

    // The same address again, in a third tab: already used.
    const third = await page.context().newPage();
    await third.goto(address);
    await third.getByRole("heading", { name: "手続は完了していません" }).waitFor();
    await third.getByText("すでに完了しているか中止されています", { exact: false }).waitFor();
    assert.deepEqual(other.problems, []);
    await page.context().close();
  });

  test("is refused in another browser, which takes nothing from the citizen's own tabs", async () => {
    const page = await newPage(env);
    const address = await callbackAddress(page);
    const stranger = await newPage(env);
    await stranger.goto(address);
    await stranger.getByRole("heading", { name: "手続は完了していません" }).waitFor();
    await stranger.getByText("安全のために中止しました", { exact: false }).waitFor();
    // The citizen's own browser still completes it.
    const own = await page.context().newPage();
    await own.goto(address);
    await own.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();
    await page.context().close();
    await stranger.context().close();
  });
});
