#!/usr/bin/env python3
"""Times wasmchart against real Helm on the same stack, for every environment.

wasmchart renders examples/imprun (five WebAssembly components) as a whole
`wasmchart render` process with a warm compile cache; Helm (v4 Go SDK through
helm-python-sdk, in process, so without even a process start) renders the Go
template twin examples/imprun-helm with the same values. Prints the median of
--runs runs of each and their ratio. The machines this runs on are noisy:
compare ratios, not absolute times.

    scripts/bench_vs_helm.py --wasmchart target/release/wasmchart [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import helm_twin_check as twin


def time_wasmchart(binary: str, env: str, cache: str, runs: int) -> float:
    environ = dict(os.environ, WASMCHART_SECRET_KEY=twin.SECRET_KEY, WASMCHART_CACHE_DIR=cache)
    for secret_id, keys in twin.OAUTH.items():
        for key, value in keys.items():
            environ[f"{secret_id.upper()}_{key}"] = value
    cmd = [binary, "render", str(twin.CHART), "--env", env, "--release", twin.RELEASE]
    subprocess.run(cmd, env=environ, check=True, capture_output=True)  # fills the cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=environ, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def helm_values(files: list[str]) -> dict:
    """The values render_helm passes to Helm, prepared once outside the timing."""
    values: dict = {}
    for name in files:
        values = twin.merge(values, twin.load_yaml(twin.TWIN / name))
    oauth = {sid: {"keys": {k: {"value": v} for k, v in keys.items()}} for sid, keys in twin.OAUTH.items()}
    return twin.merge(values, {"secrets": {"items": oauth}})


def time_helm(env: str, spec: dict, runs: int) -> float:
    values = helm_values(twin.env_files(env, spec))
    namespace = twin.env_namespace(env, spec)

    def render() -> None:
        twin.helm.Chart.load(str(twin.TWIN)).render(values, name=twin.RELEASE, namespace=namespace)

    render()  # warm-up: loads the Go runtime
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        render()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wasmchart", default="target/release/wasmchart", help="wasmchart binary")
    parser.add_argument("--runs", type=int, default=20, help="runs per measurement (default 20)")
    args = parser.parse_args()
    if not os.path.exists(args.wasmchart):
        print(f"bench_vs_helm: no binary at {args.wasmchart}: cargo build --release -p wasmchart", file=sys.stderr)
        return 2
    print(f"{'env':<8} {'wasmchart (process)':>20} {'helm (in process)':>18} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as cache:
        for env, spec in twin.environments().items():
            ours = time_wasmchart(args.wasmchart, env, cache, args.runs)
            theirs = time_helm(env, spec, args.runs)
            print(f"{env:<8} {ours * 1000:>17.1f} ms {theirs * 1000:>15.1f} ms {ours / theirs:>6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
