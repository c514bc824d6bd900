"""The {{name}} subchart as a wasmchart component.

`render` is a pure function of its input: values in, Kubernetes objects out.
The wasmchart_component helper parses the values, checks what you return and
turns every exception into a render-error with its message and traceback.
Build with `wasmchart build` (the command is in ../Chart.yaml), test with
`python -m unittest` (plain Python: no WebAssembly needed).
"""

from wasmchart_component import InvalidValues, define_render


def fullname(input) -> str:
    """`<release>-<chart>`, or the release alone when it contains the chart
    name (Helm's `fullname`); at most 63 characters."""
    override = input.values.get("fullnameOverride")
    if isinstance(override, str) and override:
        return override[:63].rstrip("-")
    name = input.values.get("nameOverride") or input.chart.name
    release = input.release.name
    return (release if name in release else f"{release}-{name}")[:63].rstrip("-")


def labels(input) -> dict:
    """The standard labels: name, instance, version and helm.sh/chart."""
    out = {
        "app.kubernetes.io/name": input.values.get("nameOverride") or input.chart.name,
        "app.kubernetes.io/instance": input.release.name,
        "helm.sh/chart": f"{input.chart.name}-{input.chart.version}".replace("+", "_")[:63],
    }
    if input.chart.app_version:
        out["app.kubernetes.io/version"] = input.chart.app_version[:63]
    return out


def render(input) -> dict:
    """Renders one ConfigMap named like Helm's `fullname`, holding `message`."""
    message = input.values.get("message", "Hello from {{name}}")
    if not isinstance(message, str) or not message:
        raise InvalidValues(f"key 'message': expected a non-empty string, found {message!r}")
    name = fullname(input)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels(input)},
        "data": {"message": message},
    }
    return {
        "manifests": [{"source": "templates/configmap.yaml", "content": config_map}],
        "notes": f"ConfigMap {name} holds the message.\n",
    }


WitWorld = define_render(render)
