#!/usr/bin/env bash
# Installs what this machine lacks to build and test wasmchart, then builds
# every subchart component. Idempotent: a second run only checks.
#
#   - the Rust target wasm32-wasip2 (Rust guests);
#   - plugins/js/node_modules from the committed package-lock.json (npm ci):
#     componentize-js, componentize-qjs and jco at pinned versions (JavaScript
#     guests);
#   - a Python virtual environment .venv at the repository root with
#     plugins/python/requirements.txt (componentize-py, Python guests) and
#     scripts/requirements-check.txt (the Helm twin and schema checks);
#   - then scripts/build-components.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Debian packages for a tool that is missing, when this shell may install them.
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: $*"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    die "missing $*; install it and run scripts/setup.sh again"
  fi
}

setup_rust() {
  command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust with rustup first"
  command -v rustup >/dev/null 2>&1 || die "rustup not found; it is needed to add the wasm32-wasip2 target"
  if rustup target list --installed | grep -qx wasm32-wasip2; then
    say "rust target wasm32-wasip2: present"
  else
    say "rust target wasm32-wasip2: adding"
    rustup target add wasm32-wasip2
  fi
}

setup_js() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  local stamp=plugins/js/node_modules/.package-lock.json
  if [ -f "$stamp" ] && [ "$stamp" -nt plugins/js/package-lock.json ] && [ "$stamp" -nt plugins/js/package.json ]; then
    say "javascript toolchain (plugins/js/node_modules): up to date"
  else
    say "javascript toolchain: npm ci in plugins/js"
    (cd plugins/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

setup_python() {
  command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
  if [ ! -x .venv/bin/python ]; then
    say "python: creating .venv"
    python3 -m venv .venv 2>/dev/null || { apt_install python3-venv && python3 -m venv .venv; }
  fi
  local reqs=(plugins/python/requirements.txt)
  if [ -f scripts/requirements-check.txt ]; then
    reqs+=(scripts/requirements-check.txt)
  else
    say "python: scripts/requirements-check.txt not found, skipping it"
  fi
  local want have
  want=$(cat "${reqs[@]}" | sha256sum | cut -d' ' -f1)
  have=$(cat .venv/.requirements.sha256 2>/dev/null || true)
  if [ "$want" = "$have" ]; then
    say "python packages (.venv): up to date"
    return
  fi
  say "python: pip install ${reqs[*]}"
  local args=()
  for r in "${reqs[@]}"; do args+=(-r "$r"); done
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "${args[@]}"
  echo "$want" >.venv/.requirements.sha256
}

# The OCI tests (host/tests/all/oci.rs) start a real registry: the CNCF Distribution
# registry Debian packages as docker-registry.
setup_registry() {
  command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || apt_install docker-registry
}

setup_rust
setup_js
setup_python
setup_registry
say "building components"
scripts/build-components.sh
say "done"
