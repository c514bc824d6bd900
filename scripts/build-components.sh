#!/usr/bin/env bash
# Builds every subchart component from source and installs each one as
# examples/imprun/charts/<sub>/<sub>.wasm (gitignored), where the umbrella's
# subchart Chart.yaml files point with `component:`.
#
#   Rust        plugins/Cargo.toml workspace     -> target/guests/wasm32-wasip2/release/
#   JavaScript  plugins/js/<name>/component.js   -> target/guests/js/<name>.wasm (QuickJS)
#   Python      plugins/python/<name>/app.py     -> target/guests/python/<name>.wasm
#
# Work that is up to date is skipped (cargo decides for Rust; JS and Python
# components are rebuilt when a source, the WIT or a pinned tool changed).
# Each install records, in target/guests/stamps/<sub>, a content hash of the
# component's sources and of the installed .wasm; the host tests recompute
# both and refuse to test a component whose sources changed since.
# Usage: scripts/build-components.sh [--force]
# Toolchains come from scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=target/guests
FORCE=0
case "${1:-}" in
  --force) FORCE=1 ;;
  "") ;;
  *) echo "usage: scripts/build-components.sh [--force]" >&2; exit 2 ;;
esac

# subchart, language, build output relative to $OUT
COMPONENTS=(
  "mongodb rust wasm32-wasip2/release/mongodb.wasm"
  "redis rust wasm32-wasip2/release/redis.wasm"
  "imprun-server rust wasm32-wasip2/release/imprun_server.wasm"
  "imprun-console js js/imprun-console.wasm"
  "imp-runtime-exporter python python/imp-runtime-exporter.wasm"
)

say() { printf 'build-components: %s\n' "$*"; }
die() { printf 'build-components: error: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
elapsed() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f s", (b - a) / 1000 }'; }

# Files under a component's folders that are not built into it: caches,
# installed packages and the component's own unit tests.
NOT_INPUTS=(-not -path '*/__pycache__/*' -not -path '*/node_modules/*' -not -path '*/test/*' -not -path '*/tests/*')

# True when $1 is missing or older than any file under the other arguments.
stale() {
  local out=$1; shift
  [ "$FORCE" = 1 ] && return 0
  [ -f "$out" ] || return 0
  [ -n "$(find "$@" -type f -newer "$out" "${NOT_INPUTS[@]}" -print -quit)" ]
}

build_rust() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust, then run scripts/setup.sh"
  if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
    die "the Rust target wasm32-wasip2 is not installed; run scripts/setup.sh"
  fi
  local t0; t0=$(now_ms)
  say "rust: cargo build (plugins workspace, wasm32-wasip2, release)"
  CARGO_TARGET_DIR=$OUT cargo build --quiet --manifest-path plugins/Cargo.toml --workspace \
    --target wasm32-wasip2 --release
  say "rust: done in $(elapsed "$t0")"
}

build_js() {
  local name=$1 out=$OUT/js/$1.wasm
  [ -d plugins/js/node_modules/componentize-qjs ] ||
    die "the JavaScript toolchain is missing (plugins/js/node_modules); run scripts/setup.sh"
  command -v node >/dev/null 2>&1 || die "node not found; run scripts/setup.sh"
  if ! stale "$out" "plugins/js/$name" plugins/js/build.mjs plugins/js/package-lock.json wit; then
    say "js: $name is up to date"
    return
  fi
  say "js: componentize $name"
  node plugins/js/build.mjs --out "$OUT/js" "$name" | sed 's/^/build-components: js: /'
}

build_python() {
  local name=$1 out=$OUT/python/$1.wasm
  [ -x .venv/bin/componentize-py ] ||
    die "the Python toolchain is missing (.venv/bin/componentize-py); run scripts/setup.sh"
  if ! stale "$out" "plugins/python/$name" plugins/python/requirements.txt wit; then
    say "python: $name is up to date"
    return
  fi
  local t0; t0=$(now_ms)
  say "python: componentize $name"
  mkdir -p "$OUT/python"
  # --stub-wasi: the component imports nothing but the contract (no clocks,
  # randomness, stdio, files or sockets), so its output depends on its input.
  # VIRTUAL_ENV is unset so no installed package is bundled by accident.
  env -u VIRTUAL_ENV .venv/bin/componentize-py --quiet -d wit -w subchart componentize app \
    -p "plugins/python/$name" --stub-wasi -o "$out.tmp"
  mv "$out.tmp" "$out"
  say "python: built $name.wasm ($(wc -c <"$out") bytes) in $(elapsed "$t0")"
}

