//! values.schema.json: per chart, exactly as strict as Helm (cases computed by Helm itself in
//! `tests/data/schema/`), $ref confined to the chart.

use wasmchart_values::{Error, ValueOptions};

use crate::common::{chart_yaml, compute_tree, sets, write_tree};

const STRICT: &str = r##"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "port": {"type": "integer", "minimum": 1},
    "image": {"$ref": "#/definitions/image"}
  },
  "definitions": {"image": {"type": "string"}}
}"##;

fn umbrella(schema: &str) -> tempfile::TempDir {
    write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml(
                "top",
                "dependencies:\n- name: sub\n  version: 0.1.0\n  condition: sub.enabled\n",
            ),
        ),
        (
            "values.yaml",
            "global:\n  domain: x\nsub:\n  enabled: true\n",
        ),
        ("charts/sub/Chart.yaml", &chart_yaml("sub", "")),
        ("charts/sub/values.yaml", "port: 80\nimage: app\n"),
        ("charts/sub/values.schema.json", schema),
    ])
}

#[test]
fn injected_global_and_enabled_fail_a_strict_schema_as_in_helm() {
    let d = umbrella(STRICT);
    let e = compute_tree(d.path(), &ValueOptions::default()).expect_err("Helm refuses it");
    let Error::Schema { chart, failures } = &e else {
        panic!("not a schema error: {e}")
    };
    assert_eq!(chart, "sub");
    let all = failures.join("\n");
    assert!(
        all.contains("additionalProperties")
            && all.contains("'global'")
            && all.contains("'enabled'"),
        "{all}"
    );
}

/// Every case of `tests/data/schema/` (written with Helm's verdict by its `generate.py`):
/// accepted exactly when Helm accepts it, and a refusal names the chart, path, rule and
/// source Helm's message is about.
#[test]
fn schema_cases_match_helm() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/schema");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("schema cases")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "schema cases missing: {}", dirs.len());
    let mut failures = Vec::new();
    for dir in dirs {
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
        )
        .expect("json");
        let flags: Vec<String> = expected["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .map(|f| f.as_str().expect("flag").to_string())
            .collect();
        let opts = crate::common::options_from_flags(&flags, &dir);
        let got =
            wasmchart_values::Chart::load(&dir).and_then(|c| wasmchart_values::compute(&c, &opts));
        match (got, expected["accepted"].as_bool().expect("accepted")) {
            (Ok(_), true) => {}
            (Ok(_), false) => failures.push(format!(
                "{name}: accepted, but Helm refuses it: {}",
                expected["helm_error"]
            )),
            (Err(e), true) => failures.push(format!("{name}: refused, Helm accepts it: {e}")),
            (Err(e), false) => {
                let text = e.to_string();
                let missing: Vec<&str> = expected["parts"]
                    .as_array()
                    .expect("parts")
                    .iter()
                    .filter_map(|p| p.as_str())
                    .filter(|p| !text.contains(p))
                    .collect();
                if !matches!(e, Error::Schema { .. }) || !missing.is_empty() {
                    failures.push(format!("{name}: message lacks {missing:?}: {text}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn failures_name_path_rule_and_source() {
    let d = umbrella(STRICT);
    let e = compute_tree(d.path(), &sets(&["sub.port=0,sub.extra=1"])).expect_err("invalid");
    let Error::Schema { chart, failures } = &e else {
        panic!("not a schema error: {e}")
    };
    assert_eq!(chart, "sub");
    let all = failures.join("\n");
    assert!(
        all.contains("sub.port")
            && all.contains("minimum")
            && all.contains("--set sub.port=0,sub.extra=1"),
        "{all}"
    );
    assert!(all.contains("additionalProperties"), "{all}");
}

#[test]
fn draft_2020_12_and_local_file_refs() {
    let schema = r##"{
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "properties": {"image": {"$ref": "defs.json#/$defs/image"}},
      "unevaluatedProperties": true
    }"##;
    let d = umbrella(schema);
    std::fs::write(
        d.path().join("charts/sub/defs.json"),
        r##"{"$defs": {"image": {"type": "string", "pattern": "^app"}}}"##,
    )
    .expect("write");
    if let Err(e) = compute_tree(d.path(), &ValueOptions::default()) {
        panic!("{e}");
    }
    let e = compute_tree(d.path(), &sets(&["sub.image=other"])).expect_err("pattern");
    assert!(e.to_string().contains("pattern"), "{e}");
}

#[test]
fn refs_outside_the_chart_are_refused() {
    let schema = r##"{"properties": {"image": {"$ref": "../../secret.json"}}}"##;
    let d = umbrella(schema);
    std::fs::write(d.path().join("secret.json"), r##"{"type": "string"}"##).expect("write");
    let e = compute_tree(d.path(), &ValueOptions::default()).expect_err("refused");
    assert!(e.to_string().contains("outside the chart"), "{e}");
    let net = umbrella(r##"{"properties": {"image": {"$ref": "https://example.com/s.json"}}}"##);
    assert!(compute_tree(net.path(), &ValueOptions::default()).is_err());
}

#[test]
fn disabled_subcharts_are_not_validated() {
    let d = umbrella(STRICT);
    assert!(compute_tree(d.path(), &sets(&["sub.enabled=false,sub.port=0"])).is_ok());
}
