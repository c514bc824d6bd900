//! Runs every Helm-computed case copied from the conformance data.

use serde_json::Value;
use wasmchart_values::{Chart, ValueOptions, compute};

use crate::common::{data_dir, json_eq, options_from_flags};

#[test]
fn chart_fixtures_match_helm() {
    let charts = data_dir().join("charts");
    let mut names: Vec<_> = std::fs::read_dir(&charts)
        .expect("charts dir")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    assert!(names.len() >= 12, "fixtures missing");
    let mut failures = Vec::new();
    for dir in names {
        let args: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("args.json")).expect("args"))
                .expect("args json");
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected.json")).expect("expected"),
        )
        .expect("expected json");
        let flags: Vec<String> = args["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .map(|f| f.as_str().expect("flag").to_string())
            .collect();
        let opts = options_from_flags(&flags, &dir);
        let got = Chart::load(&dir).and_then(|c| compute(&c, &opts));
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        match (got, expected.get("error")) {
            (Err(_), Some(_)) => {}
            (Ok(c), None) if json_eq(c.values(), &expected) => {}
            (Ok(c), _) => failures.push(format!(
                "{name}: got {}\nexpected {}",
                serde_json::to_string_pretty(c.values()).unwrap_or_default(),
                serde_json::to_string_pretty(&expected).unwrap_or_default()
            )),
            (Err(e), None) => failures.push(format!("{name}: unexpected error {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn set_cases_match_helm() {
    let text = std::fs::read_to_string(data_dir().join("set_cases.json")).expect("set_cases");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("json");
    assert!(cases.len() >= 70);
    let dir = crate::common::write_tree(&[(
        "Chart.yaml",
        "apiVersion: v2\nname: umbrella\nversion: 0.1.0\n",
    )]);
    let chart = Chart::load(dir.path()).expect("chart");
    let mut failures = Vec::new();
    for case in &cases {
        let expr = case["expr"].as_str().expect("expr").to_string();
        let mut opts = ValueOptions::default();
        match case["kind"].as_str().expect("kind") {
            "plain" => opts.set.push(expr.clone()),
            "string" => opts.set_string.push(expr.clone()),
            "json" => opts.set_json.push(expr.clone()),
            "literal" => opts.set_literal.push(expr.clone()),
            k => panic!("unknown kind {k}"),
        }
        let got = compute(&chart, &opts);
        let note = case["note"].as_str().unwrap_or("");
        match (got, case.get("error")) {
            (Err(e), Some(_)) => assert!(!e.to_string().is_empty()),
            (Ok(c), None) if json_eq(c.values(), &case["expect"]) => {}
            (Ok(c), _) => failures.push(format!(
                "{expr:?} ({note}): got {} expected {}",
                c.values(),
                case.get("expect").unwrap_or(&Value::Null)
            )),
            (Err(e), None) => failures.push(format!("{expr:?} ({note}): unexpected error {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
