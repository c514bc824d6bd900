#!/usr/bin/env python3
"""Checks rendered manifests the way a Kubernetes API server would, offline.

Reads multi-document YAML (files or stdin), and for each object:
- validates it against the strict JSON schema of its kind for the given
  Kubernetes version (default 1.31), as shipped in the kubernetes-validate
  wheel (no network), so unknown fields and wrong types are errors;
- checks what those schemas cannot express but the API server enforces:
  object, container, port and volume names, label keys and values,
  annotation keys, and env var names.

Custom resources (SealedSecret, ExternalSecret, Certificate...) have no
schema there. With --crd-schemas DIR, a custom resource of kind K and
version V is validated against DIR/<k>-<V>.schema.json (a CRD's
openAPIV3Schema as JSON), strictly: fields the schema does not declare are
errors, as with kubectl's default strict field validation. Others get the
name and label checks only and are reported as such. Exit status: 0 when
every object passes, 1 otherwise, 2 on bad usage.

    .venv/bin/python scripts/k8s_validate.py [--kube-version 1.31] [--crd-schemas DIR] [FILE|-]...
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

try:
    import jsonschema
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError
except ImportError:  # pragma: no cover - reported to the user
    sys.exit(
        "k8s_validate: the Python package kubernetes-validate is missing; "
        "run scripts/setup.sh (it installs scripts/requirements-check.txt into .venv)"
    )

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
# Kinds whose names must be DNS-1035 labels (Services) or DNS-1123 labels.
DNS_1035_KINDS = {"Service"}
DNS_LABEL_KINDS = {"Namespace"}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def qualified_key_errors(key: str, what: str) -> list[str]:
    """Errors for a label or annotation key: [prefix/]name."""
    prefix, _, name = key.rpartition("/")
    errors = []
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        errors.append(f"{what} key '{key}': prefix is not a DNS subdomain")
    if not name or len(name) > 63 or not LABEL_NAME.match(name):
        errors.append(f"{what} key '{key}': name part is not a valid qualified name")
    return errors


def metadata_errors(meta: dict, path: str) -> list[str]:
    errors = []
    for key, value in (meta.get("labels") or {}).items():
        errors += [f"{path}.labels: {e}" for e in qualified_key_errors(key, "label")]
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            errors.append(f"{path}.labels['{key}']: '{value}' is not a valid label value")
    for key in (meta.get("annotations") or {}):
        errors += [f"{path}.annotations: {e}" for e in qualified_key_errors(key, "annotation")]
    return errors


def name_errors(obj: dict) -> list[str]:
    kind = obj.get("kind", "")
    name = (obj.get("metadata") or {}).get("name", "")
    if kind in DNS_1035_KINDS:
        ok, rule = len(name) <= 63 and DNS_1035.match(name), "a DNS-1035 label"
    elif kind in DNS_LABEL_KINDS or kind in POD_TEMPLATE_KINDS and kind == "StatefulSet":
        ok, rule = len(name) <= 63 and DNS_LABEL.match(name), "a DNS-1123 label"
    else:
        ok, rule = len(name) <= 253 and DNS_SUBDOMAIN.match(name), "a DNS-1123 subdomain"
    return [] if ok else [f"metadata.name: '{name}' is not {rule}"]


def container_errors(container: dict, path: str) -> list[str]:
    errors = []
    name = container.get("name", "")
    if len(name) > 63 or not DNS_LABEL.match(name):
        errors.append(f"{path}.name: '{name}' is not a DNS-1123 label")
    for i, port in enumerate(container.get("ports") or []):
        pname = port.get("name")
        if pname is not None and (len(pname) > 15 or not PORT_NAME.match(pname)
                                  or not re.search("[a-z]", pname)):
            errors.append(f"{path}.ports[{i}].name: '{pname}' is not an IANA service name")
    for i, env in enumerate(container.get("env") or []):
        if not ENV_NAME.match(env.get("name", "")):
            errors.append(f"{path}.env[{i}].name: '{env.get('name')}' is not a valid env var name")
    return errors


def pod_errors(spec: dict, path: str) -> list[str]:
    errors = []
    for group in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(group) or []):
            errors += container_errors(container, f"{path}.{group}[{i}]")
    names = [c.get("name") for g in ("initContainers", "containers") for c in spec.get(g) or []]
    if len(names) != len(set(names)):
        errors.append(f"{path}: container names are not unique: {names}")
    volumes = [v.get("name") for v in spec.get("volumes") or []]
    if len(volumes) != len(set(volumes)):
        errors.append(f"{path}.volumes: names are not unique: {volumes}")
    return errors


def semantic_errors(obj: dict) -> list[str]:
    errors = name_errors(obj) + metadata_errors(obj.get("metadata") or {}, "metadata")
    template = ((obj.get("spec") or {}).get("template")) or {}
    if obj.get("kind") in POD_TEMPLATE_KINDS and template:
        errors += metadata_errors(template.get("metadata") or {}, "spec.template.metadata")
        errors += pod_errors(template.get("spec") or {}, "spec.template.spec")
        selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        for key, value in selector.items():
            if labels.get(key) != value:
                errors.append(f"spec.selector.matchLabels['{key}'] does not match the pod template's labels")
    return errors


def describe(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind', '?')}/{meta.get('name', '?')}"


def strict(schema):
    """A CRD schema where objects with declared properties reject others
    (unless the schema keeps unknown fields)."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def crd_errors(obj: dict, crd_dir: Path | None) -> list[str] | None:
    """Errors against the CRD schema for obj, or None when there is none."""
    if crd_dir is None:
        return None
    version = str(obj.get("apiVersion", "")).rpartition("/")[2]
    path = crd_dir / f"{str(obj.get('kind', '')).lower()}-{version}.schema.json"
    if not path.is_file():
        return None
    schema = strict(json.loads(path.read_text(encoding="utf-8")))
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'.'.join(str(p) for p in e.path) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path)))
    ]


