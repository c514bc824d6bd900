#!/usr/bin/env python3
"""Compares `wasmchart values CHART -o json` with the `.Values` Helm's own
engine hands the same chart's templates, for the same value flags, and
prints every difference by key path, or "same".

    .venv/bin/python scripts/real_chart_check.py CHART_DIR [-f FILE]... [--set E]...
        [--set-string E]... [--set-json E]... [--set-literal E]... [--set-file K=PATH]... [--env ENV]
        [--wasmchart BIN] [--release NAME] [--namespace NS] [--max-diffs N] [--json-out FILE]
    .venv/bin/python scripts/real_chart_check.py --fixture crates/values/tests/data/real-charts/NAME

It exists to run real public charts, fetched locally and never committed,
through both engines; each difference found becomes a small hand-written
fixture under crates/values/tests/data/real-charts/ (docs/values.md, "Real
charts"). `--fixture DIR` (re)computes such a fixture's Helm answer: the flags
come from DIR/args.json (paths relative to DIR, run from inside it) and
Helm's values, or `{"error": message}`, are written to DIR/expected.json.

Helm's side (PyPI helm-python-sdk, Helm's Go engine, offline):
- the chart is copied to a temporary directory, every `templates/` directory
  in it (the umbrella's and each subchart's) is removed, and the umbrella
  gets one template printing `toJson .Values`, base64-encoded inside a YAML
  comment so no value can break the manifest split. Templates never change
  `.Values`, and removing them keeps a chart's `required`/`fail` calls from
  hiding the values. Packaged subcharts (`charts/*.tgz`, nested ones too)
  are expanded into directories first, so their templates go as well.
- value flags are merged as Helm's CLI does (`pkg/cli/values`), by family
  whatever their order on the command line: `-f` files (split into YAML
  documents as Helm's loader.LoadValues does, each parsed by Helm's YAML
  reader; documents and files merged with MergeMaps), then `--set-json` (a whole `{...}` object is merged as
  a map), `--set`, `--set-string`, `--set-file`, `--set-literal`, each
  entry set *into* the map built so far. Each entry's value is parsed by
  Helm's own strvals parser; only the walk into the existing map is done
  here, as strvals does it: a dotted key into anything but a map, or an index
  into anything but a list, is Helm's "unable to parse key" error; an index
  past a list's end extends it with nulls. Entries are split on top-level
  commas (outside `{}`, `[]` and JSON strings; `\\,` escapes).

`--env ENV` is wasmchart's own flag: wasmchart gets it as it is, and Helm
gets the files it stands for as the first `-f` files (the `environments.ENV.values`
list of the umbrella's Chart.yaml, else `values-ENV.yaml`, relative to the chart).

Exit status: 0 same (or both engines refuse the input: both errors are
shown), 1 a difference, 2 only one engine failed or a tool is missing.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import helm_python as helm
except ImportError as missing:  # pragma: no cover - reported to the user
    sys.exit(
        f"real_chart_check: Python package missing ({missing.name}); run scripts/setup.sh "
        "and use .venv/bin/python"
    )

ROOT = Path(__file__).resolve().parent.parent
VALUES_TEMPLATE = "wasmchart-values.yaml"
FAMILIES = ("set_json", "set", "set_string", "set_file", "set_literal")


class HelmRefused(Exception):
    """Helm's engine or CLI value handling rejects the input."""


# ------------------------------------------------------------ Helm's value flags


