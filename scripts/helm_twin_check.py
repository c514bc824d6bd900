#!/usr/bin/env python3
"""Checks that examples/imprun (wasmchart) and examples/imprun-helm (Helm)
render the same Kubernetes objects, for every environment.

For each environment the umbrella's Chart.yaml declares (or --env):
1. the twin's values files must contain every setting of wasmchart's
   (same keys, same values; the twin may add keys of its own);
2. `wasmchart render examples/imprun --env ENV` is run, and the twin is
   rendered by Helm's own Go engine (PyPI helm-python-sdk, offline) with the
   same values files, release name and namespace;
3. the objects the subcharts produce (sources under `charts/`), and the
   umbrella-level Certificates and ExternalSecrets, are parsed and compared
   semantically: matched by apiVersion, kind, namespace and name; key order
   and YAML formatting do not matter, list order does.

Not compared, and why:
- the other umbrella-level objects, which wasmchart's host generates from
  `secrets:`: Secrets and SealedSecrets hold values classic Helm can neither
  derive stably nor seal, and the host's least-privilege ServiceAccounts,
  Roles and RoleBindings have no counterpart in the twin. They are listed.
- the labels that name the tool (`app.kubernetes.io/managed-by`,
  `helm.sh/chart`) and the host's own label naming the component
  (`wasmchart/component`, HOST_LABELS); every other label, including one
  that only one side sets, is compared;
- the annotation `wasmchart.dev/derived-for` (HOST_ANNOTATIONS) on the
  host's ExternalSecrets, naming the chart and environment their values
  were derived for, which Helm has no notion of;
- annotations `checksum/*` the host adds to pod templates, and other fields
  in HOST_INJECTED (the host-managed ServiceAccount a pod runs as), which
  Helm cannot compute.

The check cannot pass by comparing nothing: an environment with no object
compared, an object rendered twice on one side, or no environment at all
(neither `environments:` in the umbrella's Chart.yaml nor --env) fails it.

Exit status 0 when every environment matches, 1 on any difference (with a
readable diff), 2 when a renderer fails, the tools are missing or there is
no environment to check.

    .venv/bin/python scripts/helm_twin_check.py [--wasmchart BIN] [--env ENV]...
"""

from __future__ import annotations

import argparse
import copy
import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

try:
    import yaml
    import helm_python as helm
except ImportError as missing:  # pragma: no cover - reported to the user
    sys.exit(
        f"helm_twin_check: Python package missing ({missing.name}); run scripts/setup.sh "
        "(it installs scripts/requirements-check.txt into .venv) and use .venv/bin/python"
    )

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "examples" / "imprun"
TWIN = ROOT / "examples" / "imprun-helm"
RELEASE = "imprun"
# Inputs the render needs, identical for both sides. Not real secrets.
SECRET_KEY = "74776e2d636865636b2d726f6f742d6b65792d6e6f742d612d7265616c2d6b6579"
OAUTH = {
    "github": {"CLIENT_ID": "twin-github-id", "CLIENT_SECRET": "twin-github-secret"},
    "google": {"CLIENT_ID": "twin-google-id", "CLIENT_SECRET": "twin-google-secret"},
}
TOOL_LABELS = {"app.kubernetes.io/managed-by", "helm.sh/chart"}
# Labels the wasmchart host adds to every object, which Helm has no reason to set.
HOST_LABELS = {"wasmchart/component"}
# Umbrella-level kinds both sides render deterministically from the same values.
COMPARED_UMBRELLA_KINDS = {"Certificate", "ExternalSecret"}
# Annotations the host puts on its secret objects and Helm cannot.
HOST_ANNOTATIONS = {"wasmchart.dev/derived-for"}
# Pod-spec fields the host may set on components' pods and Helm cannot.
HOST_INJECTED = ("serviceAccountName",)


class Failure(Exception):
    """A renderer failed: not a difference, a broken check (exit 2)."""


