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

# `node --test` and `python -m unittest` exit 0 when they find no test at all,
# so a renamed or moved test file would pass silently: each runner's own
# count must be positive.
fail() { printf 'test: error: %s\n' "$*" >&2; exit 1; }

js_out=$(cd plugins/js && npm test --silent -- --test-reporter=tap 2>&1) ||
  { printf '%s\n' "$js_out"; fail "JavaScript component tests failed (cd plugins/js && npm test)"; }
js_count=$(sed -n 's/^# tests \([0-9][0-9]*\)$/\1/p' <<<"$js_out" | tail -n 1)
[ "${js_count:-0}" -gt 0 ] ||
  { printf '%s\n' "$js_out"; fail "plugins/js: node --test ran no test (expected plugins/js/*/test/*.test.js)"; }
echo "test: JavaScript components: $js_count tests passed"

py_out=$(cd plugins/python/imp-runtime-exporter && ../../../.venv/bin/python -m unittest 2>&1) ||
  { printf '%s\n' "$py_out"; fail "Python component tests failed (cd plugins/python/imp-runtime-exporter && python -m unittest)"; }
py_count=$(sed -n 's/^Ran \([0-9][0-9]*\) tests\{0,1\} in .*/\1/p' <<<"$py_out" | tail -n 1)
[ "${py_count:-0}" -gt 0 ] ||
  { printf '%s\n' "$py_out"; fail "plugins/python/imp-runtime-exporter: python -m unittest ran no test (expected tests/test_*.py)"; }
echo "test: Python components: $py_count tests passed"

pyh_out=$(cd plugins/python/wasmchart-component && ../../../.venv/bin/python -m unittest 2>&1) ||
  { printf '%s\n' "$pyh_out"; fail "Python helper tests failed (cd plugins/python/wasmchart-component && python -m unittest)"; }
pyh_count=$(sed -n 's/^Ran \([0-9][0-9]*\) tests\{0,1\} in .*/\1/p' <<<"$pyh_out" | tail -n 1)
[ "${pyh_count:-0}" -gt 0 ] ||
  { printf '%s\n' "$pyh_out"; fail "plugins/python/wasmchart-component: python -m unittest ran no test"; }
echo "test: Python helper (wasmchart-component): $pyh_count tests passed"

.venv/bin/python scripts/helm_twin_check.py
