//! Runs every Helm-computed case copied from the conformance data. A case
//! Helm rejects must fail here with the same class of error: the key parts
//! of Helm's message (table [`HELM_ERRORS`]), not just any error.

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
            (Err(e), Some(_)) => {
                if let Some(problem) = same_error_class("chart", &name, &e.to_string()) {
                    failures.push(problem);
                }
            }
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
            (Err(e), Some(_)) => {
                let kind = case["kind"].as_str().expect("kind");
                if let Some(problem) = same_error_class(kind, &expr, &e.to_string()) {
                    failures.push(format!(
                        "{problem}\n  Helm said: {}",
                        case["error_message"].as_str().unwrap_or("?")
                    ));
                }
            }
            (Ok(c), None) if json_eq(c.values(), &case["expect"]) => {}
            (Ok(c), _) => failures.push(format!(
                "{expr:?} ({note}): got {} expected {}",
                c.values(),
                case.get("expect").unwrap_or(&Value::Null)
            )),
            (Err(e), None) => failures.push(format!("{expr:?} ({note}): unexpected error {e}")),
        }
    }
    let errors = cases.iter().filter(|c| c.get("error").is_some()).count();
    assert_eq!(
        errors,
        HELM_ERRORS.len(),
        "every error case has one entry in HELM_ERRORS"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The cases Helm rejects, by `(kind, expression)` (`chart` and the fixture
/// name for chart fixtures), with the parts of Helm's message that ours
/// must contain. None of the parts occurs in the expression itself, so an
/// error that merely echoes the flag does not match. Helm's Go-specific
/// wording (`interface conversion: interface {} is int64, not
/// map[string]interface {}`, Go's JSON errors) is matched by its class.
const HELM_ERRORS: &[(&str, &str, &[&str])] = &[
    (
        "plain",
        "a.b=1,a.b.c=2",
        &["unable to parse key", "not a map"],
    ),
    ("plain", "list={a,b}x", &["key \"x\" has no value"]),
    (
        "plain",
        "a[x]=1",
        &["error parsing index", "parsing \"x\": invalid syntax"],
    ),
    (
        "plain",
        "a[65537]=1",
        &["index of 65537 is greater than maximum supported index of 65536"],
    ),
    (
        "plain",
        "a[0]x=1",
        &["unexpected data at end of array index"],
    ),
    (
        "plain",
        "a.b=1,a[0]=2",
        &["unable to parse key", "not a list"],
    ),
    (
        "plain",
        "a=b,,c=d",
        &["key \"\" has no value (cannot end with ,)"],
    ),
    ("plain", "a", &["key \"a\" has no value"]),
    ("plain", "a.b", &["key \"b\" has no value"]),
    (
        "plain",
        "a.,b",
        &["key \"\" has no value (cannot end with ,)"],
    ),
    (
        "plain",
        "k0.k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.k11.k12.k13.k14.k15.k16.k17.k18.k19.k20.k21.k22.k23.k24.k25.k26.k27.k28.k29.k30.k31=v",
        &["value name nested level is greater than maximum supported nested level of 30"],
    ),
    ("json", "a={bad}", &["invalid JSON"]),
    (
        "literal",
        "a[x]=1",
        &["error parsing index", "parsing \"x\": invalid syntax"],
    ),
];

/// `None` when `message` holds every part [`HELM_ERRORS`] lists for the
/// case, else what is wrong (including a case the table lacks).
fn same_error_class(kind: &str, expr: &str, message: &str) -> Option<String> {
    let Some((_, _, parts)) = HELM_ERRORS
        .iter()
        .find(|(k, e, _)| *k == kind && *e == expr)
    else {
        return Some(format!(
            "{kind} {expr:?}: Helm rejects it but HELM_ERRORS has no entry; add the key parts of \
             Helm's message\n  ours: {message}"
        ));
    };
    let missing: Vec<&&str> = parts.iter().filter(|p| !message.contains(**p)).collect();
    (!missing.is_empty()).then(|| {
        format!("{kind} {expr:?}: our error lacks {missing:?} of Helm's message\n  ours: {message}")
    })
}
