// An operator's unit tests: Vitest with jsdom, importing the package as
// components under test would. vitest.test.mjs runs this.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  cacheDir: join(here, "..", ".out", "vitest-cache"),
  // The wrappers are linked from packages/ (file: dependencies): their
  // imports of react, vue and myna-consent resolve from this project, as
  // they would from an operator's node_modules.
  resolve: { dedupe: ["react", "react-dom", "vue", "myna-consent"] },
  test: {
    environment: "jsdom",
    // *.spec.js: node --test would take *.test.js for its own.
    include: ["*.spec.js"],
    // One worker is enough for one file, and kinder to two cores.
    pool: "forks",
    maxWorkers: 1,
  },
});