# The source files a component is built from, by language (see the header).
inputs() {
  case $2 in
    rust) echo plugins/Cargo.toml plugins/Cargo.lock plugins/sdk "plugins/components/$1" wit ;;
    js) echo plugins/js/build.mjs plugins/js/package-lock.json "plugins/js/$1" wit ;;
    python) echo plugins/python/requirements.txt "plugins/python/$1" wit ;;
  esac
}

# SHA-256 over the `sha256sum` lines of every file under the arguments,
# sorted by path: host/tests/all/imprun.rs computes the same.
inputs_hash() {
  find "$@" -type f "${NOT_INPUTS[@]}" -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

# Records what the installed component was built from (written atomically).
stamp_component() {
  local sub=$1 lang=$2 stamps=$OUT/stamps
  mkdir -p "$stamps"
  # shellcheck disable=SC2046 # inputs are space-free repository paths
  {
    printf 'inputs %s\n' "$(inputs_hash $(inputs "$sub" "$lang"))"
    printf 'wasm %s\n' "$(sha256sum <"examples/imprun/charts/$sub/$sub.wasm" | cut -d' ' -f1)"
  } >"$stamps/$sub.tmp"
  mv "$stamps/$sub.tmp" "$stamps/$sub"
}

install_component() {
  local sub=$1 built=$OUT/$2 dir=examples/imprun/charts/$1
  if [ ! -f "$built" ]; then
    case $built in
      */wasm32-wasip2/*) die "component '$sub' was not built: expected $built from the crate plugins/components/$sub" ;;
      *) die "component '$sub' was not built: expected $built" ;;
    esac
  fi
  [ -d "$dir" ] || die "no subchart directory $dir for component $sub"
  if cmp -s "$built" "$dir/$sub.wasm"; then
    return
  fi
  cp "$built" "$dir/$sub.wasm"
  say "installed $dir/$sub.wasm ($(wc -c <"$built") bytes)"
}

# Test fixtures built with the wasmchart-component helpers (host tests
# guest_errors.rs): plugins/{js,python}/fixtures/<name> -> $OUT/{js,python}/<name>.wasm
build_js_fixture() {
  local name=$1 out=$OUT/js/$1.wasm helper=plugins/js/wasmchart-component
  if ! stale "$out" "plugins/js/fixtures/$name" "$helper/src" "$helper/bin" "$helper/wit" plugins/js/package-lock.json; then
    say "js: fixture $name is up to date"
    return
  fi
  mkdir -p "$OUT/js"
  node "$helper/bin/wasmchart-build-js.mjs" "plugins/js/fixtures/$name/component.js" -o "$out" |
    sed 's/^/build-components: js: /'
}

build_python_fixture() {
  local name=$1 out=$OUT/python/$1.wasm helper=plugins/python/wasmchart-component
  if ! stale "$out" "plugins/python/fixtures/$name" "$helper/wasmchart_component" plugins/python/requirements.txt; then
    say "python: fixture $name is up to date"
    return
  fi
  mkdir -p "$OUT/python"
  .venv/bin/python "$helper/wasmchart_component/build.py" "plugins/python/fixtures/$name/app.py" -o "$out" |
    sed 's/^/build-components: python: /'
}

build_rust
build_js_fixture guest-errors
build_python_fixture guest-errors
for entry in "${COMPONENTS[@]}"; do
  read -r sub lang _ <<<"$entry"
  case $lang in
    js) build_js "$sub" ;;
    python) build_python "$sub" ;;
  esac
done
for entry in "${COMPONENTS[@]}"; do
  read -r sub lang built <<<"$entry"
  install_component "$sub" "$built"
  stamp_component "$sub" "$lang"
done
say "all components built"
