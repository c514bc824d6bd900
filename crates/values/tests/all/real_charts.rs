//! Constructs found in real public charts, each as a small hand-written fixture with Helm's
//! answer (`tests/data/real-charts/<name>/expected.json`, computed by Helm's engine with
//! `scripts/real_chart_check.py --fixture DIR`). The real charts themselves are never
//! committed; docs/values.md ("Real charts") lists which were checked. A fixture Helm refuses
//! holds `{"error": ...}` in expected.json and, in args.json, `error_parts`: the key parts
//! our own message must contain (none of them merely echoes the flag).

use std::path::{Path, PathBuf};

use serde_json::Value;
use wasmchart_values::{Chart, compute};

use crate::common::{json_eq, options_from_flags};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real-charts");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("real-charts dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `None` when the fixture gives Helm's answer, else what differs.
fn check(dir: &Path) -> Option<String> {
    let name = dir.file_name().expect("name").to_string_lossy().to_string();
    let args = read_json(&dir.join("args.json"));
    let expected = read_json(&dir.join("expected.json"));
    let flags: Vec<String> = args["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| f.as_str().expect("flag").to_string())
        .collect();
    let got = Chart::load(dir).and_then(|c| compute(&c, &options_from_flags(&flags, dir)));
    match (got, expected.get("error")) {
        (Ok(c), None) if json_eq(c.values(), &expected) => None,
        (Ok(c), None) => Some(format!(
            "{name}: got {}\nHelm: {}",
            serde_json::to_string_pretty(c.values()).unwrap_or_default(),
            serde_json::to_string_pretty(&expected).unwrap_or_default()
        )),
        (Ok(c), Some(e)) => Some(format!(
            "{name}: Helm refuses ({e}) but we computed {}",
            c.values()
        )),
        (Err(e), None) => Some(format!("{name}: Helm computes values but we fail: {e}")),
        (Err(e), Some(helm)) => {
            let parts = args["error_parts"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let message = e.to_string();
            let missing: Vec<&str> = parts
                .iter()
                .filter_map(Value::as_str)
                .filter(|p| !message.contains(p))
                .collect();
            if parts.is_empty() {
                Some(format!(
                    "{name}: Helm refuses ({helm}); args.json needs error_parts"
                ))
            } else if !missing.is_empty() {
                Some(format!(
                    "{name}: our error lacks {missing:?}\n  ours: {message}\n  Helm: {helm}"
                ))
            } else {
                None
            }
        }
    }
}

#[test]
fn real_chart_constructs_match_helm() {
    let dirs = fixtures();
    assert!(
        dirs.len() >= 12,
        "real-charts fixtures missing: {}",
        dirs.len()
    );
    let failures: Vec<String> = dirs.iter().filter_map(|d| check(d)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn refused_fixtures_name_their_key_parts() {
    let refused: Vec<PathBuf> = fixtures()
        .into_iter()
        .filter(|d| read_json(&d.join("expected.json")).get("error").is_some())
        .collect();
    assert!(refused.len() >= 2, "the error fixtures are missing");
    for dir in refused {
        let args = read_json(&dir.join("args.json"));
        let parts = args["error_parts"].as_array().expect("error_parts");
        let flags = args["flags"].to_string();
        for p in parts {
            let p = p.as_str().expect("part");
            assert!(
                !flags.contains(p),
                "{}: {p:?} only echoes the flags",
                dir.display()
            );
        }
    }
}
