//! The YAML reader (documents, positions) and the go-yaml v2 style writer.

use serde_json::{Value, json};
use wasmchart_values::yaml;

#[test]
fn parse_documents_skips_empty_ones_and_names_errors() {
    let docs = yaml::parse_documents(
        "---\n---\na: 1\n---\n# only a comment\n---\nb: [x]\n",
        "m.yaml",
    )
    .expect("parse");
    assert_eq!(docs, vec![json!({"a": 1}), json!({"b": ["x"]})]);
    let e = yaml::parse_documents("a: 1\n  b: 2\n", "bad.yaml").expect_err("error");
    assert!(
        e.to_string().starts_with("invalid YAML in bad.yaml:2:"),
        "{e}"
    );
}

#[test]
fn merge_keys_and_anchors() {
    let docs = yaml::parse_documents(
        "base: &b {x: 1, z: 2}\nuse:\n  <<: *b\n  z: 3\nlist: &l [1, 2]\ncopy: *l\n",
        "m.yaml",
    )
    .expect("parse");
    assert_eq!(docs[0]["use"], json!({"x": 1, "z": 3}));
    assert_eq!(docs[0]["copy"], json!([1, 2]));
}

#[test]
fn writer_matches_helm_style() {
    let v = json!({
        "b": {"list": ["a", "yes", "1", "", "x: y"], "empty": {}, "none": []},
        "a": 1,
        "s": "line1\nline2",
        "t": "trailing\n",
        "f": 1.5,
        "nil": null,
        "lom": [{"name": "x", "v": true}],
        "k10": 1, "k9": 2
    });
    let out = yaml::to_string(&v);
    let want = "a: 1\nb:\n  empty: {}\n  list:\n  - a\n  - \"yes\"\n  - \"1\"\n  - \"\"\n  - 'x: y'\n  none: []\nf: 1.5\nk9: 2\nk10: 1\nlom:\n- name: x\n  v: true\nnil: null\ns: |-\n  line1\n  line2\nt: |\n  trailing\n";
    assert_eq!(out, want);
}

#[test]
fn writer_round_trips_through_the_reader() {
    let long = "x".repeat(200);
    let words = "word ".repeat(40);
    let tricky = [
        "yes",
        "No",
        "on",
        "~",
        "null",
        "0777",
        "0x1A",
        "1e5",
        "1_000",
        ".inf",
        "-",
        "- a",
        "a: b",
        "a #b",
        "#c",
        "@x",
        "`x",
        "'q'",
        "\"d\"",
        " lead",
        "trail ",
        "tab\there",
        "a\nb\n\n",
        "  indented\nblock",
        "1:20",
        "2024-01-01",
        "<<",
        "[x]",
        "{y}",
        "ünïcödé",
        long.as_str(),
        words.as_str(),
        "\r\u{7}\0\u{85}\u{2028}x",
        "nel\u{85}inside",
        "\u{85}",
        "ls\u{2028}ps\u{2029}",
        "esc\u{1b}[2J bom\u{feff} del\u{7f}",
        "line\n---\n# Source: evil\n",
    ];
    for s in tricky {
        let v = json!({ "key": s, s: 1, "list": [s] });
        let text = yaml::to_string(&v);
        let back = yaml::parse_documents(&text, "rt.yaml")
            .unwrap_or_else(|e| panic!("reparse of {s:?}: {e}\n{text}"));
        assert_eq!(back, vec![v.clone()], "round trip of {s:?} via\n{text}");
    }
}

#[test]
fn long_plain_strings_fold_like_go_yaml() {
    let s = "word ".repeat(30).trim_end().to_string();
    let out = yaml::to_string(&json!({ "k": s }));
    assert!(out.lines().count() > 1, "{out}");
    assert!(out.lines().skip(1).all(|l| l.starts_with("  ")), "{out}");
    let back = yaml::parse_documents(&out, "f.yaml").expect("parse");
    assert_eq!(back[0]["k"], Value::String(s));
}
