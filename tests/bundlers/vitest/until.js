// Shared by the Vitest specs: waits for what a screen shows, polling every
// 20 ms, up to `tries` times.
export function waiter(tries) {
  return async function until(check, what) {
    for (let i = 0; i < tries; i++) {
      const value = check();
      if (value) return value;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
}
