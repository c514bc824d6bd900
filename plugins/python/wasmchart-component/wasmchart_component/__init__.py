"""Write a wasmchart subchart component in Python.

    # app.py
    from wasmchart_component import define_render, InvalidValues, log

    def render(input):
        replicas = input.values.get("replicas", 1)
        if not isinstance(replicas, int):
            raise InvalidValues(f"replicas: expected an integer, found {replicas!r}")
        return {"manifests": [{"source": "templates/deployment.yaml", "content": {...}}]}

    WitWorld = define_render(render)

Build it with `wasmchart-build-py app.py -o app.wasm`. Without the wrapper,
an exception or a wrongly shaped return value fails inside the generated
bindings and the host can only say "wasm unreachable instruction executed";
with it, every failure becomes a `render-error` carrying the real message
and traceback (see `core.py`, which is pure and unit-testable).

The componentize-py bindings (`wit_world`) exist only inside a component
build: importing this package without them still works, so tests run in
plain Python; `define_render` then gives a class whose `render` returns the
checked `Ok`/`Err` result.
"""

import sys

from .core import (  # noqa: F401  (re-exported API)
    KINDS,
    Err,
    Failed,
    InvalidValues,
    Manifest,
    Ok,
    RenderError,
    Unsupported,
    check_output,
    describe_exception,
    make_input,
    run,
)

try:  # present only when componentize-py builds the component
    import wit_world as _wit_world
    from componentize_py_types import Err as _WitErr
    from wit_world.imports import log as _wit_log
    from wit_world.imports import types as _types
except ImportError:
    _wit_world = None

_LEVELS = ("trace", "debug", "info", "warn", "error")


def log(level: str, message: str) -> None:
    """Sends one log line to the user through the host (stderr outside a
    component). `level`: trace, debug, info, warn or error; the host shows
    warn and above by default (`-v` shows all)."""
    level = level if level in _LEVELS else "info"
    if _wit_world is None:
        print(f"[{level}] {message}", file=sys.stderr)
        return
    _wit_log.log(getattr(_wit_log.Level, level.upper()), str(message))


def define_render(fn):
    """Wraps the author's `fn(input)` into the exported `WitWorld` class.

    `input` has the WIT `render-input` fields (`values_json`, `release`,
    `chart`, `capabilities`, `secrets`, `certificates`) plus `values`, the
    parsed values. `fn` returns `{"manifests": [{"source": ..., "content":
    ...}], "notes": ...}` (`content`: YAML/JSON text or a dict; a manifest
    may also be a `(source, content)` pair) and fails by raising
    `InvalidValues`, `Unsupported`, `Failed` or any other exception.
    """
    if not callable(fn):
        raise TypeError(f"define_render: expected a function, found {type(fn).__name__}")
    if _wit_world is None:
        return type("WitWorld", (), {"render": lambda self, input: run(fn, input)})
    return type("WitWorld", (_wit_world.WitWorld,), {"render": lambda self, input: _to_wit(run(fn, input))})


def _to_wit(result):
    if isinstance(result, Ok):
        manifests = [_types.Manifest(source=m.source, content=m.content) for m in result.manifests]
        return _types.RenderOutput(manifests=manifests, notes=result.notes)
    case = {
        "invalid-values": _types.RenderError_InvalidValues,
        "unsupported": _types.RenderError_Unsupported,
    }.get(result.kind, _types.RenderError_Failed)
    raise _WitErr(case(result.message))
