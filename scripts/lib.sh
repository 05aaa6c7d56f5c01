# Shared by scripts/demo and scripts/test: installs what the project needs
# and is missing. Every step checks first, so a second run installs nothing.
# shellcheck shell=bash

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# Two cores: more jobs only thrash.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_rust() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  local component
  # rust-src: the package's wasm rebuilds std for size (see build_pkg).
  for component in rustfmt clippy rust-src; do
    if ! rustup component list --installed | grep -q "^$component"; then
      step "installing $component"
      rustup component add "$component"
    fi
  done
}

# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$ROOT/Cargo.lock"
}

ensure_wasm_bindgen() {
  local want
  want=$(wasm_bindgen_version)
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $want" ] \
    || ! command -v wasm-bindgen-test-runner >/dev/null; then
    step "installing wasm-bindgen-cli $want (about 5 minutes)"
    # No --locked: the registry mirror lacks one of its pinned dependencies.
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

ensure_chromium() {
  # fonts-noto-cjk: without a Japanese font, screens and screenshots show tofu.
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
    || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
    step "installing Debian's chromium, chromium-driver and a Japanese font"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium chromium-driver fonts-noto-cjk
  fi
}

ensure_npm() {
  # package-lock.json pins every version; node_modules/.package-lock.json is
  # npm's record of what was installed from it.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step "installing npm packages (package-lock.json)"
    npm ci --no-audit --no-fund
  fi
}

ensure_bundler_tests() {
  # The bundler suite's own packages (Vite 6 and 8, webpack 5, Vitest,
  # jsdom), pinned in tests/bundlers/package-lock.json, as ensure_npm does.
  local dir=tests/bundlers
  if [ ! -f "$dir/node_modules/.package-lock.json" ] \
    || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    step "installing the bundler tests' npm packages ($dir/package-lock.json)"
    npm ci --no-audit --no-fund --prefix "$dir"
  fi
}

# The wasm features that Rust's wasm32 target emits and every current
# browser runs; wasm-opt must be told, or it refuses the module.
WASM_OPT_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)

# The package's cfgs, which scripts/test's clippy also builds with.
# RUSTFLAGS replaces .cargo/config.toml's, so erase_components is repeated
# here. english_on_demand leaves the English text out of both modules:
# en.js brings it when a page asks (src/i18n.rs).
# split_agreement marks what only 同意 runs as a split point, which
# wasm-split-cli moves into a module of its own (src/js/consent.rs).
PKG_CFG=(--cfg erase_components --cfg english_on_demand --cfg split_agreement)
# The package's rustc flags: its cfgs, std's size flags, and the relocations
# wasm-split-cli reads (build_pkg). Both modules take the same flags, so
# that building one after the other does not rebuild std and every crate.
PKG_RUSTFLAGS=("${PKG_CFG[@]}" -Zunstable-options
  -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none
  -Clink-arg=--emit-relocs)

# wasm-split-cli, from wasm_split_cli_support: the splitter that Leptos's
# own #[lazy] is made for (its runtime, wasm_split_helpers, comes with
# Leptos). It rewrites the linked module at its split points into a main
# module and one module per split, and writes the JavaScript that loads
# them (__wasm_split.js).
WASM_SPLIT_VERSION=0.2.4

ensure_wasm_split() {
  # grep reads all of cargo's list (no -q): under pipefail, cargo must not
  # be cut off early.
  if ! cargo install --list | grep -Fx "wasm_split_cli_support v$WASM_SPLIT_VERSION:" >/dev/null; then
    step "installing wasm-split-cli $WASM_SPLIT_VERSION (about a minute)"
    # --locked: the tool rewrites the module the package ships, so it is
    # built from the dependencies its authors tested.
    cargo install --locked wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --features build-binary
  fi
}