def load_yaml(path: Path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def environments() -> dict[str, dict]:
    declared = load_yaml(CHART / "Chart.yaml").get("environments") or {}
    return {env: spec or {} for env, spec in declared.items()}


def env_files(env: str, spec: dict) -> list[str]:
    return list(spec.get("values") or [f"values-{env}.yaml"])


def env_namespace(env: str, spec: dict) -> str:
    return spec.get("namespace") or f"{load_yaml(CHART / 'Chart.yaml')['name']}-{env}"


# ---------------------------------------------------------------- values parity


def missing_settings(ours, theirs, path="") -> list[str]:
    """Settings in `ours` that `theirs` lacks or sets differently."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out = []
        for key, value in ours.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in theirs:
                out.append(f"{sub}: missing in the twin")
            else:
                out += missing_settings(value, theirs[key], sub)
        return out
    return [] if ours == theirs else [f"{path}: {ours!r} here, {theirs!r} in the twin"]


def values_parity(files: list[str]) -> list[str]:
    problems = []
    pairs = [("values.yaml", "values.yaml")] + [(f, f) for f in files]
    for sub in sorted(p.name for p in (CHART / "charts").iterdir() if p.is_dir()):
        pairs.append((f"charts/{sub}/values.yaml", f"charts/{sub}/values.yaml"))
    for ours, theirs in pairs:
        if not (TWIN / theirs).exists():
            problems.append(f"{theirs}: missing in the twin")
            continue
        for p in missing_settings(load_yaml(CHART / ours), load_yaml(TWIN / theirs)):
            problems.append(f"{ours}: {p}")
    return problems


# ---------------------------------------------------------------- rendering


def split_stream(text: str, default_source: str) -> list[tuple[str, dict]]:
    """(source, object) for each document of a `---`-separated stream."""
    out = []
    for chunk in re.split(r"(?m)^---[ \t]*$", text):
        match = re.search(r"(?m)^# Source: (.+)$", chunk)
        source = match.group(1).strip() if match else default_source
        doc = yaml.safe_load(chunk)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise Failure(f"{source}: a document is not a map")
        out.append((source, doc))
    return out


def render_wasmchart(binary: list[str], env: str) -> list[tuple[str, dict]]:
    environ = dict(os.environ, WASMCHART_SECRET_KEY=SECRET_KEY)
    for secret_id, keys in OAUTH.items():
        for key, value in keys.items():
            environ[f"{secret_id.upper()}_{key}"] = value
    cmd = binary + ["render", str(CHART), "--env", env, "--release", RELEASE]
    result = subprocess.run(cmd, cwd=ROOT, env=environ, capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"wasmchart render --env {env} failed (exit {result.returncode}):\n{result.stderr}")
    return split_stream(result.stdout, "wasmchart")


def merge(base, override):
    """Helm CLI's merge of successive -f files: maps merge, the rest replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(base.get(key), value)
        return out
    return copy.deepcopy(override)


def render_helm(files: list[str], namespace: str) -> list[tuple[str, dict]]:
    values: dict = {}
    for name in files:
        values = merge(values, load_yaml(TWIN / name))
    oauth = {
        sid: {"keys": {k: {"value": v} for k, v in keys.items()}} for sid, keys in OAUTH.items()
    }
    values = merge(values, {"secrets": {"items": oauth}})
    try:
        rendered = helm.Chart.load(str(TWIN)).render(values, name=RELEASE, namespace=namespace)
    except helm.HelmError as e:
        raise Failure(f"helm render of {TWIN.name} failed: {e}") from e
    out = []
    for source in sorted(rendered):
        out += split_stream(rendered[source], source)
    return out


# ---------------------------------------------------------------- comparison


def key(obj: dict) -> tuple:
    meta = obj.get("metadata") or {}
    return (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta.get("name"))


def show(k: tuple) -> str:
    api, kind, ns, name = k
    return f"{kind} {ns + '/' if ns else ''}{name} ({api})"


def label_maps(obj: dict):
    """Every metadata map that carries labels: the object, its pod template
    and its volume claim templates."""
    yield obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    template = spec.get("template")
    if isinstance(template, dict):
        yield template.setdefault("metadata", {})
    for claim in spec.get("volumeClaimTemplates") or []:
        yield claim.setdefault("metadata", {})


def normalise(ours: dict, theirs: dict) -> tuple[dict, dict]:
    """Copies of both objects with the differences that are by design
    removed (see the module docs)."""
    ours, theirs = copy.deepcopy(ours), copy.deepcopy(theirs)
    for maps, dropped in ((label_maps(ours), TOOL_LABELS | HOST_LABELS), (label_maps(theirs), TOOL_LABELS)):
        for m in maps:
            kept = {k: v for k, v in (m.get("labels") or {}).items() if k not in dropped}
            if kept:
                m["labels"] = kept
            else:
                m.pop("labels", None)
    own = ours.get("metadata") or {}
    kept = {k: v for k, v in (own.get("annotations") or {}).items() if k not in HOST_ANNOTATIONS}
    if kept:
        own["annotations"] = kept
    else:
        own.pop("annotations", None)
    template = (ours.get("spec") or {}).get("template")
    if isinstance(template, dict):
        meta = template.get("metadata") or {}
        notes = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("checksum/")}
        if notes:
            meta["annotations"] = notes
        else:
            meta.pop("annotations", None)
        pod, their_pod = template.get("spec") or {}, ((theirs.get("spec") or {}).get("template") or {}).get("spec") or {}
        for field in HOST_INJECTED:
            if field in pod and field not in their_pod:
                pod.pop(field)
    for obj in (ours, theirs):
        template = (obj.get("spec") or {}).get("template")
        if isinstance(template, dict) and template.get("metadata") == {}:
            template.pop("metadata")
    return ours, theirs