def merge_maps(a: dict, b: dict) -> dict:
    """Helm's loader.MergeMaps: maps merge recursively, anything else replaces."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_maps(out[k], v)
        else:
            out[k] = v
    return out


def load_values(text: str, origin: str) -> dict:
    """Helm's loader.LoadValues: the text is split into documents the way
    Kubernetes' YAMLReader does it (a line starting with `---` followed by
    nothing but a comment ends a document; anything else after it is an
    error; empty documents are skipped), each document is parsed by Helm's
    YAML reader and the documents are merged in order with MergeMaps."""
    if text and not text.endswith("\n"):
        text += "\n"
    docs, buf = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("---"):
            rest = line[3:].strip()
            if rest and not rest.startswith("#"):
                raise HelmRefused(f"failed to parse {origin}: invalid Yaml document separator: {rest}")
            if buf:
                docs.append("".join(buf))
                buf = []
            continue
        buf.append(line)
    if buf:
        docs.append("".join(buf))
    values: dict = {}
    for doc in docs:
        try:
            values = merge_maps(values, helm.values_from_yaml(doc) or {})
        except helm.HelmError as e:
            raise HelmRefused(f"failed to parse {origin}: {e}") from e
    return values


def split_entries(expr: str) -> list[str]:
    """`a=1,b={x,y},c[0]=2` -> entries, splitting on top-level commas only."""
    out, cur, depth, quoted, i = [], [], 0, False, 0
    while i < len(expr):
        c = expr[i]
        if c == "\\" and i + 1 < len(expr):
            cur += [c, expr[i + 1]]
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "{[":
            depth += 1
        elif not quoted and c in "}]":
            depth -= 1
        elif c == "," and depth == 0 and not quoted:
            out.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    out.append("".join(cur))
    return [e for e in out if e]


def key_path(key: str) -> list:
    """`a.b[1].c` -> ["a", "b", 1, "c"] (strvals key syntax; `\\.` escapes a dot)."""
    path: list = []
    name, i = [], 0
    while i < len(key):
        c = key[i]
        if c == "\\" and i + 1 < len(key):
            name.append(key[i + 1])
            i += 2
            continue
        if c == ".":
            if name:
                path.append("".join(name))
            name = []
        elif c == "[":
            if name:
                path.append("".join(name))
            name = []
            end = key.index("]", i)
            path.append(int(key[i + 1 : end]))
            i = end
        else:
            name.append(c)
        i += 1
    if name:
        path.append("".join(name))
    return path


def parse_entry(family: str, entry: str, base_dir: Path):
    parser = {
        "set": helm.parse_set_string,
        "set_string": helm.parse_set_string_values,
        "set_json": helm.parse_set_json,
        "set_literal": helm.parse_set_literal,
        "set_file": helm.parse_set_file,
    }[family]
    if family == "set_file":
        k, _, p = entry.partition("=")
        entry = f"{k}={(base_dir / p) if not os.path.isabs(p) else p}"
    try:
        return parser(entry)
    except helm.HelmError as e:
        raise HelmRefused(f"--{family.replace('_', '-')} {entry}: {e}") from e


def follow(parsed, path: list):
    node = parsed
    for seg in path:
        node = node[seg]
    return node


def go_type(v) -> str:
    """How Go's interface conversion panic names a value's type."""
    if v is None:
        return "nil"
    return {dict: "map[string]interface {}", list: "[]interface {}", str: "string", bool: "bool"}.get(
        type(v), "float64" if isinstance(v, float) else "int64"
    )


def set_into(base: dict, path: list, value, flag: str) -> None:
    """Sets `value` at `path` inside `base` the way strvals.ParseInto walks it."""
    node = base
    for depth, seg in enumerate(path[:-1]):
        nxt = path[depth + 1]
        want = list if isinstance(nxt, int) else dict
        if isinstance(node, dict):
            child = node.get(seg, want())
            if seg in node and not isinstance(child, want):
                raise HelmRefused(
                    f"failed parsing {flag}: unable to parse key: interface conversion: "
                    f"interface {{}} is {go_type(child)}, not {go_type(want())} "
                    f"(at {'.'.join(map(str, path[: depth + 1]))})"
                )
            node[seg] = child
        else:
            while len(node) <= seg:
                node.append(None)
            child = node[seg]
            if not isinstance(child, want):
                child = want()  # strvals: an out-of-order element is started afresh
            node[seg] = child
        node = child
    last = path[-1]
    if isinstance(node, dict):
        node[last] = value
    else:
        while len(node) <= last:
            node.append(None)
        node[last] = value


def env_files(chart: Path, env: str | None) -> list[str]:
    """The values files `--env ENV` reads, as Helm `-f` paths."""
    if not env:
        return []
    try:
        meta = helm.values_from_yaml((chart / "Chart.yaml").read_text(encoding="utf-8"))
    except helm.HelmError as e:
        raise HelmRefused(f"{chart / 'Chart.yaml'}: {e}") from e
    spec = ((meta.get("environments") or {}).get(env)) or {}
    return [str(chart / f) for f in (spec.get("values") or [f"values-{env}.yaml"])]


def helm_user_values(args, base_dir: Path) -> dict:
    base: dict = {}
    for f in env_files(Path(args.chart), args.env) + args.files:
        try:
            text = Path(f).read_text(encoding="utf-8")
        except OSError as e:
            raise HelmRefused(f"open {f}: {e.strerror}") from e
        base = merge_maps(base, load_values(text, f))
    for family in FAMILIES:
        for expr in getattr(args, family):
            flag = f"--{family.replace('_', '-')} {expr}"
            if family == "set_json" and expr.strip().startswith("{"):
                try:
                    base = merge_maps(base, json.loads(expr))
                except json.JSONDecodeError as e:
                    raise HelmRefused(f"failed parsing --set-json data JSON: {expr}") from e
                continue
            entries = [expr] if family == "set_literal" else split_entries(expr)
            for entry in entries:
                key = entry.split("=", 1)[0]
                parsed = parse_entry(family, entry, base_dir)
                path = key_path(key)
                set_into(base, path, copy.deepcopy(follow(parsed, path)), flag)
    return base


# ------------------------------------------------------------ the two engines


def expand_archives(chart: Path, scratch: Path) -> None:
    """Replaces each packaged subchart (charts/*.tgz, nested ones too) by its
    directory, so its templates can be removed like the others' (Helm reads a
    chart's values the same from either form)."""
    charts = chart / "charts"
    if not charts.is_dir():
        return
    for archive in sorted(charts.glob("*.tgz")):
        out = Path(tempfile.mkdtemp(dir=scratch))
        try:
            helm.expand(str(out), str(archive))
        except helm.HelmError as e:
            raise HelmRefused(f"{archive}: {e}") from e
        (only,) = list(out.iterdir())
        archive.unlink()
        shutil.move(str(only), str(charts / archive.name[: -len(".tgz")]))
    for sub in sorted(p for p in charts.iterdir() if p.is_dir()):
        expand_archives(sub, scratch)


def values_only_copy(chart: Path, into: Path) -> Path:
    dest = into / chart.resolve().name
    shutil.copytree(chart, dest, symlinks=False)
    scratch = into / ".archives"
    scratch.mkdir()
    expand_archives(dest, scratch)
    for templates in sorted(dest.rglob("templates"), reverse=True):
        if templates.is_dir():
            shutil.rmtree(templates)
    meta = dest / "Chart.yaml"
    text = meta.read_text(encoding="utf-8")
    if "\ntype: library" in "\n" + text:
        # A library chart renders nothing; as an application its values are the same.
        meta.write_text(("\n" + text).replace("\ntype: library", "\ntype: application")[1:])
    (dest / "templates").mkdir()
    (dest / "templates" / VALUES_TEMPLATE).write_text("# {{ toJson .Values | b64enc }}\n")
    return dest


def helm_values(args) -> dict:
    user = helm_user_values(args, Path.cwd())
    with tempfile.TemporaryDirectory(prefix="real-chart-") as tmp:
        chart = values_only_copy(Path(args.chart), Path(tmp))
        try:
            with helm.Chart.load(str(chart)) as loaded:
                out = loaded.render(user, name=args.release, namespace=args.namespace)
        except helm.HelmError as e:
            raise HelmRefused(str(e)) from e
    for source, text in out.items():
        if source.endswith("/templates/" + VALUES_TEMPLATE):
            return json.loads(base64.b64decode(text.strip()[2:]))
    raise HelmRefused(f"Helm rendered no {VALUES_TEMPLATE} (sources: {sorted(out)})")


def wasmchart_values(args) -> tuple[dict | None, str]:
    cmd = [args.wasmchart, "values", args.chart, "-o", "json"]
    if args.env:
        cmd += ["--env", args.env]
    for f in args.files:
        cmd += ["-f", f]
    for family in FAMILIES:
        for expr in getattr(args, family):
            cmd += [f"--{family.replace('_', '-')}", expr]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return json.loads(r.stdout), ""


# ------------------------------------------------------------ comparison


def same_scalar(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def diff(helm_v, ours, path: str = "") -> list[str]:
    here = path or "(top)"
    if isinstance(helm_v, dict) and isinstance(ours, dict):
        out = []
        for k in sorted(helm_v.keys() | ours.keys()):
            sub = f"{path}.{k}" if path else k
            if k not in ours:
                out.append(f"{sub}: only Helm has it: {short(helm_v[k])}")
            elif k not in helm_v:
                out.append(f"{sub}: only wasmchart has it: {short(ours[k])}")
            else:
                out += diff(helm_v[k], ours[k], sub)
        return out
    if isinstance(helm_v, list) and isinstance(ours, list) and len(helm_v) == len(ours):
        return [d for i, (x, y) in enumerate(zip(helm_v, ours)) for d in diff(x, y, f"{path}[{i}]")]
    if isinstance(helm_v, (dict, list)) or isinstance(ours, (dict, list)):
        return [] if helm_v == ours else [f"{here}: Helm {short(helm_v)}, wasmchart {short(ours)}"]
    return [] if same_scalar(helm_v, ours) else [f"{here}: Helm {short(helm_v)}, wasmchart {short(ours)}"]


def short(v) -> str:
    text = json.dumps(v, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def fixture_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Arguments for a fixture: its args.json flags, run from inside it."""
    fixture = Path(args.fixture).resolve()
    flags = json.loads((fixture / "args.json").read_text())["flags"]
    wasmchart = str(Path(args.wasmchart).resolve())
    os.chdir(fixture)
    out = p.parse_args(["."] + flags)
    out.wasmchart, out.json_out, out.max_diffs = wasmchart, "expected.json", args.max_diffs
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("chart", nargs="?")
    p.add_argument("--fixture", help="fixture directory: flags from args.json, Helm's answer to expected.json")
    p.add_argument("-f", "--values", dest="files", action="append", default=[])
    for family in FAMILIES:
        p.add_argument(f"--{family.replace('_', '-')}", dest=family, action="append", default=[])
    p.add_argument("--env", help="wasmchart's --env; Helm gets the environment's files as -f")
    p.add_argument("--wasmchart", default=os.environ.get("WASMCHART", str(ROOT / "target/debug/wasmchart")))
    p.add_argument("--release", default="release")
    p.add_argument("--namespace", default="default")
    p.add_argument("--max-diffs", type=int, default=40)
    p.add_argument("--json-out", help="write Helm's values (or its error) to this file as JSON")
    args = p.parse_args()
    if args.fixture:
        args = fixture_args(p, args)
    elif not args.chart:
        p.error("a chart directory (or --fixture DIR) is required")

    ours, our_error = wasmchart_values(args)
    try:
        theirs, their_error = helm_values(args), ""
    except HelmRefused as e:
        theirs, their_error = None, str(e)
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(theirs if their_error == "" else {"error": their_error}, indent=2, sort_keys=True) + "\n"
        )
    if their_error and our_error:
        print(f"both refuse\n  Helm: {their_error}\n  wasmchart: {our_error}")
        return 0
    if their_error or our_error:
        who, msg = ("Helm", their_error) if their_error else ("wasmchart", our_error)
        print(f"only {who} fails: {msg}")
        return 2
    problems = diff(theirs, ours)
    if not problems:
        print("same")
        return 0
    print(f"{len(problems)} difference(s)")
    for line in problems[: args.max_diffs]:
        print(f"  {line}")
    if len(problems) > args.max_diffs:
        print(f"  ... {len(problems) - args.max_diffs} more")
    return 1


if __name__ == "__main__":
    sys.exit(main())
