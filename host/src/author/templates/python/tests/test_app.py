"""Unit tests of the {{name}} component, in plain Python: `python -m unittest`."""

import json
import unittest

from wasmchart_component import Err, Ok, make_input, run

from app import render

# A release name that cannot contain the chart's name (Helm's fullname would drop it).
RELEASE = "1001"


class Render(unittest.TestCase):
    def test_renders_the_message_into_a_config_map(self):
        out = run(render, make_input({"message": "hi"}, chart="{{name}}", release=RELEASE))
        self.assertIsInstance(out, Ok, out)
        self.assertEqual(len(out.manifests), 1)
        cm = json.loads(out.manifests[0].content)
        self.assertEqual(cm["kind"], "ConfigMap")
        self.assertEqual(cm["metadata"]["name"], "1001-{{name}}")
        self.assertEqual(cm["data"]["message"], "hi")

    def test_a_message_of_the_wrong_type_names_the_key(self):
        out = run(render, make_input({"message": 3}, chart="{{name}}", release=RELEASE))
        self.assertEqual(out, Err("invalid-values", "key 'message': expected a non-empty string, found 3"))


if __name__ == "__main__":
    unittest.main()
