// An operator's unit tests: Vitest with jsdom, importing the package as
// components under test would. vitest.test.mjs runs this.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  cacheDir: join(here, "..", ".out", "vitest-cache"),
  test: {
    environment: "jsdom",
    // *.spec.js: node --test would take *.test.js for its own.
    include: ["*.spec.js"],
    // One worker is enough for one file, and kinder to two cores.
    pool: "forks",
    maxWorkers: 1,
  },
});
