//! The real `wasmchart` binary end to end: rendering temporary charts made
//! of real guests, bad input, and `values` over Helm-computed fixtures.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::support::expect_error as error;

/// A throwaway umbrella chart whose subcharts use built guests.
struct TestChart {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
}

/// One dependency of a [`TestChart`]: section name (alias when it differs
/// from the chart), the subchart directory's name, guest and values.
struct Sub<'a> {
    section: &'a str,
    chart: &'a str,
    guest: &'a str,
    values: &'a str,
}

/// A dependency whose section, chart directory and guest share one name.
fn sub<'a>(name: &'a str, values: &'a str) -> Sub<'a> {
    Sub {
        section: name,
        chart: name,
        guest: name,
        values,
    }
}

impl TestChart {
    fn new(subs: &[Sub<'_>]) -> TestChart {
        let dir = tempfile::tempdir().unwrap();
        let mut deps =
            String::from("apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n");
        let mut values = String::new();
        for sub in subs {
            deps.push_str(&format!("  - name: {}\n    version: 0.1.0\n", sub.chart));
            if sub.section != sub.chart {
                deps.push_str(&format!("    alias: {}\n", sub.section));
            }
            let sub_dir = dir.path().join("charts").join(sub.chart);
            fs::create_dir_all(&sub_dir).unwrap();
            // `component:` must be inside the chart: copy the guest in.
            let wasm = format!("{}.wasm", sub.guest);
            fs::copy(test_components::wasm(sub.guest), sub_dir.join(&wasm)).unwrap();
            fs::write(
                sub_dir.join("Chart.yaml"),
                format!(
                    "apiVersion: v2\nname: {}\nversion: 0.1.0\ncomponent: {wasm}\n",
                    sub.chart
                ),
            )
            .unwrap();
            fs::write(sub_dir.join("values.yaml"), "{}\n").unwrap();
            values.push_str(&format!("{}:\n", sub.section));
            for line in sub.values.lines() {
                values.push_str(&format!("  {line}\n"));
            }
            if sub.values.trim().is_empty() {
                values.push_str("  {}\n");
            }
        }
        fs::write(dir.path().join("Chart.yaml"), deps).unwrap();
        fs::write(dir.path().join("values.yaml"), values).unwrap();
        TestChart {
            dir,
            cache: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn render(&self, args: &[&str]) -> Output {
        wasmchart(&self.cache, self.path(), "render", args)
    }
}

fn wasmchart(cache: &tempfile::TempDir, chart: &Path, command: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmchart"))
        .arg(command)
        .arg(chart)
        .args(args)
        .env("WASMCHART_CACHE_DIR", cache.path())
        .env_remove("WASMCHART_SECRET_KEY")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "wasmchart failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn documents(stream: &str) -> Vec<(String, Value)> {
    stream
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| {
            let (source, body) = d.split_once('\n').unwrap();
            let source = source.strip_prefix("# Source: ").unwrap().to_string();
            (
                source,
                wasmchart_values::yaml::parse_documents(body, "test")
                    .unwrap()
                    .remove(0),
            )
        })
        .collect()
}

#[test]
fn render_output_is_parsed_namespaced_labelled_and_in_install_order() {
    let chart = TestChart::new(&[sub("redis", ""), sub("probe", "action: ok")]);
    let docs = documents(&stdout(&chart.render(&["-n", "prod"])));
    let kinds: Vec<&str> = docs
        .iter()
        .map(|(_, o)| o["kind"].as_str().unwrap())
        .collect();
    let ranks: Vec<usize> = kinds
        .iter()
        .map(|k| wasmchart::post::install_rank(k))
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "not in install order: {kinds:?}"
    );
    assert!(
        kinds.contains(&"ConfigMap") && kinds.contains(&"Service"),
        "{kinds:?}"
    );
    for (source, o) in &docs {
        assert!(source.starts_with("umbrella/charts/"), "{source}");
        assert_eq!(o["metadata"]["namespace"], "prod", "{source}");
        let labels = &o["metadata"]["labels"];
        assert_eq!(
            labels["app.kubernetes.io/managed-by"], "wasmchart",
            "{source}"
        );
        let component = source.split('/').nth(2).unwrap();
        assert_eq!(labels["wasmchart/component"], component, "{source}");
    }
}

#[test]
fn two_renders_are_byte_identical_cold_and_warm() {
    let chart = TestChart::new(&[
        sub("redis", "auth:\n  enabled: false"),
        sub("probe", "action: clock"),
    ]);
    let first = stdout(&chart.render(&[]));
    let second = stdout(&chart.render(&[]));
    assert_eq!(first, second);
}

#[test]
fn duplicate_objects_are_rejected_naming_both_sources() {
    let chart = TestChart::new(&[
        Sub {
            section: "one",
            chart: "probe",
            guest: "probe",
            values: "action: ok",
        },
        Sub {
            section: "two",
            chart: "probe",
            guest: "probe",
            values: "action: ok",
        },
    ]);
    let err = error(&chart.render(&[]));
    assert!(
        err.contains("duplicate object ConfigMap 'probe-ok'"),
        "{err}"
    );
    assert!(
        err.contains("umbrella/charts/one/templates/probe.yaml"),
        "{err}"
    );
    assert!(
        err.contains("umbrella/charts/two/templates/probe.yaml"),
        "{err}"
    );
}

#[test]
fn bad_manifests_are_errors_naming_the_component_and_source() {
    for (action, want) in [
        ("not-yaml", "not valid YAML"),
        ("two-objects", "holds 2 objects"),
        ("no-kind", "has no kind"),
        ("guest-error", "the probe was asked to fail"),
        ("trap", "probe"),
        ("panic", "probe"),
    ] {
        let values = format!("action: {action}");
        let chart = TestChart::new(&[sub("probe", &values)]);
        let err = error(&chart.render(&[]));
        assert!(err.contains("'probe'"), "{action}: {err}");
        assert!(err.contains(want), "{action}: {err}");
    }
}

#[test]
fn a_hostile_component_fails_alone_and_is_named() {
    let chart = TestChart::new(&[sub("redis", ""), sub("probe", "action: loop")]);
    let err = error(&chart.render(&["--timeout", "300ms"]));
    assert!(
        err.contains("component 'probe' exceeded its 300ms time limit"),
        "{err}"
    );
    assert!(!err.contains("redis"), "{err}");
}

#[test]
fn limits_in_chart_yaml_apply_per_dependency_and_flags_win() {
    let chart = TestChart::new(&[sub("probe", "action: alloc\nmib: 48")]);
    fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n  - name: probe\n    version: 0.1.0\n    limits: {memory: 32Mi}\n",
    )
    .unwrap();
    let err = error(&chart.render(&[]));
    assert!(
        err.contains("component 'probe' exceeded its 32Mi memory limit"),
        "{err}"
    );
    stdout(&chart.render(&["--memory-limit", "96Mi"]));
}

