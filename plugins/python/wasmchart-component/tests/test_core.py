"""Unit tests of the render wrapper (no componentize-py needed): every
failure the issue lists becomes a render-error with its real message.

Run from plugins/python/wasmchart-component: python -m unittest
"""

import unittest
from pathlib import Path

import wasmchart_component as wc
from wasmchart_component import Err, Failed, InvalidValues, Ok, Unsupported, define_render, make_input, run

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}


def err(fn, values=None) -> Err:
    out = run(fn, make_input(values or {}))
    assert isinstance(out, Err), f"expected an error, got {out!r}"
    return out


class Wrapper(unittest.TestCase):
    def test_good_output_and_values(self):
        def render(input):
            return {
                "manifests": [
                    {"source": "templates/a.yaml", "content": {**CM, "data": {"n": str(input.values["n"])}}},
                    ("templates/b.yaml", "kind: ConfigMap"),
                ],
                "notes": f"hello {input.release.name}",
            }

        out = run(render, make_input({"n": 3}, release="demo"))
        self.assertEqual(out, Ok(
            [wc.Manifest("templates/a.yaml", '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"n":"3"}}'),
             wc.Manifest("templates/b.yaml", "kind: ConfigMap")],
            "hello demo"))

    def test_exception_keeps_type_message_and_frames(self):
        def render_db(input):
            raise RuntimeError("the database section is missing")

        e = err(render_db)
        self.assertEqual(e.kind, "failed")
        self.assertRegex(e.message, r"^RuntimeError: the database section is missing \(at tests/test_core\.py:\d+ in render_db\)$")

    def test_key_error_names_the_key(self):
        e = err(lambda input: input.values["image"]["tag"])
        self.assertEqual(e.kind, "failed")
        self.assertRegex(e.message, r"^KeyError: 'image' \(a missing key\) \(at tests/test_core\.py:\d+ in <lambda>\)$")

    def test_type_error(self):
        e = err(lambda input: input.values["n"] + "x", {"n": 1})
        self.assertRegex(e.message, r"^TypeError: unsupported operand type\(s\) for \+: 'int' and 'str' \(at ")

    def test_helpers_choose_the_case(self):
        def raiser(exc):
            def f(input):
                raise exc
            return f
        self.assertEqual(err(raiser(InvalidValues("replicas: expected a number"))),
                         Err("invalid-values", "replicas: expected a number"))
        self.assertEqual(err(raiser(Unsupported("no networking.k8s.io/v1"))), Err("unsupported", "no networking.k8s.io/v1"))
        self.assertEqual(err(raiser(Failed("upstream"))), Err("failed", "upstream"))

    def test_return_shape_mistakes_name_the_field(self):
        cases = [
            (None, "render returned None: expected a dict {'manifests': [...], 'notes': ...}"),
            ([], "render returned a list: expected a dict {'manifests': [...], 'notes': ...}"),
            ({"objects": []}, "render returned a dict without 'manifests' (it has objects): expected {'manifests': [...], 'notes': ...}"),
            ({"manifests": {}}, "manifests: expected a list, found a dict"),
            ({"manifests": [None]}, "manifests[0]: expected a dict {'source': ..., 'content': ...} or a (source, content) pair, found None"),
            ({"manifests": [{"content": "x"}]}, "manifests[0].source: expected a non-empty string (e.g. 'templates/deployment.yaml'), found None"),
            ({"manifests": [("a", "x"), ("b", "y"), ("c", [CM])]},
             "manifests[2].content: expected a string (YAML or JSON text) or a dict, found a list"),
            ({"manifests": [("a", 42)]}, "manifests[0].content: expected a string (YAML or JSON text) or a dict, found an int"),
            ({"manifests": [("a", {"x": float("nan")})]},
             "manifests[0].content: cannot serialise the dict as JSON: Out of range float values are not JSON compliant"),
            ({"manifests": [], "notes": 7}, "notes: expected a string, found an int"),
            ({"manifests": [], "note": "x"}, "render returned unknown keys note: expected only 'manifests' and 'notes'"),
        ]
        for returned, message in cases:
            with self.subTest(returned=returned):
                self.assertEqual(err(lambda input, r=returned: r), Err("failed", message))

    def test_invalid_values_json(self):
        out = run(lambda input: {"manifests": []}, make_input().__class__(values_json="{nope"))
        self.assertEqual(out.kind, "invalid-values")
        self.assertTrue(out.message.startswith("values_json is not valid JSON: "), out.message)

    def test_define_render_without_bindings(self):
        world = define_render(lambda input: {"manifests": [("s", CM)]})
        self.assertIsInstance(world().render(make_input()), Ok)
        with self.assertRaisesRegex(TypeError, "define_render: expected a function, found dict"):
            define_render({})

    def test_bundled_wit_is_the_repository_one(self):
        here = Path(__file__).resolve().parent
        repo_wit = here.parents[3] / "wit" / "chart.wit"
        if not repo_wit.exists():
            self.skipTest("not inside the wasmchart repository")
        bundled = here.parent / "wasmchart_component" / "wit" / "chart.wit"
        self.assertEqual(bundled.read_bytes(), repo_wit.read_bytes(),
                         "wasmchart_component/wit/chart.wit differs from the repository copy")


class BuildArgs(unittest.TestCase):
    def test_command_line(self):
        from wasmchart_component import build
        cmd = build.command(Path("/x/app.py"), Path("/o/.a.tmp"), Path("/staged"), ["/extra"], runner=["cpy"])
        self.assertEqual(cmd[:6], ["cpy", "--quiet", "-d", str(build.PACKAGE_DIR / "wit"), "-w", "subchart"])
        i = cmd.index("componentize")
        self.assertEqual(cmd[i:i + 2], ["componentize", "app"])
        self.assertEqual(cmd[i + 2:], ["-p", "/x", "-p", "/staged", "-p", "/extra", "--stub-wasi", "-o", "/o/.a.tmp"])

    def test_missing_source_is_refused(self):
        from wasmchart_component import build
        import contextlib
        import io
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.assertEqual(build.build(["/nonexistent/app.py", "-o", "/tmp/x.wasm"]), 1)
        self.assertIn("error: component source '/nonexistent/app.py' is not a .py file", stderr.getvalue())


if __name__ == "__main__":
    unittest.main()
