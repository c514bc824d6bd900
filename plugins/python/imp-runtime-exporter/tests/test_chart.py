"""Unit tests of the exporter's pure renderer (no WebAssembly needed).

Run from plugins/python/imp-runtime-exporter: python -m unittest
"""

import json
import unittest
from types import SimpleNamespace

from exporter.chart import render
from exporter.values import InvalidValues


def make_input(values: dict, release: str = "imprun", app_version: str = "1.0.0"):
    return SimpleNamespace(
        values_json=json.dumps(values),
        release=SimpleNamespace(name=release, namespace="imprun-system", revision=1, is_install=True, is_upgrade=False),
        chart=SimpleNamespace(name="imp-runtime-exporter", version="0.1.0", app_version=app_version),
        capabilities=SimpleNamespace(kube_version="v1.31.0", api_versions=["apps/v1", "v1"]),
        secrets=[],
        certificates=[],
    )


def objects(values: dict, **kw) -> dict:
    """The rendered objects by kind; a kind rendered twice fails the test
    instead of one object silently hiding the other."""
    out = render(make_input(values, **kw), lambda level, message: None)
    by_kind = {}
    for _, obj in out["manifests"]:
        if obj["kind"] in by_kind:
            raise AssertionError(f"{obj['kind']} rendered twice")
        by_kind[obj["kind"]] = obj
    return by_kind


class RenderTest(unittest.TestCase):
    def test_defaults_give_deployment_and_service(self):
        objs = objects({})
        self.assertEqual(sorted(objs), ["Deployment", "Service"])
        dep = objs["Deployment"]
        self.assertEqual(dep["metadata"]["name"], "imprun-imp-runtime-exporter")
        container = dep["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["image"], "junsik/imp-runtime-exporter:1.0.0")
        self.assertEqual(container["ports"][0]["containerPort"], 9100)
        self.assertEqual(container["livenessProbe"]["httpGet"], {"path": "/metrics", "port": "metrics"})

    def test_scrape_annotations_follow_metrics_values(self):
        svc = objects({"metrics": {"port": 9300, "path": "/m"}, "service": {"annotations": {"x": 1}}})["Service"]
        self.assertEqual(
            svc["metadata"]["annotations"],
            {"prometheus.io/path": "/m", "prometheus.io/port": "9300", "prometheus.io/scrape": "true", "x": "1"},
        )
        svc = objects({"metrics": {"scrape": False}})["Service"]
        self.assertNotIn("annotations", svc["metadata"])

    def test_selector_matches_pod_labels(self):
        dep = objects({"podLabels": {"team": "a"}})["Deployment"]
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        for key, value in dep["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(pod_labels[key], value)
        self.assertEqual(pod_labels["team"], "a")
        self.assertEqual(pod_labels["app.kubernetes.io/component"], "metrics")

    def test_global_registry_and_pull_secrets(self):
        dep = objects(
            {
                "global": {"imageRegistry": "reg.example/", "imagePullSecrets": ["a", {"name": "b"}]},
                "imagePullSecrets": [{"name": "a"}, "c"],
                "image": {"tag": 2.1},
            }
        )["Deployment"]
        pod = dep["spec"]["template"]["spec"]
        self.assertEqual(pod["containers"][0]["image"], "reg.example/junsik/imp-runtime-exporter:2.1")
        self.assertEqual(pod["imagePullSecrets"], [{"name": "a"}, {"name": "b"}, {"name": "c"}])

    def test_bad_values_name_the_key(self):
        cases = [
            ({"replicaCount": "3"}, "replicaCount"),
            ({"metrics": {"port": 70000}}, "metrics.port"),
            ({"metrics": {"path": "metrics"}}, "metrics.path"),
            ({"service": {"type": "Internal"}}, "service.type"),
            ({"service": {"nodePort": 30100}}, "service.nodePort"),
            ({"image": {"pullPolicy": "Sometimes"}}, "image.pullPolicy"),
            ({"env": {"1BAD": "x"}}, "env.1BAD"),
            ({"resources": []}, "resources"),
        ]
        for values, key in cases:
            with self.subTest(key=key):
                with self.assertRaises(InvalidValues) as caught:
                    objects(values)
                self.assertEqual(caught.exception.key, key)
                self.assertIn(f"'{key}'", str(caught.exception))

    def test_output_is_deterministic(self):
        values = {"env": {"B": "2", "A": "1"}, "podAnnotations": {"z": "1", "a": "2"}}
        first = json.dumps(render(make_input(values), lambda *_: None))
        self.assertEqual(first, json.dumps(render(make_input(values), lambda *_: None)))
        env = objects(values)["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
        self.assertEqual([e["name"] for e in env], ["A", "B"])


if __name__ == "__main__":
    unittest.main()