def validate(obj: dict, version: str, crd_dir: Path | None) -> tuple[list[str], bool]:
    """Errors for one object, and whether a schema was found for it."""
    errors: list[str] = []
    found = True
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except ValidationError as e:
        path = ".".join(str(p) for p in e.path) or "(root)"
        errors.append(f"{path}: {e.message}")
    except SchemaNotFoundError:
        custom = crd_errors(obj, crd_dir)
        found = custom is not None
        errors += custom or []
    return errors + semantic_errors(obj), found


class StrictLoader(yaml.SafeLoader):
    """A YAML loader that rejects duplicate keys, as the API server's
    strict decoding does (PyYAML would silently keep the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def documents(paths: list[str]):
    for path in paths or ["-"]:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        for doc in yaml.load_all(text, Loader=StrictLoader):
            if doc is not None:
                yield ("<stdin>" if path == "-" else path), doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kube-version", default="1.31", help="Kubernetes version (default 1.31)")
    parser.add_argument("--crd-schemas", type=Path, help="folder of CRD schemas (<kind>-<version>.schema.json)")
    parser.add_argument("--quiet", action="store_true", help="print only errors and the summary")
    parser.add_argument("files", nargs="*", help="YAML files; '-' or none: stdin")
    args = parser.parse_args()
    checked = custom = failed = 0
    try:
        docs = list(documents(args.files))
    except (OSError, yaml.YAMLError) as e:
        print(f"k8s_validate: cannot read input: {e}", file=sys.stderr)
        return 2
    for source, obj in docs:
        if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
            print(f"ERROR {source}: a document is not a Kubernetes object")
            failed += 1
            continue
        errors, found = validate(obj, args.kube_version, args.crd_schemas)
        checked += 1
        custom += not found
        for error in errors:
            print(f"ERROR {source} {describe(obj)}: {error}")
        failed += bool(errors)
        if not errors and not args.quiet:
            note = "" if found else " (custom resource without schema: names and labels only)"
            print(f"ok {describe(obj)}{note}")
    print(f"k8s_validate: {checked} objects against Kubernetes {args.kube_version}: "
          f"{checked - failed} valid, {failed} invalid, {custom} custom resources without schema")
    return 1 if failed or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
