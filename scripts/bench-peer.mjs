// Side by side in one headless Chromium run: the time from navigation until
// a consent dialog's first button is ready, for myna-consent (a draft
// consent screen, no backend) and for the peer, cookieconsent 3.1.0's modal
// (npm vanilla-cookieconsent), and the host app's own first paint with
// either and with neither. Each load is cold (a fresh browser context);
// the pages alternate, so drift hits both alike. Two conditions:
// unthrottled, and a phone on a slow network (CPU 4x slower, 150 ms RTT,
// 1.6 Mbps down), with every file gzip-compressed, and the same phone with
// every file brotli-compressed, as CDNs send them to browsers that accept
// it. Figures to compare, not a pass/fail test.
//
// "Ready" is taken inside the page: the first animation frame in which the
// dialog's first button is laid out and visible (a box, not hidden), by the
// same rule for both pages. Playwright's own wait only gates the load: it
// polls at growing intervals (up to 500 ms apart), and the round trip that
// followed it added its own delay, so the time it saw was late by a varying
// amount.
import { createServer } from "node:http";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { PHONE, throttle } from "./phone.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PEER = process.env.BENCH_PEER_DIR ?? join(ROOT, "target", "bench-peer", "node_modules");
const LOADS = Number(process.env.BENCH_LOADS ?? 15);
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };
const MOUNTS = [["/pkg/", join(ROOT, "pkg")], ["/bench/", join(ROOT, "scripts", "bench-pages")], ["/peer/", PEER]];

// Each file is compressed once, as a CDN caches it: compressing on every
// request would add the server's time to the larger files' loads.
const ENCODINGS = {
  gzip: (bytes) => gzipSync(bytes, { level: 9 }),
  br: (bytes) => brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }),
};
const compressed = new Map();
async function body(file, encoding) {
  const key = `${encoding} ${file}`;
  if (!compressed.has(key)) compressed.set(key, ENCODINGS[encoding](await readFile(file)));
  return compressed.get(key);
}

// One server per encoding, so that a condition's pages all come compressed
// the same way.
async function serve(encoding) {
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, "http://x").pathname);
    const mount = MOUNTS.find(([prefix]) => path.startsWith(prefix));
    const file = mount && normalize(join(mount[1], path.slice(mount[0].length)));
    if (!file || !file.startsWith(mount[1])) {
      response.writeHead(404).end();
      return;
    }
    try {
      const bytes = await body(file, encoding);
      response.writeHead(200, {
        "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
        "Content-Encoding": encoding,
        "Content-Security-Policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'",
        "Cache-Control": "no-store",
      });
      response.end(bytes);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}
const servers = { gzip: await serve("gzip"), br: await serve("br") };
const origins = Object.fromEntries(
  Object.entries(servers).map(([encoding, server]) => [encoding, `http://127.0.0.1:${server.address().port}`]),
);

// ready: selectors, each applied inside the previous match (its open shadow
// root when it has one).
const PAGES = {
  // The screen's own button, in its shadow root (not a notice's retry button).
  "myna-consent": { path: "/bench/myna.html", ready: ["#consent [data-myna-consent]", "button"] },
  "cookieconsent 3.1.0": { path: "/bench/peer.html", ready: ["#cc-main .cm__btn"] },
  "host alone": { path: "/bench/host.html", ready: null },
};

