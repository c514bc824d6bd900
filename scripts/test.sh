#!/usr/bin/env bash
# Runs every test wasmchart has: installs what this machine lacks and builds
# every component (scripts/setup.sh), then the Rust test suite (values
# engine, services, sandbox, the binary end to end, the five example
# components, the imprun example, the guest SDK), the JavaScript and Python
# components' own unit tests, and the Helm twin equivalence check.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cargo test --workspace --locked
cargo test --manifest-path plugins/Cargo.toml --locked -p wasmchart-sdk
(cd plugins/js && npm test --silent)
(cd plugins/python/imp-runtime-exporter && ../../../.venv/bin/python -m unittest --quiet)
.venv/bin/python scripts/helm_twin_check.py
