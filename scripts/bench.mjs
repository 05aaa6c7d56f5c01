// Time from navigation to the consent screen's agree button, on the PHR
// demo site, each load in a fresh browser context (cold cache) whose
// member is already signed in (the cookie is set without loading a page).
// The time includes fetching the request from the backend, which the
// benchmark against cookieconsent (bench-peer.mjs) has no counterpart for.
// Two conditions: unthrottled, and the phone of phone.mjs, as in
// bench-peer.mjs (CPU 4× slower, 150 ms RTT, 1.6 Mbps down). The sandbox
// serves the files uncompressed, so the phone's times are longer than with a CDN's gzip;
// compare them across commits, not with bench-peer.mjs's.
//
// Then the return page after Mynaportal, on the phone: from its navigation
// to its heading, after a citizen who agreed at once, and after one who
// read the consent screen for 5 s, while which the screen put the
// account module into the HTTP cache (prefetchAccount in index.js).
//
// BENCH_SITE_ROOTS=a,b alternates the loads between sandboxes serving
// different site roots (each with pkg/ and www/), to compare two builds of
// the package in one run.
import { atAuthority, start, newPage } from "../tests/e2e/harness.mjs";
import { PHONE, throttle } from "./phone.mjs";

const LOADS = Number(process.env.BENCH_LOADS ?? 7);
const ROOTS = process.env.BENCH_SITE_ROOTS?.split(",") ?? [undefined];
const CONDITIONS = { unthrottled: null, "CPU 4x, 150 ms RTT, 1.6 Mbps, uncompressed": PHONE };

async function once(env, phone) {
  const page = await newPage(env);
  await page.request.post(`${env.site}/phr/signin`, { form: { member: "member-1001" }, maxRedirects: 0 });
  if (phone) await throttle(page.context(), page, phone);
  const t0 = Date.now();
  await page.goto(`${env.site}/phr/`);
  await page.getByRole("button", { name: "同意してマイナポータルへ進む" }).waitFor({ timeout: 60_000 });
  const time = Date.now() - t0;
  await page.context().close();
  return time;
}

/** The return page's time after a consent screen read for `reading` ms, on `phone`. */
async function returnPage(env, phone, reading) {
  const page = await newPage(env);
  await page.request.post(`${env.site}/phr/signin`, { form: { member: "member-1001" }, maxRedirects: 0 });
  await throttle(page.context(), page, phone);
  await page.goto(`${env.site}/phr/`);
  const agree = page.getByRole("button", { name: "同意してマイナポータルへ進む" });
  await agree.waitFor({ timeout: 60_000 });
  await page.waitForTimeout(reading);
  await agree.click();
  await atAuthority(page);
  await page.waitForURL(/\/phr\/callback\.html/, { waitUntil: "commit", timeout: 60_000 });
  const time = await page.evaluate(async () => {
    // From the return page's navigation, by the page's own clock.
    for (;;) {
      // The screen is in its host's shadow root.
      const roots = [document, ...[...document.querySelectorAll("*")].flatMap((e) => (e.shadowRoot ? [e.shadowRoot] : []))];
      const heading = roots.flatMap((root) => [...root.querySelectorAll("h1, h2, h3")]).find((h) => h.textContent.includes("同意の手続が完了しました"));
      if (heading) return Math.round(performance.now());
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
  });
  await page.context().close();
  return time;
}

function median(list) {
  list.sort((a, b) => a - b);
  return `median ${list[Math.floor(list.length / 2)]} ms (min ${list[0]}, max ${list.at(-1)}) over ${list.length} loads`;
}

const envs = [];
try {
  for (const siteRoot of ROOTS) envs.push(await start(siteRoot ? { siteRoot } : {}));
  for (const [label, phone] of Object.entries(CONDITIONS)) {
    // One load each first, not counted: the first of a sandbox warms it.
    for (const env of envs) await once(env, phone);
    const times = envs.map(() => []);
    for (let i = 0; i < LOADS; i++) {
      for (const [at, env] of envs.entries()) times[at].push(await once(env, phone));
    }
    for (const [at, list] of times.entries()) {
      const which = ROOTS[at] ? ` (${ROOTS[at]})` : "";
      console.log(`consent screen ready, ${label}${which}: ${median(list)}`);
    }
  }
  for (const reading of [0, 5000]) {
    const times = envs.map(() => []);
    for (let i = 0; i < LOADS; i++) {
      for (const [at, env] of envs.entries()) times[at].push(await returnPage(env, PHONE, reading));
    }
    for (const [at, list] of times.entries()) {
      const which = ROOTS[at] ? ` (${ROOTS[at]})` : "";
      console.log(`return page ready after the consent screen read for ${reading / 1000} s, ${Object.keys(CONDITIONS)[1]}${which}: ${median(list)}`);
    }
  }
} finally {
  for (const env of envs) await env.stop();
}