// Runs in the page before its own scripts: checks once per frame, and keeps
// the time of the first frame in which the element is visible, as
// Playwright defines it (checkVisibility, visibility, a non-empty box).
function watchReady(selectors) {
  const find = () => {
    let scope = document;
    let element = null;
    for (const selector of selectors) {
      element = scope.querySelector(selector);
      if (!element) return null;
      scope = element.shadowRoot ?? element;
    }
    return element;
  };
  const visible = (element) => {
    if (element.checkVisibility && !element.checkVisibility()) return false;
    if (getComputedStyle(element).visibility !== "visible") return false;
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  const frame = () => {
    const element = find();
    if (element && visible(element)) window.__benchReady = performance.now();
    else requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}
const CONDITIONS = {
  "unthrottled, gzip": { encoding: "gzip", throttle: null },
  "CPU 4x, 150 ms RTT, 1.6 Mbps, gzip": { encoding: "gzip", throttle: PHONE },
  "CPU 4x, 150 ms RTT, 1.6 Mbps, brotli": { encoding: "br", throttle: PHONE },
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});

async function once(page, condition) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "ja-JP" });
  // Every page runs the watcher, so that all three load under the same
  // per-frame work; the host alone looks for nothing it will find.
  await context.addInitScript(watchReady, page.ready ?? ["#bench-nothing"]);
  const tab = await context.newPage();
  if (condition.throttle) await throttle(context, tab, condition.throttle);
  await tab.goto(origins[condition.encoding] + page.path);
  if (page.ready) await tab.locator(page.ready.join(" ")).first().waitFor({ state: "visible", timeout: 60_000 });
  await tab.locator("#host h1").waitFor();
  const figures = await tab.evaluate(async (measureReady) => {
    // Playwright can see the button before the frame the watcher runs in:
    // wait for that frame.
    const ready = measureReady
      ? await new Promise((resolve, reject) => {
          const started = performance.now();
          const frame = () => {
            if (typeof window.__benchReady === "number") resolve(window.__benchReady);
            else if (performance.now() - started > 10_000) reject(new Error("the page never saw its dialog's button visible"));
            else requestAnimationFrame(frame);
          };
          frame();
        })
      : null;
    // The host app's own heading (elementtiming="host"): when it was painted.
    const paint = await new Promise((resolve, reject) => {
      new PerformanceObserver((list) => {
        const entry = list.getEntries().find((e) => e.identifier === "host");
        if (entry) resolve(entry.renderTime || entry.loadTime);
      }).observe({ type: "element", buffered: true });
      setTimeout(() => reject(new Error("no element timing for the host's heading")), 30_000);
    });
    return { ready, paint };
  }, Boolean(page.ready));
  await context.close();
  return figures;
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const median = (values) => quantile(values, 0.5);

// How far the ratio of medians can be trusted: a percentile bootstrap, each
// page's loads drawn again with replacement. Seeded, so that the same loads
// print the same interval. Both pages move by tens of milliseconds between
// runs; the interval says whether a budget's margin is larger than that.
const RESAMPLES = 2000;
function ratioInterval(mine, peer) {
  let seed = 0x6d79_6e61;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const draw = (values) => values.map(() => values[Math.floor(random() * values.length)]);
  const ratios = [];
  for (let i = 0; i < RESAMPLES; i++) ratios.push(median(draw(mine)) / median(draw(peer)));
  return [quantile(ratios, 0.025), quantile(ratios, 0.975)];
}
const spread = (values) => `${quantile(values, 0.25).toFixed(0)}–${quantile(values, 0.75).toFixed(0)}`;

try {
  for (const [label, condition] of Object.entries(CONDITIONS)) {
    const results = Object.fromEntries(Object.keys(PAGES).map((name) => [name, { ready: [], paint: [] }]));
    // One load of each page first, not counted: the server compresses each
    // file on its first request, which no timed load should pay for.
    for (const page of Object.values(PAGES)) await once(page, condition);
    for (let i = 0; i < LOADS; i++) {
      for (const [name, page] of Object.entries(PAGES)) {
        const { ready, paint } = await once(page, condition);
        if (ready !== null) results[name].ready.push(ready);
        results[name].paint.push(paint);
      }
    }
    const mine = median(results["myna-consent"].ready);
    const peer = median(results["cookieconsent 3.1.0"].ready);
    const hostMine = median(results["myna-consent"].paint);
    const hostAlone = median(results["host alone"].paint);
    const hostPeer = median(results["cookieconsent 3.1.0"].paint);
    const [low, high] = ratioInterval(results["myna-consent"].ready, results["cookieconsent 3.1.0"].ready);
    console.log(`${label} (medians of ${LOADS} cold loads each, alternating; quartiles in brackets):`);
    console.log(`  consent dialog ready: myna-consent ${mine.toFixed(0)} ms [${spread(results["myna-consent"].ready)}], cookieconsent 3.1.0 ${peer.toFixed(0)} ms [${spread(results["cookieconsent 3.1.0"].ready)}], ratio ${(mine / peer).toFixed(2)}x (95% bootstrap interval ${low.toFixed(2)}–${high.toFixed(2)}x)`);
    console.log(`  host's own first paint: with myna-consent ${hostMine.toFixed(0)} ms, with cookieconsent ${hostPeer.toFixed(0)} ms, alone ${hostAlone.toFixed(0)} ms (ratio to alone ${(hostMine / hostAlone).toFixed(2)}x)`);
  }
} finally {
  await browser.close();
  for (const server of Object.values(servers)) server.close();
}
