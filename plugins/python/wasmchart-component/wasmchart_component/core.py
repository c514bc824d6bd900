"""The pure logic of the render wrapper: no WebAssembly bindings needed, so
an author's unit tests (and this package's) run it in plain Python.

`run(fn, input)` calls the author's render function and returns either
`Ok(output)` with the output checked and every `content` as text, or
`Err(kind, message)` where `kind` is the WIT `render-error` case. It never
raises: every exception (KeyError, TypeError, ...) becomes `failed` with its
type, message and the last frames of its traceback.
"""

import json
import traceback
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, List, Optional, Union

#: The WIT `render-error` cases.
KINDS = ("invalid-values", "unsupported", "failed")

#: Traceback frames kept in a `failed` message (the host caps messages at 4 KiB).
MAX_FRAMES = 6


class RenderError(Exception):
    """A failure raised on purpose; `kind` is the `render-error` case."""

    kind = "failed"


class InvalidValues(RenderError):
    """The values are wrong for this component: say which key and why."""

    kind = "invalid-values"


class Unsupported(RenderError):
    """The request cannot be met (e.g. the cluster lacks an API)."""

    kind = "unsupported"


class Failed(RenderError):
    """Any other failure, with a message of your own."""

    kind = "failed"


@dataclass
class Manifest:
    """One checked manifest: `content` is always text."""

    source: str
    content: str


@dataclass
class Ok:
    """A checked render output."""

    manifests: List[Manifest]
    notes: Optional[str]


@dataclass
class Err:
    """A render-error: `kind` is one of `KINDS`."""

    kind: str
    message: str


def run(fn: Callable[[Any], Any], raw_input: Any) -> Union[Ok, Err]:
    """Calls `fn` with `raw_input` plus `values` (the parsed `values_json`)
    and checks what it returns. Never raises (except BaseException such as
    KeyboardInterrupt, which a component never sees)."""
    try:
        view = with_values(raw_input)
        return check_output(fn(view))
    except RenderError as e:
        return Err(e.kind, str(e))
    except Exception as e:  # every failure becomes a render-error, never a trap
        return Err("failed", describe_exception(e))


def with_values(raw_input: Any) -> SimpleNamespace:
    """The input's fields, plus `values` parsed from `values_json`."""
    text = getattr(raw_input, "values_json", None)
    if not isinstance(text, str):
        raise InvalidValues(f"render input: expected values_json text, found {type_name(text)}")
    try:
        values = json.loads(text)
    except ValueError as e:
        raise InvalidValues(f"values_json is not valid JSON: {e}") from None
    fields = {name: getattr(raw_input, name, None) for name in (
        "values_json", "release", "chart", "capabilities", "secrets", "certificates")}
    return SimpleNamespace(values={} if values is None else values, **fields)


def check_output(out: Any) -> Ok:
    """Checks the shape of a render output; a mistake raises `Failed` naming
    the field. `content` may be text (YAML or JSON) or a dict (serialised
    as compact JSON)."""
    if not isinstance(out, dict):
        raise Failed(f"render returned {type_name(out)}: expected a dict {{'manifests': [...], 'notes': ...}}")
    if "manifests" not in out:
        keys = ", ".join(map(str, out)) or "no keys"
        raise Failed(f"render returned a dict without 'manifests' (it has {keys}): expected {{'manifests': [...], 'notes': ...}}")
    manifests = out["manifests"]
    if not isinstance(manifests, (list, tuple)):
        raise Failed(f"manifests: expected a list, found {type_name(manifests)}")
    checked = [_check_manifest(m, f"manifests[{i}]") for i, m in enumerate(manifests)]
    notes = out.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise Failed(f"notes: expected a string, found {type_name(notes)}")
    unknown = sorted(set(map(str, out)) - {"manifests", "notes"})
    if unknown:
        raise Failed(f"render returned unknown keys {', '.join(unknown)}: expected only 'manifests' and 'notes'")
    return Ok(checked, notes)


def _check_manifest(m: Any, at: str) -> Manifest:
    if isinstance(m, (tuple, list)) and len(m) == 2:
        source, content = m
    elif isinstance(m, dict):
        source, content = m.get("source"), m.get("content")
    else:
        raise Failed(f"{at}: expected a dict {{'source': ..., 'content': ...}} or a (source, content) pair, found {type_name(m)}")
    if not isinstance(source, str) or not source:
        raise Failed(f"{at}.source: expected a non-empty string (e.g. 'templates/deployment.yaml'), found {type_name(source)}")
    if isinstance(content, str):
        return Manifest(source, content)
    if isinstance(content, dict):
        try:
            text = json.dumps(content, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise Failed(f"{at}.content: cannot serialise the dict as JSON: {e}") from None
        return Manifest(source, text)
    raise Failed(f"{at}.content: expected a string (YAML or JSON text) or a dict, found {type_name(content)}")


def describe_exception(e: BaseException) -> str:
    """"KeyError: 'image' (at app.py:12 in render; ...)": one paragraph."""
    head = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    if isinstance(e, KeyError) and e.args:
        head = f"KeyError: {e.args[0]!r} (a missing key)"
    # walk_tb, not extract_tb: extract_tb reads source lines from files,
    # and a component built with --stub-wasi traps on any file access.
    frames = [
        f"{_short(frame.f_code.co_filename)}:{lineno} in {frame.f_code.co_name}"
        for frame, lineno in traceback.walk_tb(e.__traceback__)
        if not _is_plumbing(frame.f_code.co_filename)
    ][-MAX_FRAMES:]
    return f"{head} (at {'; '.join(frames)})" if frames else head


def _is_plumbing(filename: str) -> bool:
    return "wasmchart_component" in filename.replace("\\", "/").split("/")


def _short(filename: str) -> str:
    """The last two parts of a path; componentize-py mounts each source
    folder as /0, /1...: that number is dropped."""
    parts = [p for p in filename.replace("\\", "/").split("/") if p]
    if len(parts) > 1 and parts[0].isdigit():
        parts = parts[1:]
    return "/".join(parts[-2:]) or filename


def type_name(value: Any) -> str:
    """"None", "a list", "an int", "a Foo"..."""
    if value is None:
        return "None"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def make_input(values: Any = None, *, release: str = "release", namespace: str = "default",
               chart: str = "chart", version: str = "0.1.0", app_version: Optional[str] = "1.0.0",
               kube_version: str = "v1.31.0", api_versions: Optional[List[str]] = None,
               secrets: Optional[list] = None, certificates: Optional[list] = None) -> SimpleNamespace:
    """A render input for unit tests, shaped like the WIT bindings' one."""
    return SimpleNamespace(
        values_json=json.dumps({} if values is None else values),
        release=SimpleNamespace(name=release, namespace=namespace, revision=1, is_install=True, is_upgrade=False),
        chart=SimpleNamespace(name=chart, version=version, app_version=app_version),
        capabilities=SimpleNamespace(kube_version=kube_version, api_versions=api_versions or ["apps/v1", "v1"]),
        secrets=secrets or [],
        certificates=certificates or [],
    )
