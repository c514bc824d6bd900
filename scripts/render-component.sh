#!/usr/bin/env bash
# Renders one component through the real wasmchart host, for a component's
# own tests: wraps it in a throwaway umbrella chart with a single subchart and
# runs `wasmchart render` on it.
#
# Usage:
#   scripts/render-component.sh [options] COMPONENT.wasm [VALUES.yaml] [-- RENDER-ARGS...]
#
#   VALUES.yaml       the subchart's own values.yaml (its defaults); none: {}
#   RENDER-ARGS       passed to `wasmchart render` as they are, e.g.
#                     --set NAME.replicaCount=3, -f umbrella-values.yaml,
#                     --release demo, -n demo, -o json
# Options:
#   --name NAME           subchart name (default: the file name without .wasm)
#   --version VERSION     subchart version (default 0.1.0)
#   --app-version VER     subchart appVersion (default 1.0.0)
#   --files DIR           the subchart's files/ folder (read-only in the sandbox)
#   --keep                keep the chart folder and print its path on stderr
#
# The host is $WASMCHART when set, else `wasmchart` on PATH, else the
# workspace's own binary through `cargo run`.
set -euo pipefail

die() { printf 'render-component: error: %s\n' "$*" >&2; exit 2; }

name="" version=0.1.0 app_version=1.0.0 files="" keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --name) name=${2:?--name needs a value}; shift 2 ;;
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --app-version) app_version=${2:?--app-version needs a value}; shift 2 ;;
    --files) files=${2:?--files needs a folder}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) die "missing COMPONENT.wasm before --" ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || die "missing COMPONENT.wasm (see --help)"
component=$1; shift
values=""
if [ $# -gt 0 ] && [ "$1" != -- ]; then values=$1; shift; fi
if [ $# -gt 0 ]; then
  [ "$1" = -- ] || die "unexpected argument '$1'; put wasmchart arguments after --"
  shift
fi

[ -f "$component" ] || die "component '$component' not found"
[ -z "$values" ] || [ -f "$values" ] || die "values file '$values' not found"
[ -z "$files" ] || [ -d "$files" ] || die "files folder '$files' not found"
[ -n "$name" ] || name=$(basename "$component" .wasm)
[[ $name =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "subchart name '$name' is not a valid chart name; pass --name"

root=$(cd "$(dirname "$0")/.." && pwd)
chart=$(mktemp -d "${TMPDIR:-/tmp}/wasmchart-component.XXXXXX")
if [ "$keep" = 1 ]; then
  printf 'render-component: chart kept in %s\n' "$chart" >&2
else
  trap 'rm -rf "$chart"' EXIT
fi

mkdir -p "$chart/charts/$name"
cat >"$chart/Chart.yaml" <<YAML
apiVersion: v2
name: component-test
version: 0.1.0
dependencies:
  - name: $name
    version: "$version"
    repository: "file://./charts/$name"
YAML
echo '{}' >"$chart/values.yaml"
cat >"$chart/charts/$name/Chart.yaml" <<YAML
apiVersion: v2
name: $name
version: "$version"
appVersion: "$app_version"
component: $name.wasm
YAML
cp "$component" "$chart/charts/$name/$name.wasm"
if [ -n "$values" ]; then cp "$values" "$chart/charts/$name/values.yaml"; else echo '{}' >"$chart/charts/$name/values.yaml"; fi
[ -z "$files" ] || cp -R "$files" "$chart/charts/$name/files"

if [ -n "${WASMCHART:-}" ]; then
  host=("$WASMCHART")
elif command -v wasmchart >/dev/null 2>&1; then
  host=(wasmchart)
else
  host=(cargo run --quiet --manifest-path "$root/Cargo.toml" -p wasmchart --)
fi
# Not exec: the EXIT trap removes the chart folder afterwards.
"${host[@]}" render "$chart" "$@"
