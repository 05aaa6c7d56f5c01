// Time from navigation to the consent screen's agree button, on the PHR
// demo site, each load in a fresh browser context (cold cache) whose
// member is already signed in (the cookie is set without loading a page).
// The time includes fetching the request from the backend.
import { start, newPage } from "../tests/e2e/harness.mjs";

const env = await start();
const times = [];
try {
  for (let i = 0; i < 7; i++) {
    const page = await newPage(env);
    await page.request.post(`${env.site}/phr/signin`, { form: { member: "member-1001" }, maxRedirects: 0 });
    const t0 = Date.now();
    await page.goto(`${env.site}/phr/`);
    await page.getByRole("button", { name: "同意してマイナポータルへ進む" }).waitFor();
    times.push(Date.now() - t0);
    await page.context().close();
  }
} finally {
  await env.stop();
}
times.sort((a, b) => a - b);
console.log(`consent screen ready: median ${times[3]} ms (min ${times[0]}, max ${times[6]}) over ${times.length} loads`);
