#!/usr/bin/env python3
"""Generates host/data/k8s-schemas.json.gz, the Kubernetes schemas `render --validate` uses.

Source: the strict JSON schemas the kubernetes-validate wheel bundles (installed in .venv by
scripts/setup.sh), one set per Kubernetes minor version. For each version it keeps every
definition (descriptions and x-kubernetes-* annotations dropped: they do not constrain) and
the map from apiVersion/kind to the top-level definition. Definitions identical across
versions are stored once ("pool"); references point into the version's own "$defs".

It also carries the schemas of the custom resources wasmchart itself emits (Certificate, Issuer,
ClusterIssuer, ExternalSecret, SealedSecret) from crates/services/tests/data/crds/, made strict
as kubectl's field validation is: an object that declares properties rejects any other
(unless it keeps unknown fields).

    .venv/bin/python scripts/gen_k8s_schemas.py [--versions 1.25-1.37] [--out host/data/k8s-schemas.json.gz]

The output is deterministic (sorted keys, gzip mtime 0), so re-running it without a change
of wheel leaves the committed file byte-identical.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from pathlib import Path

import kubernetes_validate

SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/(.+)$")


def strip(node, in_properties=False):
    """The schema without descriptions and annotations; refs made document-local."""
    if isinstance(node, list):
        return [strip(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if in_properties:
            out[key] = strip(value)
            continue
        if key in ("description", "$schema", "$id") or (
            key.startswith("x-kubernetes-") and key != "x-kubernetes-group-version-kind"
        ):
            continue
        if key == "$ref":
            m = REF.match(value)
            if not m:
                sys.exit(f"gen_k8s_schemas: unexpected $ref {value!r}")
            out[key] = f"#/$defs/{m.group(1)}"
        elif key in ("properties", "patternProperties", "$defs"):
            out[key] = strip(value, in_properties=True)
        else:
            out[key] = strip(value)
    return out


CRDS = Path(__file__).resolve().parent.parent / "crates/services/tests/data/crds"
CRD_KINDS = {
    "cert-manager.io/v1/Certificate": "certificate-v1",
    "cert-manager.io/v1/Issuer": "issuer-v1",
    "cert-manager.io/v1/ClusterIssuer": "issuer-v1",
    "external-secrets.io/v1/ExternalSecret": "externalsecret-v1",
    "bitnami.com/v1alpha1/SealedSecret": "sealedsecret-v1alpha1",
}


def strict(node):
    """As scripts/k8s_validate.py: declared properties only, unless unknown fields are kept."""
    if isinstance(node, list):
        return [strict(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def crds() -> dict:
    return {
        kind: strict(json.loads((CRDS / f"{file}.schema.json").read_text()))
        for kind, file in CRD_KINDS.items()
    }


def api_version(gvk: dict) -> str:
    return f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]


def one_version(minor: str, pool: dict, bodies: list) -> dict:
    path = SCHEMAS / f"v{minor}.0-local-strict" / "_definitions.json"
    defs = json.loads(path.read_text())["$defs"]
    names, kinds = {}, {}
    for name, schema in sorted(defs.items()):
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            kinds[f"{api_version(gvk)}/{gvk['kind']}"] = name
        body = strip(schema)
        body.pop("x-kubernetes-group-version-kind", None)
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        if text not in pool:
            pool[text] = len(bodies)
            bodies.append(body)
        names[name] = pool[text]
    return {"defs": names, "kinds": kinds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", default="1.25-1.37", help="minor range, e.g. 1.29-1.33")
    parser.add_argument("--out", default="host/data/k8s-schemas.json.gz")
    args = parser.parse_args()
    lo, hi = (int(v.split(".")[1]) for v in args.versions.split("-"))
    pool, bodies, versions = {}, [], {}
    for minor in range(lo, hi + 1):
        versions[f"1.{minor}"] = one_version(f"1.{minor}", pool, bodies)
    data = json.dumps(
        {"crds": crds(), "pool": bodies, "versions": versions}, sort_keys=True, separators=(",", ":")
    ).encode()
    with open(args.out, "wb") as raw, gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0
    ) as out:
        out.write(data)
    print(
        f"{args.out}: {len(versions)} versions, {len(bodies)} distinct definitions, "
        f"{len(data)} bytes, {Path(args.out).stat().st_size} compressed"
    )


if __name__ == "__main__":
    main()
