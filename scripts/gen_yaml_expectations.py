#!/usr/bin/env python3
"""Writes crates/values/tests/data/yaml-helm/*.json: what Helm itself makes of each YAML case.

Each case is a values.yaml text. The script loads a throwaway chart holding it with Helm's own
Go engine (PyPI helm-python-sdk, offline: the chart loader's LoadValues, i.e. the
apimachinery document splitter, sigs.k8s.io/yaml and go-yaml v2, exactly as `helm template`
reads a chart's values.yaml or a `-f` file) and records either the values Helm computed or
Helm's refusal. The Rust test (crates/values/tests/all/yaml_helm.rs) replays every file, so
the tests never need Python or Helm.

A refusal case names a `key`: a phrase that must appear in Helm's message (checked here, so the
phrase is Helm's) and in ours (checked by the test, with our file:line:col).

    .venv/bin/python scripts/gen_yaml_expectations.py [--check]

--check compares with the committed files instead of writing them (exit 1 on a difference).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

try:
    import helm_python as helm
    from helm_python import _native
except ImportError as missing:  # pragma: no cover - reported to the user
    sys.exit(f"gen_yaml_expectations: {missing.name} missing; run scripts/setup.sh, use .venv/bin/python")

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates" / "values" / "tests" / "data" / "yaml-helm"

# (name, values.yaml text, key phrase if Helm refuses it)
CASES: list[tuple[str, str, str | None]] = [
    # --- the list
    ("bom-first-key", "\ufeffa: 1\nb: 2\n", None),
    ("bom-then-comment", "\ufeff# comment\na: 1\n", None),
    ("bom-then-separator", "\ufeff---\na: 1\n", None),
    ("flow-seq-multiline", 'args: [\n  "server", "-dev"\n]\n', None),
    ("flow-seq-multiline-nested", 'a:\n  args: [\n  "server",\n    "-dev"\n  ]\n  b: 1\n', None),
    ("flow-map-multiline-json", 'cfg: {\n  "a": 1,\n  "b": [1, 2],\n  "c": {"d": null}\n}\n', None),
    ("flow-map-json-less-indented", 'a:\n  b: {\n"x": 1\n}\n', None),
    ("flow-trailing-comma", "a: [1, 2, ]\nb: {x: 1, }\n", None),
    ("block-scalar-empty-eof", "a: |", None),
    ("block-scalar-empty-eof-nl", "a: |\n", None),
    ("block-scalar-empty-then-key", "a: |\nb: 1\n", None),
    ("block-scalar-keep-empty-eof", "a: |+\n", None),
    ("tab-after-colon", "a:\t1\nb:\t\"x\"\n", None),
    ("tab-after-dash", "a:\n-\t1\n", "found character that cannot start any token"),
    ("tab-indent", "a:\n\tb: 1\n", "found character that cannot start any token"),
    ("tab-before-comment", "a: 1\t# c\n", None),
    ("tab-inside-plain", "a: x\ty\n", None),
    ("quoted-continued-key-column", 'a: "one\ntwo"\nb: 1\n', None),
    ("single-quoted-continued-key-column", "a: 'one\ntwo'\n", None),
    ("quoted-continued-col0-nested", 'x:\n  a: "one\n  two\nthree"\n', None),
    ("escape-slash", 'a: "\\/"\n', "found unknown escape character"),
    ("escape-all-valid", 'a: "\\0\\a\\b\\t\\\t\\n\\v\\f\\r\\e\\ \\"\\\\\\N\\_\\L\\P\\x41\\u00e9\\U0001F600"\n', None),
    ("escape-line-continuation", 'a: "one \\\n  two"\n', None),
    ("escape-bad-hex", 'a: "\\xZZ"\n', "did not find expected hexdecimal number"),
    ("escape-surrogate", 'a: "\\ud800"\n', "found invalid Unicode character escape code"),
    ("yaml-directive", "%YAML 1.1\n---\na: 1\n", "did not find expected <document start>"),
    ("yaml-directive-same-chunk", "%YAML 1.1\n--- \na: 1\n", "did not find expected <document start>"),
    ("block-tab-after-indent", "a: |\n  x\n  \ty\n", None),
    ("nel-in-quoted", "a: \"p\u0085q\"\n", None),
    ("yaml-directive-12", "%YAML 1.2\n---\na: 1\n", "found incompatible YAML document"),
    ("tag-directive", "%TAG !e! tag:example.com,2000:\n---\na: !e!foo 1\n", "did not find expected <document start>"),
    ("separator-glued", "---foo\na: 1\n", "invalid Yaml document separator"),
    ("separator-with-value", "--- a: 1\n", "invalid Yaml document separator"),
    ("separator-comment", "--- # first\na: 1\n--- # second\nb: 2\n", None),
    ("separator-dashes4", "a: 1\n----\nb: 2\n", "invalid Yaml document separator"),
    ("separator-crlf", "a: 1\r\n---\r\nb: 2\r\n", None),
    ("int-key-20-digits", "12345678901234567890: x\n", "unsupported map key of type: uint64"),
    ("int-key-21-digits", "123456789012345678901: x\n", None),
    ("float-overflow", "a: 1e400\nb: -1e400\n", None),
    ("float-underflow", "a: 1e-400\n", None),
    ("binary", "a: !!binary aGVsbG8=\n", None),
    ("binary-block", "a: !!binary |\n  aGVs\n  bG8=\n", None),
    ("binary-invalid", "a: !!binary '!!!'\n", "!!binary value contains invalid base64 data"),
    ("binary-not-utf8", "a: !!binary /w==\n", None),
    # --- document structure
    ("multi-doc-merge", "a: 1\nm: {x: 1}\n---\nb: 2\nm: {y: 2}\n", None),
    ("multi-doc-empty", "---\n---\na: 1\n---\n", None),
    ("multi-doc-anchor-across", "a: &x 1\n---\nb: *x\n", "unknown anchor 'x' referenced"),
    ("doc-end-marker", "a: 1\n...\n", None),
    ("doc-end-then-more", "a: 1\n...\nb: 2\n", None),
    ("doc-end-then-garbage", 'a: 1\n...\nb: "\\/"\n', None),
    ("empty-file", "", None),
    ("only-comments", "# a\n# b\n", None),
    ("only-null", "~\n", None),
    ("doc-is-list", "- 1\n- 2\n", "cannot unmarshal array"),
    ("doc-is-string", "hello\n", "cannot unmarshal string"),
    ("doc-is-number", "42\n", "cannot unmarshal number"),
    ("second-doc-is-list", "a: 1\n---\n- 1\n", "cannot unmarshal array"),
    ("crlf", "a: 1\r\nb:\r\n  c: |\r\n    x\r\n    y\r\n", None),
    ("cr-only", "a: 1\rb: 2\r", None),
    ("no-final-newline", "a: 1\nb: two", None),
    # --- scalars (YAML 1.1 as go-yaml v2 resolves them)
    ("bools-yaml11", "a: [y, Y, yes, Yes, YES, n, N, no, No, NO, on, On, ON, off, Off, OFF, true, True, TRUE, false, False, FALSE, yEs, oN]\n", None),
    ("nulls", "a: [~, null, Null, NULL, nUll, '']\nb:\nc: ~\n", None),
    ("ints", "a: [0, -0, +1, 0755, 0o755, 0x1F, -0x1F, 0b101, -0b101, 1_000, 0_7, 08, 09.5, 00, 0xFFFFFFFFFFFFFFFF, 9223372036854775807, 9223372036854775808, -9223372036854775808, -9223372036854775809, 12345678901234567890]\n", None),
    ("floats", "a: [1.5, -1.5, .5, 1., 1e5, 1E5, 1e+5, 1.5e-3, +.5, 1_0.5, 6.8523015e+5, 685.230_15e+03, 0x1p3, 1.2.3, 3e]\n", None),
    ("inf-nan-values", "a: .inf\n", "unsupported value: +Inf"),
    ("nan-value", "a: .nan\n", "unsupported value: NaN"),
    ("neg-inf-value", "a: -.Inf\n", "unsupported value: -Inf"),
    ("inf-like-strings", "a: [.infinity, inf, nan, .NaN_, -.inf.]\n", None),
    ("sexagesimal", "a: 1:20\nb: 190:20:30.15\nc: -1:30\n", None),
    ("timestamps", "a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10\nd: 2002-12-14T21:59:43Z\n", None),
    ("timestamp-key", "2001-12-14: x\n", None),
    ("plain-with-colon-hash", "a: b:c\nd: e #f\ng: h#i\nurl: http://x.y/z?a=b#c\nk: 'x: y'\n", None),
    ("plain-multiline", "a: one\n  two\n\n  three\nb: x\n", None),
    ("plain-special-starts", "a: -x\nb: ?x\nc: :x\nd: <<\ne: =\n", None),
    ("plain-indicator-start-refused", "a: @x\n", "found character that cannot start any token"),
    ("plain-backtick-refused", "a: `x\n", "found character that cannot start any token"),
    ("quoted-styles", "a: 'it''s'\nb: \"q\\\"\"\nc: 'multi\n\n  line'\nd: \"x\n\n  y\"\n", None),
    ("quoted-numbers-stay-strings", "a: '1'\nb: \"true\"\nc: 'null'\n", None),
    ("unicode", "名前: 値\nemoji: \"😀\"\n", None),
    ("nel-ls-ps", "a: x\u0085y\nb: \"p\u2028q\"\n", "could not find expected ':'"),
    # --- block scalars
    ("block-literal", "a: |\n  one\n  two\n\n\nb: 1\n", None),
    ("block-strip", "a: |-\n  one\n\n", None),
    ("block-keep", "a: |+\n  one\n\n\nb: 1\n", None),
    ("block-folded", "a: >\n  one\n  two\n\n  three\n    indented\n  four\n", None),
    ("block-folded-strip", "a: >-\n  one\n  two\n", None),
    ("block-indent-indicator", "a: |2\n    x\n  y\n", None),
    ("block-indent-indicator-keep", "a: >+1\n  x\n", None),
    ("block-leading-blank-lines", "a: |\n\n\n  x\n", None),
    ("block-more-indented-first", "a: |\n    x\n  y\n", "did not find expected key"),
    ("block-with-comment-header", "a: | # note\n  x\n", None),
    ("block-tab-content", "a: |\n  \tx\n", "found a tab character where an indentation space is expected"),
    ("block-top-level", "--- |\n  x\n", "invalid Yaml document separator"),
    ("block-in-list", "a:\n- |\n  x\n- >\n  y\n  z\n", None),
    # --- collections, keys
    ("nested", "a:\n  b:\n    c: [1, {d: e}]\n  l:\n  - x\n  - y: 1\n    z: 2\n  -\n  - - nested\n", None),
    ("list-same-indent", "a:\n- 1\n- 2\nb: 3\n", None),
    ("empty-values", "a:\nb: {}\nc: []\nd: ''\n", None),
    ("explicit-key", "? a\n: 1\n? b\n", None),
    ("complex-key-refused", "? [a, b]\n: 1\n", "invalid map key"),
    ("map-key-refused", "{a: 1}: x\n", "invalid map key"),
    ("key-types", "1: a\n-2: b\n1.5: c\ntrue: d\nno: e\n0x10: f\n1e3: g\n.inf: h\n-.inf: i\n", None),
    ("key-float-precision", "0.1: a\n3.14159265358979: b\n100000000: c\n1e7: d\n1.0: e\n", None),
    ("null-key", "~: a\n", "unsupported map key"),
    ("null-key-empty", ": a\n", "did not find expected key"),
    ("quoted-keys", "'1': a\n\"true\": b\n'': c\n", None),
    ("duplicate-keys", "a: 1\na: 2\nb: {x: 1, x: 2}\n", None),
    ("duplicate-nested-maps", "a:\n  x: 1\na:\n  y: 2\n", None),
    ("key-with-spaces", "a b: 1\n'c d': 2\n", None),
    ("flow-in-block", "a: {b: [1, 2], c: {d: e}}\n", None),
    ("flow-single-pair", "a: [b: c, d: e]\n", None),
    ("flow-implicit-null", "a: {b, c: }\n", None),
    ("flow-quoted-json-keys", 'a: {"b":1,"c":"d"}\n', None),
    ("json-document", '{"a": 1, "b": [true, null, "x"], "c": {"d": 1.5}}\n', None),
    ("json-document-multiline", '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}\n', None),
    ("flow-unclosed", "a: [1, 2\n", "did not find expected ',' or ']'"),
    ("flow-map-unclosed", "a: {b: 1\n", "did not find expected ',' or '}'"),
    ("bad-indent", "a: 1\n  b: 2\n", "mapping values are not allowed in this context"),
    ("bad-indent-list", "a:\n  - 1\n - 2\n", "did not find expected key"),
    ("unclosed-quote", 'a: "x\n', "found unexpected end of stream"),
    ("unclosed-single-quote", "a: 'x\n", "found unexpected end of stream"),
    ("colon-in-flow-plain", "a: [b:c]\n", None),
    ("comment-odd-places", "# top\na: # after key\n  # between\n  b: 1 # trailing\n  # end\nc: [1, # in flow\n  2]\n", None),
    ("comment-needs-space", "a: b#c\nd: e #f\n", None),
    ("indentation-deep", "a:\n   b:\n         c: 1\n   d: 2\n", None),
    ("list-in-list-compact", "- - a\n", "cannot unmarshal array"),
    ("trailing-spaces", "a: x   \nb:   \n", None),
    ("key-trailing-space-colon", "a : 1\n", None),
    # --- anchors, aliases, merges
    ("anchors", "a: &x {p: 1}\nb: *x\nc: &s str\nd: *s\ne: &l [1]\nf: *l\n", None),
    ("anchor-redefined", "a: &x 1\nb: &x 2\nc: *x\n", None),
    ("alias-unknown", "a: *nope\n", "unknown anchor 'nope' referenced"),
    ("merge-one", "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n", None),
    ("merge-list", "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nm:\n  <<: [*a, *b]\n  w: 0\n", None),
    ("merge-before-keys-overrides", "b: &b {x: 1}\nm:\n  x: 0\n  <<: *b\n", None),
    ("merge-inline", "m:\n  <<: {x: 1}\n  y: 2\n", None),
    ("merge-nested", "a: &a {x: {p: 1}}\nm:\n  <<: *a\n  x: {q: 2}\n", None),
    ("merge-scalar-refused", "a: &a 1\nm:\n  <<: *a\n", "map merge requires map or sequence of maps as the value"),
    ("merge-list-scalar-refused", "m:\n  <<: [1]\n", "map merge requires map or sequence of maps as the value"),
    ("merge-quoted-is-key", "m:\n  '<<': 1\n", None),
    ("merge-value-string", "a: <<\n", None),
    ("merge-tagged", "b: &b {x: 1}\nm:\n  !!merge <<: *b\n", None),
    ("alias-as-key", "a: &k key\n*k : v\n", None),
    ("anchor-on-empty", "a: &e\nb: *e\n", None),
    ("self-alias-refused", "a: &a [*a]\n", "anchor 'a' value contains itself"),
    # --- tags
    ("tags-core", "a: !!str 12\nb: !!int '12'\nc: !!float 1\nd: !!bool yes\ne: !!null ~\nf: !!str\ng: !!timestamp 2001-01-01\n", None),
    ("tag-int-bad", "a: !!int abc\n", "cannot decode !!str `abc` as a !!int"),
    ("tag-float-bad", "a: !!float x\n", "cannot decode !!str `x` as a !!float"),
    ("tag-bool-bad", "a: !!bool 1\n", "cannot decode !!int `1` as a !!bool"),
    ("tag-custom", "a: !foo 12\nb: !foo {x: 1}\nc: !foo [1]\nd: ! 12\ne: !<tag:yaml.org,2002:int> 7\n", None),
    ("tag-on-collections", "a: !!map {x: 1}\nb: !!seq [1]\nc: !!set {x}\nd: !!omap [a: 1]\n", None),
    ("tag-undefined-handle", "a: !e!x 1\n", "found undefined tag handle"),
    # --- from real charts (helper H's list)
    ("real-bom-crlf-overlay", "\ufeffreplicaCount: 4\r\nimage:\r\n  tag: crlf\r\n", None),
    ("real-tab-after-colon", "replicaCount:\t7\n", None),
    ("real-chainloop-flow-args", 'vault:\n  server:\n    args: [\n      "server",\n      "-dev"\n    ]\n', None),
    ("real-nats-empty-blocks", "extraContainers: |\n\nextraVolumes: |\n", None),
    ("control-character", "a: \"x\x01\"\n", "control characters are not allowed"),
    ("float-key-f32-overflow", "1e300: a\n", None),
    # --- more neighbours
    ("merge-alias-to-list", "l: &l [{a: 1}]\nm:\n  <<: *l\n", "map merge requires map or sequence of maps as the value"),
    ("merge-list-of-aliases-inline", "a: &a {x: 1}\nm:\n  <<: [*a, {y: 2}]\n", None),
    ("long-key-1024", "k" * 1020 + ": v\n", None),
    ("long-key-1100", "k" * 1100 + ": v\n", "mapping values are not allowed in this context"),
    ("quoted-key-colon-no-space", '"a":1\n', "cannot unmarshal string"),
    ("flow-json-colon-no-space", '{"a":1,"b":[1,2]}\n', None),
    ("crlf-folded", "a: >\r\n  x\r\n  y\r\n\r\n  z\r\n", None),
    ("key-tab-before-colon", "a\t: 1\n", None),
    ("anchor-on-key", "&k a: 1\nb: *k\n", None),
    ("tagged-key", "!!str 1: a\n!!int '2': b\n", None),
    ("empty-flow-entries", "a: [,]\n", "did not find expected node content"),
    ("seq-of-maps-compact", "a:\n  - b: 1\n    c: 2\n  - d: 3\n", None),
    ("comment-after-block-header-no-space", "a: |#c\n  x\n", None),
    ("document-end-then-separator", "a: 1\n...\n---\nb: 2\n", None),
    ("leading-separator-only", "---\n", None),
    ("escaped-unicode-key", '"\\u00e9": 1\n', None),
    ("seq-extra-indent", "a:\n    - x\n    - y\nb: 1\n", None),
    ("seq-empty-entries", "a:\n-\n- x\n-\n", None),
    ("folded-more-indented", "a: >\n  one\n    two\n  three\n\n  four\n", None),
    ("folded-strip-eof", "a: >-\n", None),
    ("crlf-quoted-multiline", 'a: "one\r\n  two"\r\nb: \'x\r\n\r\n  y\'\r\n', None),
    ("comment-in-flow-map", "a: {b: 1, # c\n  d: 2}\n", None),
    ("anchor-with-dot-refused", "a: &x.y 1\n", "did not find expected alphabetic or numeric character"),
    ("anchor-with-hyphen", "r: &default-res {cpu: 1}\ns: *default-res\n", None),
    ("complex-key-block-scalar", "? |\n  k\n: v\n", None),
    ("null-tag-empty", "a: !!null\nb: !!str\n", None),
    ("plain-url-in-flow", "a: [http://x:80/y, 'b']\n", None),
    ("key-only-lines", "a:\nb:\n  c:\n", None),
    ("indentation-dedent-to-outer", "a:\n  b:\n    c: 1\n  d: 2\ne: 3\n", None),
    ("value-on-next-line", "a:\n  1\nb:\n  'x'\n", None),
    ("dash-value-in-map-refused", "a: - b\n", "block sequence entries are not allowed in this context"),
    ("flow-explicit-key-empty-refused", "a: [? : x]\n", "did not find expected ',' or ']'"),
    ("flow-seq-leading-colon-refused", "a: [: x]\n", "did not find expected node content"),
    ("flow-seq-pair-empty-value", "a: [b: ]\n", None),
    # --- which error Helm reports first (a whole piece parses before it is decoded)
    ("order-syntax-after-null-key", "~: a\nb: [1\n", "did not find expected ',' or ']'"),
    ("order-syntax-after-bad-tag", "a: !!int x\nb: \"\\/\"\n", "found unknown escape character"),
    ("order-decode-before-key", "~: a\nb: !!int x\n", "cannot decode !!str `x` as a !!int"),
    ("order-key-before-json", "a: .inf\n~: b\n", "unsupported map key"),
    ("order-list-piece-before-syntax", "- 1\n---\nb: [1\n", "cannot unmarshal array"),
    ("order-syntax-piece-before-list", "b: [1\n---\n- 1\n", "did not find expected ',' or ']'"),
    # --- bounds
    ("deep-flow", "a: " + "[" * 100 + "]" * 100 + "\n", None),
]


def helm_values(text: str) -> tuple[object | None, str | None]:
    """(values, None) or (None, Helm's error) for a chart whose values.yaml is `text`."""
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "c"
        (chart / "templates").mkdir(parents=True)
        (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
        (chart / "values.yaml").write_bytes(text.encode("utf-8"))
        try:
            loaded = helm.Chart.load(str(chart))
        except helm.HelmError as e:
            return None, str(e)
        with loaded:
            raw = _native.call_string("helm_chart_values", loaded._raw())
        return json.loads(raw), None


def build() -> dict[str, dict]:
    out: dict[str, dict] = {}
    problems: list[str] = []
    names = set()
    for name, text, key in CASES:
        if name in names:
            raise SystemExit(f"duplicate case name {name}")
        names.add(name)
        values, error = helm_values(text)
        case: dict = {"name": name, "input": text}
        if error is None:
            if key is not None:
                problems.append(f"{name}: Helm accepted it (got {values!r}), the case expects a refusal")
            case["expected"] = values
        else:
            if key is None:
                problems.append(f"{name}: Helm refused it ({error}), the case expects values")
            elif key not in error:
                problems.append(f"{name}: key {key!r} is not in Helm's message: {error}")
            case["helm_error"] = error
            case["error_key"] = key
        out[name] = case
    if problems:
        raise SystemExit("case list out of date with Helm:\n" + "\n".join(problems))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    cases = build()
    diffs = 0
    if not args.check:
        OUT.mkdir(parents=True, exist_ok=True)
        for stale in OUT.glob("*.json"):
            if stale.stem not in cases:
                stale.unlink()
    for name, case in cases.items():
        text = json.dumps(case, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        path = OUT / f"{name}.json"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                print(f"differs: {path.relative_to(ROOT)}")
                diffs += 1
        else:
            path.write_text(text, encoding="utf-8")
    refused = sum(1 for c in cases.values() if "helm_error" in c)
    print(f"{len(cases)} cases ({refused} refused by Helm), Helm {helm.helm_sdk_version()}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