#[test]
fn bad_charts_get_clear_errors() {
    let cache = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let err = error(&wasmchart(&cache, empty.path(), "render", &[]));
    assert!(err.contains("Chart.yaml"), "{err}");

    let chart = TestChart::new(&[sub("probe", "")]);
    let sub_chart = chart.path().join("charts/probe/Chart.yaml");
    let original = fs::read_to_string(&sub_chart).unwrap();

    fs::write(
        &sub_chart,
        "apiVersion: v2\nname: probe\nversion: 0.1.0\ncomponent: missing.wasm\n",
    )
    .unwrap();
    let err = error(&chart.render(&[]));
    assert!(err.contains("missing.wasm"), "{err}");

    fs::write(
        chart.path().join("charts/probe/text.wasm"),
        "not a component",
    )
    .unwrap();
    fs::write(
        &sub_chart,
        "apiVersion: v2\nname: probe\nversion: 0.1.0\ncomponent: text.wasm\n",
    )
    .unwrap();
    let err = error(&chart.render(&[]));
    assert!(
        err.contains("'probe'") && err.contains("text.wasm"),
        "{err}"
    );

    fs::copy(
        test_components::wasm("wrong-contract"),
        chart.path().join("charts/probe/wrong.wasm"),
    )
    .unwrap();
    fs::write(
        &sub_chart,
        "apiVersion: v2\nname: probe\nversion: 0.1.0\ncomponent: wrong.wasm\n",
    )
    .unwrap();
    let err = error(&chart.render(&[]));
    assert!(err.contains("wasmchart:chart@0.1.0"), "{err}");

    fs::write(&sub_chart, original).unwrap();
    fs::remove_dir_all(chart.path().join("charts/probe")).unwrap();
    let err = error(&chart.render(&[]));
    assert!(err.contains("probe"), "{err}");
}

