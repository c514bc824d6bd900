"""Entry point of the imp-runtime-exporter component (world `subchart` of
wit/chart.wit). It adapts the pure renderer in exporter/chart.py to the WIT
types: objects become JSON text, exceptions become `render-error`."""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import log as wit_log
from wit_world.imports import types

from exporter.chart import render as render_chart
from exporter.values import InvalidValues, Unsupported

_LEVELS = {
    "trace": wit_log.Level.TRACE,
    "debug": wit_log.Level.DEBUG,
    "info": wit_log.Level.INFO,
    "warn": wit_log.Level.WARN,
    "error": wit_log.Level.ERROR,
}


def _log(level: str, message: str) -> None:
    wit_log.log(_LEVELS[level], message)


def _error(e: Exception) -> types.RenderError:
    if isinstance(e, InvalidValues):
        return types.RenderError_InvalidValues(str(e))
    if isinstance(e, Unsupported):
        return types.RenderError_Unsupported(str(e))
    return types.RenderError_Failed(f"{type(e).__name__}: {e}")


class WitWorld(wit_world.WitWorld):
    """The exported `render`: values in, Kubernetes objects out."""

    def render(self, input: types.RenderInput) -> types.RenderOutput:
        try:
            out = render_chart(input, _log)
        except Exception as e:  # every failure becomes a render-error, never a trap
            raise Err(_error(e)) from None
        manifests = [
            types.Manifest(source=source, content=json.dumps(obj, separators=(",", ":"), ensure_ascii=False))
            for source, obj in out["manifests"]
        ]
        return types.RenderOutput(manifests=manifests, notes=out["notes"])
