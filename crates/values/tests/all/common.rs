//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};

use serde_json::Value;
use wasmchart_values::{Chart, Computed, ValueOptions, compute};

/// The copied conformance data.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance")
}

/// JSON equality with numbers compared numerically (Helm's ints may be float64).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Converts CLI-style flags (paths relative to `base`) into options.
pub fn options_from_flags(flags: &[String], base: &Path) -> ValueOptions {
    let mut o = ValueOptions::default();
    let mut it = flags.iter();
    while let Some(f) = it.next() {
        let Some(v) = it.next().cloned() else { break };
        match f.as_str() {
            "-f" | "--values" => o.files.push(base.join(v)),
            "--set" => o.set.push(v),
            "--set-string" => o.set_string.push(v),
            "--set-json" => o.set_json.push(v),
            "--set-literal" => o.set_literal.push(v),
            "--set-file" => {
                let (k, p) = v.split_once('=').unwrap_or((&v, ""));
                o.set_file.push(format!("{k}={}", base.join(p).display()));
            }
            "--env" => o.env = Some(v),
            other => panic!("unknown flag {other}"),
        }
    }
    o
}

/// Writes files (path -> content) under a new temp dir.
pub fn write_tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (p, content) in files {
        let full = dir.path().join(p);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, content).expect("write");
    }
    dir
}

/// Loads a chart from a temp tree and computes with options.
pub fn compute_tree(dir: &Path, opts: &ValueOptions) -> Result<Computed, wasmchart_values::Error> {
    let chart = Chart::load(dir)?;
    compute(&chart, opts)
}

/// Options with just `--set` expressions.
pub fn sets(exprs: &[&str]) -> ValueOptions {
    ValueOptions {
        set: exprs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// A minimal chart file.
pub fn chart_yaml(name: &str, deps: &str) -> String {
    format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n{deps}")
}