#[test]
fn output_dir_and_json() {
    let chart = TestChart::new(&[sub("redis", "")]);
    let yaml = stdout(&chart.render(&[]));
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("manifests");
    stdout(&chart.render(&["--output-dir", target.to_str().unwrap()]));
    let mut files = Vec::new();
    collect_files(&target, &mut files);
    let written: String = files
        .iter()
        .map(|f| fs::read_to_string(f).unwrap())
        .collect();
    let mut a: Vec<_> = documents(&yaml);
    let mut b: Vec<_> = documents(&written);
    let key = |d: &(String, Value)| serde_json::to_string(d).unwrap();
    a.sort_by_key(key);
    b.sort_by_key(key);
    assert_eq!(a, b);
    assert!(
        files
            .iter()
            .all(|f| f.starts_with(target.join("umbrella/charts/redis"))),
        "{files:?}"
    );

    let json: Value = serde_json::from_str(&stdout(&chart.render(&["-o", "json"]))).unwrap();
    assert_eq!(json["kind"], "List");
    let items: Vec<&Value> = json["items"].as_array().unwrap().iter().collect();
    let docs = documents(&yaml);
    assert_eq!(items, docs.iter().map(|(_, o)| o).collect::<Vec<_>>());
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// `wasmchart values` over every Helm-computed fixture
/// (`crates/values/tests/data/conformance/charts/*`: the chart, the flags in
/// `args.json`, Helm's result in `expected.json`), through the binary.
#[test]
fn values_matches_helm_on_every_conformance_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/values/tests/data/conformance/charts");
    let cache = tempfile::tempdir().unwrap();
    let mut count = 0;
    for entry in fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let args: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("args.json")).unwrap()).unwrap();
        let expected: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
        let flags: Vec<&str> = args["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_wasmchart"))
            .current_dir(&dir)
            .args(["values", "."])
            .args(&flags)
            .args(["-o", "json"])
            .env("WASMCHART_CACHE_DIR", cache.path())
            .output()
            .unwrap();
        if expected.get("error").is_some() {
            // Helm's message, not any error (the format of set_cases.json).
            let err = error(&out);
            let want = expected["error_message"].as_str().unwrap_or_else(|| {
                panic!(
                    "{}: an error fixture needs Helm's error_message",
                    dir.display()
                )
            });
            assert!(
                err.contains(want),
                "{}: want {want:?} in {err}",
                dir.display()
            );
        } else {
            let got: Value = serde_json::from_str(&stdout(&out)).unwrap();
            assert!(
                same_json(&got, &expected),
                "{}: got {got:#}\nwant {expected:#}",
                dir.display()
            );
        }
        count += 1;
    }
    assert!(count >= 12, "only {count} fixtures found");
}

/// JSON equality with numbers compared by value (Helm's numbers pass
/// through float64).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn values_errors_name_the_flag_or_file() {
    let cache = tempfile::tempdir().unwrap();
    let chart = TestChart::new(&[]);
    let err = error(&wasmchart(
        &cache,
        chart.path(),
        "values",
        &["-f", "nope.yaml"],
    ));
    assert!(err.contains("cannot read nope.yaml"), "{err}");
    let err = error(&wasmchart(&cache, chart.path(), "values", &["--env", "qa"]));
    assert!(err.contains("unknown environment \"qa\""), "{err}");
    let err = error(&wasmchart(
        &cache,
        chart.path(),
        "values",
        &["--set", "a[99999999]=1"],
    ));
    // The flag and the reason, which the echoed flag alone does not contain.
    assert!(err.contains("--set \"a[99999999]=1\""), "{err}");
    assert!(err.contains("maximum supported index of 65536"), "{err}");
}
