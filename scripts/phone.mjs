// The benchmarks' phone on a slow network, as Chrome DevTools emulates it:
// the CPU 4x slower, 150 ms round trips, 1.6 Mbps down and 0.75 Mbps up.
// One definition for bench-peer.mjs and bench.mjs, so that their "slow
// phone" is the same.
export const PHONE = { cpu: 4, latency: 150, down: 1.6e6 / 8, up: 0.75e6 / 8 };

/** Puts `page` (of `context`) on `phone`'s network and CPU. */
export async function throttle(context, page, phone = PHONE) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: phone.latency, downloadThroughput: phone.down, uploadThroughput: phone.up,
  });
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: phone.cpu });
}