def dump(obj: dict) -> list[str]:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines()


def compared(source: str, obj: dict) -> bool:
    return "/charts/" in source or obj.get("kind") in COMPARED_UMBRELLA_KINDS


def by_key(side: str, rendered: list, problems: list[str]) -> dict:
    """The compared objects of one side by key; an object rendered twice is
    a problem, not silently one of the two."""
    out: dict = {}
    for source, obj in rendered:
        if not compared(source, obj):
            continue
        k = key(obj)
        if k in out:
            problems.append(f"{side} renders {show(k)} twice")
        out[k] = obj
    return out


def compare(env: str, ours: list, theirs: list) -> tuple[list[str], list[str]]:
    """(differences, notes) for one environment."""
    problems: list[str] = []
    mine = by_key("wasmchart", ours, problems)
    helms = by_key("Helm", theirs, problems)
    skipped = sorted(show(key(o)) for s, o in ours if not compared(s, o))
    for k in sorted(mine.keys() - helms.keys(), key=str):
        problems.append(f"only wasmchart renders {show(k)}")
    for k in sorted(helms.keys() - mine.keys(), key=str):
        problems.append(f"only Helm renders {show(k)}")
    for k in sorted(mine.keys() & helms.keys(), key=str):
        a, b = normalise(mine[k], helms[k])
        if a != b:
            diff = difflib.unified_diff(dump(b), dump(a), "helm", "wasmchart", lineterm="", n=4)
            problems.append(f"{show(k)} differs:\n" + "\n".join("    " + line for line in diff))
    both = len(mine.keys() & helms.keys())
    if both == 0:
        problems.append("no object compared: neither side rendered a comparable object")
    notes = [f"{both} objects compared"]
    if skipped:
        notes.append(f"{len(skipped)} host-managed not compared: {', '.join(skipped)}")
    return problems, notes


def wasmchart_command(arg: str | None) -> list[str]:
    if arg:
        return [arg]
    if os.environ.get("WASMCHART"):
        return [os.environ["WASMCHART"]]
    return ["cargo", "run", "--quiet", "--package", "wasmchart", "--"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wasmchart", help="wasmchart binary (default: $WASMCHART, else cargo run)")
    parser.add_argument("--env", action="append", help="environment to check (default: all)")
    args = parser.parse_args()
    declared = environments()
    envs = args.env or list(declared)
    if not envs:
        print(
            f"helm_twin_check: no environment to check: {CHART / 'Chart.yaml'} declares no "
            "`environments:` and no --env was given",
            file=sys.stderr,
        )
        return 2
    binary = wasmchart_command(args.wasmchart)
    failed = 0
    for env in envs:
        spec = declared.get(env, {})
        files, namespace = env_files(env, spec), env_namespace(env, spec)
        try:
            problems = values_parity(files)
            ours = render_wasmchart(binary, env)
            theirs = render_helm(files, namespace)
        except Failure as e:
            print(f"helm_twin_check: {env}: {e}", file=sys.stderr)
            return 2
        more, notes = compare(env, ours, theirs)
        problems += more
        status = "ok" if not problems else f"{len(problems)} difference(s)"
        print(f"{env} ({namespace}): {status}; " + "; ".join(notes))
        for p in problems:
            print(f"  - {p}")
        failed += bool(problems)
    print(f"helm_twin_check: {len(envs) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
