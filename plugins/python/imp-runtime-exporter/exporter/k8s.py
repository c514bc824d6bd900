"""Naming, labels and image helpers. They follow the same rules as the Rust
SDK (plugins/sdk) so that every component of an umbrella names and labels
its objects alike."""

import re
from typing import Any

from .values import InvalidValues, Values

NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
VERSION = "app.kubernetes.io/version"
COMPONENT = "app.kubernetes.io/component"
HELM_CHART = "helm.sh/chart"

PULL_POLICIES = ["Always", "IfNotPresent", "Never"]

# Compiled once at import: the component's initialisation is snapshotted, so a
# render never pays for compiling them.
_NOT_LABEL_CHAR = re.compile(r"[^A-Za-z0-9._-]")
_LEADING_NON_ALNUM = re.compile(r"^[^A-Za-z0-9]+")
_TRAILING_NON_ALNUM = re.compile(r"[^A-Za-z0-9]+$")


def trunc63(name: str) -> str:
    """Kubernetes names are at most 63 characters; Helm trims a trailing '-'."""
    return name[:63].rstrip("-")


def chart_name(input: Any, values: Values) -> str:
    """The chart name honouring `nameOverride` (Helm's `<chart>.name`)."""
    return trunc63(values.non_empty_str("nameOverride") or input.chart.name)


def fullname(input: Any, values: Values) -> str:
    """Helm's `<chart>.fullname`."""
    override = values.non_empty_str("fullnameOverride")
    if override:
        return trunc63(override)
    name = chart_name(input, values)
    release = input.release.name
    return trunc63(release if name in release else f"{release}-{name}")


def label_value(text: str) -> str:
    """Makes text a valid label value."""
    cleaned = _NOT_LABEL_CHAR.sub("_", text)[:63]
    return _TRAILING_NON_ALNUM.sub("", _LEADING_NON_ALNUM.sub("", cleaned))


def selector_labels(input: Any, values: Values) -> dict:
    """Selector labels: stable for the life of a workload."""
    return {NAME: chart_name(input, values), INSTANCE: input.release.name}


def standard_labels(input: Any, values: Values, component: str) -> dict:
    """commonLabels, selector labels, version, chart and component, sorted."""
    labels = dict(values.string_map("commonLabels"))
    labels.update(selector_labels(input, values))
    if input.chart.app_version:
        labels[VERSION] = label_value(input.chart.app_version)
    labels[HELM_CHART] = label_value(f"{input.chart.name}-{input.chart.version}".replace("+", "_"))
    labels[COMPONENT] = component
    return dict(sorted(labels.items()))


def resolve_image(input: Any, values: Values, default_repository: str) -> dict:
    """The container image from `image.*`: `global.imageRegistry` wins over
    `image.registry`; `image.digest` wins over `image.tag`; an empty tag
    means the chart's appVersion."""
    repository = values.non_empty_str("image.repository") or default_repository
    registry = values.non_empty_str("global.imageRegistry") or values.non_empty_str("image.registry")
    tag = values.scalar_or("image.tag", "") or input.chart.app_version or ""
    reference = f"{registry.rstrip('/')}/{repository}" if registry else repository
    digest = values.non_empty_str("image.digest")
    if digest:
        reference = f"{reference}@{digest}"
    elif tag:
        reference = f"{reference}:{tag}"
    pull_policy = values.str_or("image.pullPolicy", "IfNotPresent")
    if pull_policy not in PULL_POLICIES:
        raise InvalidValues("image.pullPolicy", f'"{pull_policy}" is not one of {", ".join(PULL_POLICIES)}')
    return {"reference": reference, "pull_policy": pull_policy}


def pull_secrets(values: Values) -> list:
    """`global.imagePullSecrets` then `imagePullSecrets`, names or {name}, without duplicates."""
    names: list = []
    for path in ("global.imagePullSecrets", "imagePullSecrets"):
        for i, item in enumerate(values.list_or(path, [])):
            if isinstance(item, str):
                name = item
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                name = item["name"]
            else:
                raise InvalidValues(f"{path}[{i}]", "expected a name or a map with a string 'name'")
            if name and name not in names:
                names.append(name)
    return [{"name": n} for n in names]
