#!/usr/bin/env python3
"""Times wasmchart against real Helm on the same stack, for every environment.

wasmchart renders examples/imprun (five WebAssembly components) as a whole
`wasmchart render` process with a warm compile cache, timed twice: with
every component run (`--no-render-cache`, column "run") and with the render
cache recalling every output, as for a render whose inputs did not change
(column "unchanged"); Helm (v4 Go SDK through
helm-python-sdk, in process, so without even a process start) renders the Go
template twin examples/imprun-helm with the same values. Prints the median of
--runs runs of each and the ratios. The machines this runs on are noisy: the
three are timed in turn, one sample of each per round, so a slow spell of the
machine falls on all of them alike, and each ratio is the median of the
rounds' ratios (paired), not a ratio of medians taken at different moments.
Compare ratios, not absolute times.

--aliases N,... adds synthetic umbrellas of N aliases of the Redis subchart
(wasmchart: the redis component; Helm: the twin's Go templates), every alias
with its own name and no secrets, so both sides render the same 2N objects
(checked before timing). It measures what grows with the number of
subcharts: values, loading, rendering, parsing and emitting.

--cold N times N cold renders of `--env prod`, each with an empty cache (and no
render cache), killing the background compiles each one leaves before the next.

    scripts/bench_vs_helm.py --wasmchart target/release/wasmchart [--runs 20] [--aliases 50,500] [--cold 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import helm_twin_check as twin


def compile_children() -> int:
    """How many background compile children (tiered compilation's upgrades) are running."""
    count = 0
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"__compile-component" in f.read():
                    count += 1
        except OSError:
            continue
    return count


def settle(cmd: list[str], environ: dict) -> str:
    """Runs `cmd` until it leaves no compile child behind: the first run compiles the fast tier
    and starts the optimising compile in the background; timing before it ends would measure
    the fast tier and a busy core. Returns the last run's output."""
    for _ in range(10):
        out = subprocess.run(cmd, env=environ, check=True, capture_output=True, text=True).stdout
        if not compile_children():
            return out
        while compile_children():
            time.sleep(0.2)
    return out


def kill_compiles(cache: str) -> None:
    """Kills the background compile children writing into `cache` (their command line names it)."""
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"__compile-component" in args and cache.encode() in args:
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass


def time_cold(binary: str, runs: int) -> list[float]:
    """Wall times of `runs` renders of `--env prod`, each with its own empty cache directory."""
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            cmd, environ = wasmchart_env(binary, "prod", cache)
            start = time.perf_counter()
            subprocess.run(cmd, env=environ, check=True, capture_output=True)
            samples.append(time.perf_counter() - start)
            kill_compiles(cache)
            time.sleep(0.5)
    return samples


def wasmchart_env(binary: str, env: str, cache: str) -> tuple[list[str], dict]:
    """The command and environment of a `render --env ENV` of the example."""
    environ = dict(os.environ, WASMCHART_SECRET_KEY=twin.SECRET_KEY, WASMCHART_CACHE_DIR=cache)
    for secret_id, keys in twin.OAUTH.items():
        for key, value in keys.items():
            environ[f"{secret_id.upper()}_{key}"] = value
    return [binary, "render", str(twin.CHART), "--env", env, "--release", twin.RELEASE], environ


def process(cmd: list[str], environ: dict):
    """A sample function that runs `cmd` once as a whole process."""
    return lambda: subprocess.run(cmd, env=environ, check=True, capture_output=True)


def interleaved(samplers: list, runs: int) -> list[list[float]]:
    """Wall times of each sampler over `runs` rounds, each round timing every sampler once in
    turn: a slow spell of the machine then lands on all of them, not on one side's block."""
    samples: list[list[float]] = [[] for _ in samplers]
    for _ in range(runs):
        for sampler, times in zip(samplers, samples):
            start = time.perf_counter()
            sampler()
            times.append(time.perf_counter() - start)
    return samples


def paired_ratio(ours: list[float], theirs: list[float]) -> float:
    """The median of the rounds' ratios ours/theirs."""
    return statistics.median(a / b for a, b in zip(ours, theirs))


def alias_umbrellas(root: str, n: int) -> tuple[str, str, dict]:
    """Two umbrellas with N aliases of redis: (wasmchart chart, Helm chart, values)."""
    values = {f"r{i}": {"fullnameOverride": f"redis-{i}", "auth": {"enabled": False}, "usesSecrets": []}
              for i in range(n)}
    deps = "".join(f"  - {{name: redis, alias: r{i}, version: 0.1.0, repository: file://./charts/redis}}\n"
                   for i in range(n))
    charts = []
    for side, source in (("wasmchart", twin.CHART), ("helm", twin.TWIN)):
        chart = os.path.join(root, f"{side}-{n}")
        os.makedirs(os.path.join(chart, "charts"))
        shutil.copytree(source / "charts" / "redis", os.path.join(chart, "charts", "redis"))
        with open(os.path.join(chart, "Chart.yaml"), "w", encoding="utf-8") as f:
            f.write(f"apiVersion: v2\nname: aliases\nversion: 0.1.0\ndependencies:\n{deps}")
        with open(os.path.join(chart, "values.yaml"), "w", encoding="utf-8") as f:
            twin.yaml.safe_dump(values, f)
        open(os.path.join(chart, "values-bench.yaml"), "w", encoding="utf-8").close()
        charts.append(chart)
    return charts[0], charts[1], values


def time_aliases(binary: str, n: int, cache: str, runs: int) -> tuple[list[list[float]], int]:
    """The samples of (wasmchart run, wasmchart unchanged, helm) for the N-alias umbrella, and
    how many objects each side renders (they must match)."""
    with tempfile.TemporaryDirectory() as root:
        ours_chart, helm_chart, values = alias_umbrellas(root, n)
        environ = dict(os.environ, WASMCHART_SECRET_KEY=twin.SECRET_KEY, WASMCHART_CACHE_DIR=cache)
        cmd = [binary, "render", ours_chart, "--env", "bench", "--release", "aliases"]
        text = settle([*cmd, "--no-render-cache"], environ)
        if settle(cmd, environ) != text:
            raise SystemExit(f"bench_vs_helm: the {n}-alias umbrella renders differently from the render cache")
        namespace = "aliases-bench"

        def render() -> dict:
            return twin.helm.Chart.load(helm_chart).render(values, name="aliases", namespace=namespace)

        rendered = render()
        theirs_objects = [twin.key(o) for source in sorted(rendered) for _, o in twin.split_stream(rendered[source], source)]
        ours_objects = [twin.key(o) for _, o in twin.split_stream(text, "wasmchart")]
        if sorted(map(str, ours_objects)) != sorted(map(str, theirs_objects)):
            raise SystemExit(f"bench_vs_helm: the {n}-alias umbrellas render different objects "
                             f"({len(ours_objects)} here, {len(theirs_objects)} from Helm)")
        samples = interleaved(
            [process([*cmd, "--no-render-cache"], environ), process(cmd, environ), render], runs)
        return samples, len(ours_objects)


def helm_values(files: list[str]) -> dict:
    """The values render_helm passes to Helm, prepared once outside the timing."""
    values: dict = {}
    for name in files:
        values = twin.merge(values, twin.load_yaml(twin.TWIN / name))
    oauth = {sid: {"keys": {k: {"value": v} for k, v in keys.items()}} for sid, keys in twin.OAUTH.items()}
    return twin.merge(values, {"secrets": {"items": oauth}})


def helm_env(env: str, spec: dict):
    """A sample function rendering the Helm twin for `env` in process, warmed up once."""
    values = helm_values(twin.env_files(env, spec))
    namespace = twin.env_namespace(env, spec)

    def render() -> None:
        twin.helm.Chart.load(str(twin.TWIN)).render(values, name=twin.RELEASE, namespace=namespace)

    render()  # warm-up: loads the Go runtime
    return render


def time_env(binary: str, env: str, spec: dict, cache: str, runs: int) -> list[list[float]]:
    """The samples of (wasmchart run, wasmchart unchanged, helm) for one environment of the example."""
    cmd, environ = wasmchart_env(binary, env, cache)
    settle([*cmd, "--no-render-cache"], environ)  # fills the compile cache
    settle(cmd, environ)  # fills the render cache
    return interleaved([process([*cmd, "--no-render-cache"], environ), process(cmd, environ),
                        helm_env(env, spec)], runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wasmchart", default="target/release/wasmchart", help="wasmchart binary")
    parser.add_argument("--runs", type=int, default=20, help="runs per measurement (default 20)")
    parser.add_argument("--aliases", default="", help="comma-separated N for N-alias umbrellas (e.g. 50,500)")
    parser.add_argument("--no-envs", action="store_true", help="skip the example's environments")
    parser.add_argument("--cold", type=int, default=0, help="cold renders of --env prod to time (default 0)")
    args = parser.parse_args()
    if not os.path.exists(args.wasmchart):
        print(f"bench_vs_helm: no binary at {args.wasmchart}: cargo build --release -p wasmchart", file=sys.stderr)
        return 2
    print(f"{'':<8} {'wasmchart (process)':>24} {'helm':>12} {'ratio':>15}")
    print(f"{'work':<8} {'run':>11} {'unchanged':>12} {'(in process)':>12} {'run':>7} {'unchanged':>9}")

    def row(label: str, samples: list[list[float]], tail: str = "") -> None:
        ours, recalled, theirs = samples
        medians = [statistics.median(s) * 1000 for s in samples]
        print(f"{label:<8} {medians[0]:>8.1f} ms {medians[1]:>9.1f} ms {medians[2]:>9.1f} ms"
              f" {paired_ratio(ours, theirs):>6.2f}x {paired_ratio(recalled, theirs):>8.2f}x{tail}")

    with tempfile.TemporaryDirectory() as cache:
        for env, spec in ({} if args.no_envs else twin.environments()).items():
            row(env, time_env(args.wasmchart, env, spec, cache, args.runs))
        for n in (int(x) for x in args.aliases.split(",") if x.strip()):
            samples, objects = time_aliases(args.wasmchart, n, cache, args.runs)
            row(f"N={n}", samples, f"  ({objects} objects each)")
    if args.cold:
        samples = time_cold(args.wasmchart, args.cold)
        print(f"cold prod, empty cache: median {statistics.median(samples):.2f} s "
              f"(min {min(samples):.2f}, max {max(samples):.2f}, {len(samples)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
