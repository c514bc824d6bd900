#!/usr/bin/env bash
# Runs every test wasmchart has: installs what this machine lacks and builds
# every component (scripts/setup.sh), then the Rust test suite (host, values
# engine, services, sandbox, the imprun example) and the Helm twin check.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo test --workspace --locked
.venv/bin/python scripts/helm_twin_check.py
