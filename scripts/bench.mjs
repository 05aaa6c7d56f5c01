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
// BENCH_SITE_ROOTS=a,b alternates the loads between sandboxes serving
// different site roots (each with pkg/ and www/), to compare two builds of
// the package in one run.
import { start, newPage } from "../tests/e2e/harness.mjs";
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
      list.sort((a, b) => a - b);
      const which = ROOTS[at] ? ` (${ROOTS[at]})` : "";
      console.log(`consent screen ready, ${label}${which}: median ${list[Math.floor(list.length / 2)]} ms (min ${list[0]}, max ${list.at(-1)}) over ${list.length} loads`);
    }
  }
} finally {
  for (const env of envs) await env.stop();
}
