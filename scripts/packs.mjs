// Packs each npm package of the repository (dry run) and checks what an
// operator would install: the licences, the typings, and, for the core,
// both WebAssembly modules, the test kit and the generated references.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PACKAGES = {
  pkg: ["index.js", "index.d.ts", "generated.d.ts", "consent_bg.wasm", "split_agree.wasm", "account_bg.wasm", "en.js", "elements.js", "testing.js",
    "index.js.map", "consent.js.map",
    "testing.d.ts", "reference/items.md", "reference/errors.md", "reference/css-variables.md", "reference/validation.md", "reference/backend.md"],
  "packages/react": ["index.js", "index.d.ts"],
  "packages/vue": ["index.js", "index.d.ts"],
};

let failed = false;
for (const [dir, needed] of Object.entries(PACKAGES)) {
  const [pack] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: `${ROOT}/${dir}`, encoding: "utf8" }));
  const files = new Set(pack.files.map((file) => file.path));
  const missing = [...needed, "package.json", "README.md", "LICENSE-MIT", "LICENSE-APACHE", "CHANGELOG.md"].filter((file) => !files.has(file));
  console.log(`${pack.name}@${pack.version}: ${pack.files.length} files, ${pack.size.toLocaleString("en-US")} B packed${missing.length ? `; MISSING ${missing.join(", ")}` : ""}`);
  if (missing.length) failed = true;
}
if (failed) process.exit(1);
