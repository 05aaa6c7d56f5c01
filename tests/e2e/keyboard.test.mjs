// The journey by keyboard alone: consent, the authority's pages, and
// revocation, with Tab, Shift+Tab, Space, Enter and Escape.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { newPage, signIn, start } from "./harness.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

/** The focused element, looking through open shadow roots. */
async function focused(page) {
  return page.evaluate(() => {
    let active = document.activeElement;
    while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
    if (!active) return "";
    const label = active.labels?.[0]?.textContent ?? "";
    return `${active.tagName.toLowerCase()}|${(label || active.textContent || active.getAttribute("aria-label") || "").replace(/\s+/g, " ").trim()}`;
  });
}

/** Waits (up to two seconds) until `expected` has the focus. */
async function focusIs(page, expected, message) {
  const deadline = Date.now() + 2000;
  let now = await focused(page);
  while (now !== expected && Date.now() < deadline) {
    await page.waitForTimeout(25);
    now = await focused(page);
  }
  assert.equal(now, expected, message);
}

/** Presses Tab until the focused element matches, or fails after `limit` presses. */
async function tabTo(page, pattern, { limit = 60, shift = false } = {}) {
  const seen = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press(shift ? "Shift+Tab" : "Tab");
    const now = await focused(page);
    seen.push(now);
    if (pattern.test(now)) return;
  }
  assert.fail(`Tab never reached ${pattern}; it went through:\n${seen.join("\n")}`);
}

test("consent, Mynaportal and revocation by keyboard alone", async () => {
  const page = await newPage(env);
  await signIn(page, env);
  await page.goto(`${env.site}/phr/`);
  await page.getByRole("button", { name: "同意してマイナポータルへ進む" }).waitFor();

  await tabTo(page, /^input\|特定健診などの健診結果/);
  await page.keyboard.press("Space");
  assert.equal(await page.getByRole("checkbox", { name: "特定健診などの健診結果" }).isChecked(), true);
  await tabTo(page, /^button\|同意してマイナポータルへ進む$/);
  await page.keyboard.press("Enter");

  await page.waitForURL(/\/authorize\/signin/);
  await tabTo(page, /^input\|.*デジタル 太郎/);
  await page.keyboard.press("Space");
  await tabTo(page, /^input\|.*暗証番号/);
  await page.keyboard.type("1234");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/authorize\/consent/);
  await tabTo(page, /^button\|同意する$/);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "同意の手続が完了しました" }).waitFor();

  await page.goto(`${env.site}/phr/review.html`);
  await page.getByRole("article", { name: "すこやか手帳株式会社" }).waitFor();
  await tabTo(page, /^button\|同意を撤回する$/);
  await page.keyboard.press("Enter");
  await page.getByRole("dialog", { name: "同意を撤回しますか" }).waitFor();
  await focusIs(page, "button|撤回しない", "focus moves into the dialog");
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "hidden" });
  await focusIs(page, "button|同意を撤回する", "Escape closes and focus returns");

  await page.keyboard.press("Enter");
  await page.getByRole("dialog", { name: "同意を撤回しますか" }).waitFor();
  await focusIs(page, "button|撤回しない", "focus moves into the dialog again");
  await page.keyboard.press("Tab");
  assert.equal(await focused(page), "button|撤回する");
  await page.keyboard.press("Tab");
  assert.equal(await focused(page), "button|撤回しない", "Tab stays inside the dialog");
  await page.keyboard.press("Shift+Tab");
  assert.equal(await focused(page), "button|撤回する");
  await page.keyboard.press("Enter");
  await page.getByRole("dialog", { name: "同意を撤回しました" }).waitFor();
  await tabTo(page, /^button\|閉じる$/, { limit: 5 });
  await page.keyboard.press("Enter");
  await page.getByRole("article", { name: "すこやか手帳株式会社" }).getByText("撤回済み").waitFor();
  assert.deepEqual(page.problems, []);
});

// An ancestor that clips painting (overflow, paint containment,
// content-visibility) must leave every control in it room for its whole
// focus ring (outline and offset).
test("every focus ring on the consent screen is whole, on a phone and on a desktop", async () => {
  for (const viewport of [{ width: 360, height: 740 }, { width: 1280, height: 800 }]) {
    const page = await newPage(env, viewport);
    await signIn(page, env);
    await page.goto(`${env.site}/phr/`);
    await page.getByRole("button", { name: "同意してマイナポータルへ進む" }).waitFor();
    const checked = [];
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press("Tab");
      const ring = await page.evaluate(() => {
        let active = document.activeElement;
        while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
        if (!active || !(active.getRootNode() instanceof ShadowRoot)) return null;
        const style = getComputedStyle(active);
        const reach = parseFloat(style.outlineWidth) + parseFloat(style.outlineOffset);
        const box = active.getBoundingClientRect();
        const name = `${active.tagName.toLowerCase()}|${(active.labels?.[0]?.textContent ?? active.textContent).trim().slice(0, 20)}`;
        const clipped = [];
        for (let up = active.parentElement; up; up = up.parentElement) {
          const s = getComputedStyle(up);
          const clips = s.overflowX !== "visible" || s.overflowY !== "visible"
            || /paint|strict|content/.test(s.contain) || s.contentVisibility !== "visible";
          if (!clips) continue;
          const room = up.getBoundingClientRect();
          for (const [side, out] of [
            ["left", box.left - reach < room.left - 0.5],
            ["right", box.right + reach > room.right + 0.5],
            ["top", box.top - reach < room.top - 0.5],
            ["bottom", box.bottom + reach > room.bottom + 0.5],
          ]) if (out) clipped.push(`${side} of <${up.tagName.toLowerCase()} class="${up.className}">`);
        }
        return { name, outline: style.outlineStyle, reach, clipped, last: /同意してマイナポータルへ進む/.test(active.textContent) };
      });
      if (!ring) continue;
      assert.notEqual(ring.outline, "none", `${ring.name} shows a focus ring`);
      assert.deepEqual(ring.clipped, [], `${ring.name}'s ring (${ring.reach}px) is cut (${viewport.width}px wide)`);
      checked.push(ring.name);
      if (ring.last) break;
    }
    assert.ok(checked.length >= 3, `controls were checked: ${checked.join(", ")}`);
    await page.context().close();
  }
});
