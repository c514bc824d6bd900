#!/usr/bin/env python3
"""Regenerates helm-order.json: builds the chart that host/tests/all/crds.rs builds
(every path in "files", a one-line YAML comment each) in a temporary directory,
asks Helm's own loader (helm-python-sdk, offline) for Chart.CRDObjects(), the list
`helm template --include-crds` prints first, and writes the file names in
Helm's order to "helm_sources".

    .venv/bin/python host/tests/data/crds/helm_order.py
"""

import json
import tempfile
from pathlib import Path

import helm_python as helm

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "helm-order.json"

CHARTS = {
    "": "apiVersion: v2\nname: u\nversion: 0.1.0\ndependencies:\n  - name: child\n    version: 0.1.0\n",
    "charts/child/": "apiVersion: v2\nname: child\nversion: 0.1.0\ndependencies:\n  - name: grand\n    version: 0.1.0\n",
    "charts/child/charts/grand/": "apiVersion: v2\nname: grand\nversion: 0.1.0\n",
}


def main() -> None:
    fixture = json.loads(FIXTURE.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "u"
        for prefix, chart_yaml in CHARTS.items():
            (root / prefix).mkdir(parents=True, exist_ok=True)
            (root / prefix / "Chart.yaml").write_text(chart_yaml)
        for name in fixture["files"]:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# {name}\n")
        with helm.Chart.load(str(root)) as chart:
            fixture["helm_sources"] = [crd["filename"] for crd in chart.crds]
    FIXTURE.write_text(json.dumps(fixture, indent=2) + "\n")


if __name__ == "__main__":
    main()
