#!/usr/bin/env python3
"""Writes the schema-strictness cases and what Helm's own engine does with each.

Each case is a chart tree plus user values (`user.yaml`, given as `-f user.yaml`); Helm v4
(PyPI helm-python-sdk, offline, the same engine scripts/helm_twin_check.py drives) renders it
from a fresh load, and `expected.json` records whether Helm accepted the values or its error
verbatim, with the key parts (`parts`) wasmchart's message must name for the same failure.

    .venv/bin/python crates/values/tests/data/schema/generate.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import helm_python as helm
import yaml

HERE = Path(__file__).resolve().parent

STRICT = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {"port": {"type": "integer", "minimum": 1}, "image": {"type": "string"}},
}
DECLARES_INJECTED = {
    **STRICT,
    "properties": {**STRICT["properties"], "global": {"type": "object"}, "enabled": {"type": "boolean"}},
}
# cert-manager's layout: the root is a $ref, so the root has no `properties` of its own.
REF_ROOT = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$ref": "#/$defs/helm-values",
    "$defs": {
        "helm-values": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "global": {"$ref": "#/$defs/helm-values.global"},
                "enabled": {"type": "boolean"},
                "port": {"type": "integer"},
            },
        },
        "helm-values.global": {
            "type": "object",
            "properties": {"logLevel": {"type": "number"}},
        },
    },
}
TEMPLATE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}\n"


def chart_yaml(name: str, deps: str = "") -> str:
    return f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n{deps}"


SUB_DEP = "dependencies:\n- name: sub\n  version: 0.1.0\n  condition: sub.enabled\n"

CASES: dict[str, dict] = {
    "strict-sub-refuses-injected-global-and-enabled": {
        "description": "A strict subchart schema that declares neither `global` nor `enabled`: "
        "the umbrella's globals and the condition key reach the subchart's values, and Helm "
        "validates them like any other key.",
        "files": {
            "Chart.yaml": chart_yaml("top", SUB_DEP),
            "values.yaml": "global:\n  domain: x\nsub:\n  enabled: true\n",
            "charts/sub/Chart.yaml": chart_yaml("sub"),
            "charts/sub/values.yaml": "port: 80\nimage: app\n",
            "charts/sub/values.schema.json": STRICT,
        },
        "user": {},
        "parts": ["sub", "additionalProperties", "enabled", "global"],
    },
    "strict-sub-global-without-enabled": {
        "description": "No condition key set, no globals defined anywhere: Helm still gives "
        "the subchart `global: {}`, which a strict schema refuses.",
        "files": {
            "Chart.yaml": chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
            "charts/sub/Chart.yaml": chart_yaml("sub"),
            "charts/sub/values.yaml": "port: 80\n",
            "charts/sub/values.schema.json": STRICT,
        },
        "user": {},
        "parts": ["sub", "additionalProperties", "global"],
    },
    "strict-sub-declaring-global-and-enabled": {
        "description": "The same strict schema, declaring `global` and `enabled`: accepted.",
        "files": {
            "Chart.yaml": chart_yaml("top", SUB_DEP),
            "values.yaml": "global:\n  domain: x\nsub:\n  enabled: true\n",
            "charts/sub/Chart.yaml": chart_yaml("sub"),
            "charts/sub/values.yaml": "port: 80\nimage: app\n",
            "charts/sub/values.schema.json": DECLARES_INJECTED,
        },
        "user": {},
    },
    "ref-root-global-type-refused": {
        "description": "cert-manager's schema layout (the root is a $ref): a global of the wrong "
        "type is refused in the subchart that receives it.",
        "files": {
            "Chart.yaml": chart_yaml("top", SUB_DEP),
            "values.yaml": "sub:\n  enabled: true\n",
            "charts/sub/Chart.yaml": chart_yaml("sub"),
            "charts/sub/values.yaml": "port: 80\n",
            "charts/sub/values.schema.json": REF_ROOT,
        },
        "user": {"global": {"logLevel": "4"}},
        "parts": ["sub", "global.logLevel", "type", "user.yaml"],
    },
    "ref-root-global-type-accepted": {
        "description": "The same chart with a number: accepted.",
        "files": {
            "Chart.yaml": chart_yaml("top", SUB_DEP),
            "values.yaml": "sub:\n  enabled: true\n",
            "charts/sub/Chart.yaml": chart_yaml("sub"),
            "charts/sub/values.yaml": "port: 80\n",
            "charts/sub/values.schema.json": REF_ROOT,
        },
        "user": {"global": {"logLevel": 4}},
    },
    "umbrella-strict-schema-without-global": {
        "description": "The umbrella's own strict schema sees the umbrella's values: `global` "
        "only when some values define it.",
        "files": {
            "Chart.yaml": chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
            "values.yaml": "sub:\n  port: 81\n",
            "values.schema.json": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"sub": {"type": "object"}},
            },
            "charts/sub/Chart.yaml": chart_yaml("sub"),
            "charts/sub/values.yaml": "port: 80\n",
        },
        "user": {},
    },
    "umbrella-strict-schema-with-global": {
        "description": "The same umbrella schema once the user sets a global: refused at the root.",
        "files": {
            "Chart.yaml": chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
            "values.yaml": "sub:\n  port: 81\n",
            "values.schema.json": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"sub": {"type": "object"}},
            },
            "charts/sub/Chart.yaml": chart_yaml("sub"),
            "charts/sub/values.yaml": "port: 80\n",
        },
        "user": {"global": {"domain": "x"}},
        "parts": ["top", "additionalProperties", "global"],
    },
    "nested-subchart-validated-with-its-section": {
        "description": "A subchart's subchart is validated against its own section of the values.",
        "files": {
            "Chart.yaml": chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
            "charts/sub/Chart.yaml": chart_yaml("sub", "dependencies:\n- name: inner\n  version: 0.1.0\n"),
            "charts/sub/charts/inner/Chart.yaml": chart_yaml("inner"),
            "charts/sub/charts/inner/values.yaml": "port: 80\n",
            "charts/sub/charts/inner/values.schema.json": DECLARES_INJECTED,
        },
        "user": {"sub": {"inner": {"port": 0}}},
        "parts": ["sub.inner", "sub.inner.port", "minimum", "user.yaml"],
    },
    "alias-validated-under-its-alias": {
        "description": "An aliased subchart is validated against the alias's section.",
        "files": {
            "Chart.yaml": chart_yaml(
                "top", "dependencies:\n- name: sub\n  alias: api\n  version: 0.1.0\n"
            ),
            "charts/sub/Chart.yaml": chart_yaml("sub"),
            "charts/sub/values.yaml": "port: 80\n",
            "charts/sub/values.schema.json": DECLARES_INJECTED,
        },
        "user": {"api": {"port": "eighty"}},
        "parts": ["api", "api.port", "type", "user.yaml"],
    },
    "disabled-subchart-not-validated": {
        "description": "A disabled subchart's schema is not applied to its (invalid) values.",
        "files": {
            "Chart.yaml": chart_yaml("top", SUB_DEP),
            "charts/sub/Chart.yaml": chart_yaml("sub"),
            "charts/sub/values.yaml": "port: 80\n",
            "charts/sub/values.schema.json": STRICT,
        },
        "user": {"sub": {"enabled": False, "port": 0}},
    },
}


def write_case(name: str, case: dict) -> Path:
    d = HERE / name
    shutil.rmtree(d, ignore_errors=True)
    for rel, content in case["files"].items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(content, indent=2) + "\n" if isinstance(content, dict) else content
        p.write_text(text)
        if rel.endswith("Chart.yaml"):
            (p.parent / "templates").mkdir(exist_ok=True)
            (p.parent / "templates" / "cm.yaml").write_text(TEMPLATE)
    (d / "user.yaml").write_text(yaml.safe_dump(case["user"], sort_keys=True))
    return d


def main() -> None:
    for name, case in CASES.items():
        d = write_case(name, case)
        expected: dict = {"description": case["description"], "flags": ["-f", "user.yaml"]}
        try:
            helm.Chart.load(str(d)).render(case["user"], name="rel", namespace="ns")
            outcome = None
        except helm.HelmValuesError as e:
            outcome = str(e)
        except helm.HelmError as e:
            outcome = str(e)
        if outcome is None:
            expected["accepted"] = True
            assert "parts" not in case, f"{name}: Helm accepted a case expected to fail"
        else:
            expected["accepted"] = False
            expected["helm_error"] = outcome
            expected["parts"] = case["parts"]
        (d / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
        print(f"{name}: {'accepted' if outcome is None else outcome!r}")


if __name__ == "__main__":
    main()