# Builds the SDK's npm package into pkg/: release wasm, bindings, wasm-opt
# (binaryen from npm: Debian's is too old), and pkg-template/.
build_pkg() {
  step "building the npm package into pkg/: the consent module and the account module"
  # -Cpanic=immediate-abort came with Rust 1.92; unstable flags can change
  # with the toolchain, so say which one this build was made with.
  local minor
  minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
  if [ "$minor" -lt 92 ]; then
    echo "the package build needs Rust 1.92 or later (for -Cpanic=immediate-abort); this is $(rustc --version)" >&2
    return 1
  fi
  rm -rf pkg
  local part
  for part in consent account; do
    # One crate, two feature sets: each module holds only its own screens.
    # std is rebuilt for size with the toolchain's own sources, so that a
    # panic is a bare trap: no messages, no locations, no Debug text and none
    # of the formatting code they need (about 25 KB gzip a module, see
    # docs/size.md). These flags are unstable; RUSTC_BOOTSTRAP lets the
    # stable toolchain take them, and they only touch this release build.
    RUSTC_BOOTSTRAP=1 RUSTFLAGS="${PKG_RUSTFLAGS[*]}" \
      cargo build --release --lib --target wasm32-unknown-unknown \
      -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
      --no-default-features --features "$(pkg_feature "$part")"
    # wasm-split-cli reads the relocations the link kept and writes a
    # standard module without them, split at the module's split points:
    # the consent module's agreement goes into split_agree.wasm, which the
    # screen fetches once it is shown (src/js/consent.rs); the account
    # module has none. A split module shares the main module's memory and
    # function table, which the main module must then still export after
    # wasm-bindgen (--keep-lld-exports). The loader wasm-split-cli writes
    # is merged into the glue, with each split module's SHA-256
    # (scripts/split-loader.mjs).
    rm -rf target/split && mkdir -p target/split
    wasm-split-cli --out-name "$part" target/wasm32-unknown-unknown/release/myna_consent.wasm target/split
    local splits want="" keep=()
    splits=$(cd target/split && find . -maxdepth 1 -name 'split_*.wasm' -printf '%f\n' | sort | tr '\n' ' ')
    if [ "$part" = consent ]; then want="split_agree.wasm "; fi
    if [ "$splits" != "$want" ]; then
      echo "wasm-split-cli split the $part module into [${splits}], not [${want}]: is --cfg split_agreement set, and does build_pkg know every split point?" >&2
      return 1
    fi
    if [ -n "$splits" ]; then keep=(--keep-lld-exports); fi
    wasm-bindgen --target web ${keep[@]+"${keep[@]}"} --out-dir pkg --out-name "$part" "target/split/$part.wasm"
    if [ -n "$splits" ]; then
      local split
      for split in $splits; do
        node_modules/.bin/wasm-opt -Oz "${WASM_OPT_FEATURES[@]}" --strip-debug --strip-producers \
          --strip-target-features -o "pkg/$split" "target/split/$split"
      done
      node scripts/split-loader.mjs "pkg/$part" target/split/__wasm_split.js
    fi
    # vendor/wasm-streams stands in for the wasm-streams that server_fn
    # brings, without its exported classes (Cargo.toml's [patch]).
    if grep -q IntoUnderlying "pkg/$part.js"; then
      echo "pkg/$part.js exports wasm-streams' classes: is the [patch] of wasm-streams still applied?" >&2
      return 1
    fi
    # Short import and export names (scripts/short-names.mjs): the
    # pass prints how it renamed them, for the glue. The producers and
    # target-features sections are for toolchains; browsers ignore them.
    node_modules/.bin/wasm-opt -Oz "${WASM_OPT_FEATURES[@]}" --minify-imports-and-exports-and-modules \
      --strip-producers --strip-target-features -o "pkg/${part}_bg.wasm" "pkg/${part}_bg.wasm" > "target/short-names-${part}.json"
    node scripts/short-names.mjs "pkg/$part" "target/short-names-${part}.json"
    # The glue's classes are internal (index.d.ts declares the API, and
    # takes only data types from here), but their `[Symbol.dispose]()`
    # needed TypeScript's "esnext.disposable" lib in every operator's
    # tsconfig that checks libraries. tests/types compiles without it.
    sed -i '/^    \[Symbol\.dispose\](): void;$/d' "pkg/$part.d.ts"
  done
  cp pkg-template/* pkg/
  minify_pkg
  package_extras pkg
  mkdir -p pkg/reference
  cp docs/reference/*.md pkg/reference/
}

# The scripts a page loads, minified as the peer we measure against ships
# its own (about 6 KB gzip less on the consent path), each with a source map
# that holds the readable source. Bundlers' hints survive: webpack's and
# Vite's comments on the dynamic imports, and index.js's Node-only import,
# whose specifier must stay a variable that bundlers cannot follow (hence
# no reduce_vars or collapse_vars). The test kit stays as written.
minify_pkg() {
  local file
  # From inside pkg/, so that each map names its source as the file beside it.
  for file in index.js elements.js consent.js account.js en.js; do
    (cd pkg && ../node_modules/.bin/terser "$file" --module --mangle \
      --compress reduce_vars=false,collapse_vars=false \
      --comments '/webpack[A-Z]|@vite-ignore|@ts-self-types/' \
      --source-map "includeSources,url='$file.map'" \
      -o "$file")
  done
}

# The licence texts and the changelog, which every published package carries: into pkg/, and
# into the wrappers' folders (ignored by git: the root holds the one copy).
package_extras() {
  cp LICENSE-MIT LICENSE-APACHE CHANGELOG.md "$1/"
}

prepare_wrappers() {
  local dir
  for dir in packages/react packages/vue; do
    package_extras "$dir"
  done
}

pkg_feature() {
  case "$1" in
    consent) echo consent-screen ;;
    account) echo account-screens ;;
  esac
}
