"""The imprun runtime exporter: a Deployment serving Prometheus metrics and a
Service with scrape annotations.

`render(input, log)` is pure: it reads only its input and returns plain
dicts, so it runs the same inside the component and under unittest. app.py
wires it to the WIT world.
"""

import re
from typing import Any, Callable

from .k8s import fullname, pull_secrets, resolve_image, selector_labels, standard_labels
from .values import InvalidValues, Values

COMPONENT = "metrics"
DEFAULT_REPOSITORY = "junsik/imp-runtime-exporter"
SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"]
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")

Log = Callable[[str, str], None]


class _Ctx:
    """What every object builder needs."""

    def __init__(self, input: Any, values: Values, log: Log):
        self.input = input
        self.values = values
        self.log = log
        self.name = fullname(input, values)
        self.labels = standard_labels(input, values, COMPONENT)
        self.selector = selector_labels(input, values)
        self.metrics_port = values.port_or("metrics.port", 9100)
        self.metrics_path = values.str_or("metrics.path", "/metrics")
        if not self.metrics_path.startswith("/"):
            raise InvalidValues("metrics.path", f"\"{self.metrics_path}\" must start with '/'")


def render(input: Any, log: Log) -> dict:
    """Renders the exporter's objects: {"manifests": [(source, object)], "notes": str}."""
    ctx = _Ctx(input, Values.parse(input.values_json), log)
    manifests = [
        ("templates/deployment.yaml", _deployment(ctx)),
        ("templates/service.yaml", _service(ctx)),
    ]
    return {"manifests": manifests, "notes": _notes(ctx)}


def _set_map(target: dict, key: str, value: dict) -> None:
    """Sets `target[key]` only for a non-empty map, as Helm's `with` does."""
    if value:
        target[key] = value


def _metadata(ctx: _Ctx, annotations: dict = None) -> dict:
    meta = {"name": ctx.name, "labels": ctx.labels}
    if annotations:
        meta["annotations"] = annotations
    return meta


def _deployment(ctx: _Ctx) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(ctx),
        "spec": {
            "replicas": ctx.values.int_in("replicaCount", 0, 1000, 1),
            "selector": {"matchLabels": ctx.selector},
            "template": _pod_template(ctx),
        },
    }


def _pod_template(ctx: _Ctx) -> dict:
    values = ctx.values
    labels = dict(values.string_map("podLabels"))
    labels.update(ctx.labels)
    meta: dict = {"labels": dict(sorted(labels.items()))}
    annotations = values.string_map("podAnnotations")
    if annotations:
        meta["annotations"] = annotations
    spec: dict = {"automountServiceAccountToken": False}
    secrets = pull_secrets(values)
    if secrets:
        spec["imagePullSecrets"] = secrets
    _set_map(spec, "securityContext", values.map_or("podSecurityContext", {}))
    spec["containers"] = [_container(ctx)]
    _set_map(spec, "nodeSelector", values.map_or("nodeSelector", {}))
    _set_map(spec, "affinity", values.map_or("affinity", {}))
    tolerations = values.list_or("tolerations", [])
    if tolerations:
        spec["tolerations"] = tolerations
    return {"metadata": meta, "spec": spec}


def _container(ctx: _Ctx) -> dict:
    values = ctx.values
    image = resolve_image(ctx.input, values, DEFAULT_REPOSITORY)
    out: dict = {
        "name": "exporter",
        "image": image["reference"],
        "imagePullPolicy": image["pull_policy"],
        "ports": [{"name": "metrics", "containerPort": ctx.metrics_port, "protocol": "TCP"}],
    }
    env = _env(values)
    if env:
        out["env"] = env
    for kind in ("livenessProbe", "readinessProbe"):
        probe = _probe(ctx, kind)
        if probe:
            out[kind] = probe
    _set_map(out, "resources", values.map_or("resources", {}))
    _set_map(out, "securityContext", values.map_or("securityContext", {}))
    return out


def _env(values: Values) -> list:
    env = []
    for name, value in values.string_map("env").items():
        if not ENV_NAME.match(name):
            raise InvalidValues(f"env.{name}", f'"{name}" is not a valid environment variable name')
        env.append({"name": name, "value": value})
    return env


def _probe(ctx: _Ctx, kind: str) -> dict:
    values = ctx.values
    if not values.bool_or(f"{kind}.enabled", True):
        return {}
    return {
        "httpGet": {"path": ctx.metrics_path, "port": "metrics"},
        "initialDelaySeconds": values.int_in(f"{kind}.initialDelaySeconds", 0, 3600, 5),
        "periodSeconds": values.int_in(f"{kind}.periodSeconds", 1, 3600, 10),
        "timeoutSeconds": values.int_in(f"{kind}.timeoutSeconds", 1, 3600, 3),
        "failureThreshold": values.int_in(f"{kind}.failureThreshold", 1, 100, 3),
    }


def _scrape_annotations(ctx: _Ctx) -> dict:
    if not ctx.values.bool_or("metrics.scrape", True):
        return {}
    return {
        "prometheus.io/path": ctx.metrics_path,
        "prometheus.io/port": str(ctx.metrics_port),
        "prometheus.io/scrape": "true",
    }


def _service(ctx: _Ctx) -> dict:
    values = ctx.values
    service_type = values.one_of("service.type", SERVICE_TYPES, "ClusterIP")
    port: dict = {
        "name": "metrics",
        "port": values.port_or("service.port", 9100),
        "targetPort": "metrics",
        "protocol": "TCP",
    }
    node_port = values.opt_int("service.nodePort")
    if node_port is not None:
        if service_type == "ClusterIP":
            raise InvalidValues(
                "service.nodePort", "is set but service.type is ClusterIP; use NodePort or LoadBalancer"
            )
        port["nodePort"] = values.int_in("service.nodePort", 30000, 32767, node_port)
    annotations = _scrape_annotations(ctx)
    annotations.update(values.string_map("service.annotations"))
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(ctx, dict(sorted(annotations.items()))),
        "spec": {"type": service_type, "selector": ctx.selector, "ports": [port]},
    }


def _notes(ctx: _Ctx) -> str:
    port = ctx.values.port_or("service.port", 9100)
    scraped = "scraped by Prometheus through its annotations" if ctx.values.bool_or("metrics.scrape", True) else "not annotated for scraping"
    return f"Runtime metrics are served at http://{ctx.name}:{port}{ctx.metrics_path} ({scraped}).\n"
