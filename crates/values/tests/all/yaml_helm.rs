//! The values reader against Helm itself: every file under tests/data/yaml-helm/ holds a
//! values.yaml text and what Helm v4 (go-yaml v2 behind sigs.k8s.io/yaml, documents cut by
//! apimachinery) made of it, written by scripts/gen_yaml_expectations.py. Each accepted case
//! must give exactly Helm's values; each refused case must be refused with Helm's phrase (or
//! ours, for the few Go-specific messages listed in OUR_WORDS) and a `file:line:col`.

use std::path::PathBuf;

use serde_json::Value;
use wasmchart_values::yaml;

/// Helm phrases that are Go runtime details, and the words our message uses instead.
const OUR_WORDS: &[(&str, &str)] = &[
    (
        "cannot unmarshal array",
        "values must be a map of keys to values, found a list",
    ),
    (
        "cannot unmarshal string",
        "values must be a map of keys to values, found a string",
    ),
    (
        "cannot unmarshal number",
        "values must be a map of keys to values, found a number",
    ),
    ("invalid map key", "invalid map key"),
];

struct Case {
    name: String,
    input: String,
    expected: Option<Value>,
    key: Option<String>,
}

fn cases() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/yaml-helm");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixture dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let v: Value = serde_json::from_str(&text).expect("fixture JSON");
        out.push(Case {
            name: v["name"].as_str().expect("name").to_string(),
            input: v["input"].as_str().expect("input").to_string(),
            expected: v.get("expected").cloned(),
            key: v
                .get("error_key")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Numbers compared as Helm holds them (float64), everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn check(case: &Case) -> Result<(), String> {
    let origin = format!("{}.yaml", case.name);
    let got = yaml::parse_values_map(&case.input, &origin);
    match (&case.expected, &case.key, got) {
        (Some(want), _, Ok(map)) => {
            let got = Value::Object(map);
            if same(&got, want) {
                Ok(())
            } else {
                Err(format!("values differ:\n  helm: {want}\n  ours: {got}"))
            }
        }
        (Some(want), _, Err(e)) => Err(format!("Helm reads {want}, we refuse it: {e}")),
        (None, Some(key), Ok(map)) => Err(format!(
            "Helm refuses it ({key}), we read {}",
            Value::Object(map)
        )),
        (None, Some(key), Err(e)) => {
            let msg = e.to_string();
            let words = OUR_WORDS
                .iter()
                .find(|(helm, _)| key.contains(helm))
                .map_or(key.as_str(), |(_, ours)| ours);
            let at = format!("{origin}:");
            let positioned = msg.find(&at).is_some_and(|i| {
                let rest = &msg[i + at.len()..];
                let mut parts = rest.splitn(3, ':');
                let line = parts.next().unwrap_or("");
                let col = parts.next().unwrap_or("");
                line.parse::<usize>().is_ok_and(|l| l > 0)
                    && col.parse::<usize>().is_ok_and(|c| c > 0)
            });
            if msg.contains(words) && positioned {
                Ok(())
            } else {
                Err(format!("want {words:?} and {origin}:LINE:COL, got: {msg}"))
            }
        }
        (None, None, _) => Err("fixture has neither expected nor error_key".into()),
    }
}

#[test]
fn every_helm_case_matches() {
    let cases = cases();
    assert!(cases.len() >= 150, "only {} fixture cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check(c).err().map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Helm:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn errors_point_at_the_file_line_not_the_document() {
    // Helm numbers lines per document; we keep the file's line.
    let e = yaml::parse_values_map("a: 1\n---\nb: 2\nc: \"\\/\"\n", "v.yaml").expect_err("escape");
    assert!(
        e.to_string().starts_with("invalid YAML in v.yaml:4:"),
        "{e}"
    );
    assert!(
        e.to_string().contains("found unknown escape character"),
        "{e}"
    );
}

#[test]
fn bom_does_not_shift_errors() {
    let e = yaml::parse_values_map("\u{feff}# c\na: [1\n", "v.yaml").expect_err("unclosed");
    assert!(
        e.to_string()
            .contains("v.yaml:3:1: did not find expected ',' or ']'"),
        "{e}"
    );
}

#[test]
fn alias_bomb_is_still_refused() {
    let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        t.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let e = yaml::parse_values_map(&t, "bomb.yaml").expect_err("bomb");
    assert!(e.to_string().contains("alias bomb"), "{e}");
    assert!(e.to_string().contains("bomb.yaml:"), "{e}");
}

#[test]
fn deep_nesting_is_refused_with_a_position() {
    let t = format!("a: {}{}\n", "[".repeat(300), "]".repeat(300));
    let e = yaml::parse_values_map(&t, "deep.yaml").expect_err("deep");
    assert!(
        e.to_string().contains("nesting deeper than 256 levels"),
        "{e}"
    );
    assert!(e.to_string().contains("deep.yaml:1:"), "{e}");
}

#[test]
fn nesting_limit_is_reached_within_a_thread_stack() {
    // Block maps, flow lists, and maps of lists, each past MAX_DEPTH, on a 2 MiB stack (what
    // Rust gives a spawned thread; a main thread has 8 MiB), even in a debug build.
    let mut block = String::new();
    for i in 0..300 {
        block.push_str(&" ".repeat(i));
        block.push_str("k:\n");
    }
    let flow = format!("a: {}{}\n", "[".repeat(300), "]".repeat(300));
    let mixed = format!("a: {}{}\n", "{b: [".repeat(150), "]}".repeat(150));
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            [block, flow, mixed]
                .iter()
                .map(|t| {
                    yaml::parse_values_map(t, "deep.yaml")
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
                .collect::<Vec<_>>()
        })
        .expect("thread");
    for r in handle.join().expect("no stack overflow") {
        let e = r.expect_err("too deep");
        assert!(
            e.contains("deep.yaml:") && e.contains("nesting deeper than 256 levels"),
            "{e}"
        );
    }
}

#[test]
fn common_mistakes_are_named_with_a_fix() {
    let tab = yaml::parse_values_map("a:\n\tb: 1\n", "t.yaml").expect_err("tab");
    assert!(
        tab.to_string().contains("t.yaml:2:1: found character that cannot start any token (a tab: YAML indents with spaces only)"),
        "{tab}"
    );
    let esc = yaml::parse_values_map("a: \"x\\/y\"\n", "e.yaml").expect_err("escape");
    assert!(
        esc.to_string()
            .contains("e.yaml:1:6: found unknown escape character '\\/'"),
        "{esc}"
    );
    let key = yaml::parse_values_map("a:\n  - 1\n - 2\n", "k.yaml").expect_err("indent");
    assert!(
        key.to_string()
            .contains("k.yaml:3:2: did not find expected key (is this line indented"),
        "{key}"
    );
}
