//! JavaScript and Python failures reach the user with their real message.
//!
//! Two fixtures, built by `scripts/build-components.sh` with the
//! wasmchart-component helpers (`plugins/js/fixtures/guest-errors`,
//! `plugins/python/fixtures/guest-errors`), fail the way `values.fail`
//! says: through the helper, each failure class the issue lists becomes a
//! `render-error` with its message; with `values.raw`, the failure
//! bypasses the helper as in a component built without it, the runtime
//! traps, and the host adds the JS/Python hint and the last output line.

use super::support::{expect_error, expect_success, repo_root, run_bounded, shared_dir};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tempfile::TempDir;
use wasmchart::sandbox::{Limits, RenderRequest, Runtime, RuntimeOptions};

/// Compiling a 12-19 MB component takes a few seconds in debug builds.
const BOUND: Duration = Duration::from_secs(180);

/// The first render of each fixture compiles it into the shared cache;
/// held so two tests never compile the same component at once.
static WARM: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

#[derive(Clone, Copy)]
enum Lang {
    Js,
    Python,
}

impl Lang {
    fn wasm(self) -> PathBuf {
        repo_root().join(match self {
            Lang::Js => "target/guests/js/guest-errors.wasm",
            Lang::Python => "target/guests/python/guest-errors.wasm",
        })
    }

    /// The folders the fixture is built from.
    fn sources(self) -> [&'static str; 2] {
        match self {
            Lang::Js => [
                "plugins/js/fixtures/guest-errors",
                "plugins/js/wasmchart-component/src",
            ],
            Lang::Python => [
                "plugins/python/fixtures/guest-errors",
                "plugins/python/wasmchart-component/wasmchart_component",
            ],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Lang::Js => "js",
            Lang::Python => "python",
        }
    }
}

/// The fixture's path; fails when it is missing or older than a source.
fn fixture(lang: Lang) -> PathBuf {
    let wasm = lang.wasm();
    let built = fs::metadata(&wasm)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-components.sh", wasm.display()));
    for dir in lang.sources() {
        if let Some(newer) = newer_file(&repo_root().join(dir), built) {
            panic!(
                "{} is older than {}: run scripts/build-components.sh",
                wasm.display(),
                newer.display()
            );
        }
    }
    wasm
}

/// A source file under `dir` modified after `time` (caches ignored).
fn newer_file(dir: &Path, time: SystemTime) -> Option<PathBuf> {
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "__pycache__" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            if let Some(found) = newer_file(&path, time) {
                return Some(found);
            }
        } else if entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|m| m > time)
        {
            return Some(path);
        }
    }
    None
}

/// A one-subchart umbrella around `wasm`, subchart `errs`.
fn chart(wasm: &Path) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let sub = dir.path().join("charts/errs");
    fs::create_dir_all(&sub).expect("mkdir");
    fs::write(
        dir.path().join("Chart.yaml"),
        "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n  - name: errs\n    version: 0.1.0\n    repository: file://./charts/errs\n",
    )
    .expect("write");
    fs::write(dir.path().join("values.yaml"), "{}\n").expect("write");
    fs::write(
        sub.join("Chart.yaml"),
        "apiVersion: v2\nname: errs\nversion: 0.1.0\ncomponent: errs.wasm\n",
    )
    .expect("write");
    fs::write(sub.join("values.yaml"), "{}\n").expect("write");
    fs::copy(wasm, sub.join("errs.wasm")).expect("copy the fixture");
    dir
}

/// Renders the fixture with `--set` flags; returns the process output.
fn render(lang: Lang, sets: &[&str]) -> std::process::Output {
    let wasm = fixture(lang);
    let chart = chart(&wasm);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.arg("render")
        .arg(chart.path())
        .args(["--release", "demo"]);
    for set in sets {
        cmd.args(["--set", set]);
    }
    cmd.env("WASMCHART_CACHE_DIR", shared_dir("guest-errors-cache"))
        .env("WASMCHART_CONFIG_DIR", shared_dir("guest-errors-config"));
    let mut warm = WARM.lock().unwrap_or_else(|p| p.into_inner());
    if warm.contains(&lang.name()) {
        drop(warm);
        return run_bounded(cmd, BOUND).0;
    }
    let (out, _) = run_bounded(cmd, BOUND);
    warm.push(lang.name());
    out
}

fn failure(lang: Lang, fail: &str, raw: bool) -> String {
    let fail = format!("errs.fail={fail}");
    let mut sets = vec![fail.as_str()];
    if raw {
        sets.push("errs.raw=true");
    }
    let err = expect_error(&render(lang, &sets));
    assert!(
        err.starts_with("error: component 'errs' "),
        "names the component: {err}"
    );
    assert_eq!(err.lines().count(), 1, "one paragraph: {err}");
    err
}

const HELPER_REFUSED: &str = "error: component 'errs' refused to render";

#[test]
fn js_failures_through_the_helper_keep_their_message() {
    let cases: &[(&str, &str)] = &[
        (
            "error",
            "(failed): Error: the database section is missing (at body@app/fixtures/guest-errors/component.js:13:",
        ),
        (
            "type-error",
            "(failed): TypeError: can't access property \"field\", values.missing is undefined (at body@app/fixtures/guest-errors/component.js:15:",
        ),
        (
            "string",
            "(failed): render threw a string, not an Error: \"a thrown string\"",
        ),
        (
            "tag",
            "(failed): render-error tag \"invalid-value\" is not one of invalid-values, unsupported, failed (message: \"replicas must be positive\")",
        ),
        (
            "invalid",
            "(invalid values): replicas: expected a number, found \"three\"",
        ),
        (
            "content-number",
            "(failed): manifests[0].content: expected a string (YAML or JSON text) or a plain object, found a number",
        ),
        (
            "no-manifests",
            "(failed): render returned an object without 'manifests' (it has objects): expected { manifests: [...], notes? }",
        ),
    ];
    for (fail, expected) in cases {
        let err = failure(Lang::Js, fail, false);
        assert!(
            err.starts_with(&format!("{HELPER_REFUSED} {expected}")),
            "{fail}: {err}"
        );
        assert!(!err.contains("unreachable"), "{fail}: no trap: {err}");
    }
}

#[test]
fn js_helper_serialises_object_content_and_renders() {
    let out = expect_success(&render(Lang::Js, &["errs.fail=content-object"]));
    assert!(out.contains("kind: ConfigMap"), "{out}");
    assert!(out.contains("name: demo-errors"), "{out}");
    let plain = expect_success(&render(Lang::Js, &[]));
    assert_eq!(out, plain, "an object and its JSON text render the same");
}

#[test]
fn python_failures_through_the_helper_keep_their_message() {
    let cases: &[(&str, &str)] = &[
        (
            "exception",
            "(failed): RuntimeError: the database section is missing (at app.py:15 in body)",
        ),
        (
            "key-error",
            "(failed): KeyError: 'image' (a missing key) (at app.py:17 in body)",
        ),
        (
            "invalid",
            "(invalid values): replicas: expected a number, found 'three'",
        ),
        (
            "content-list",
            "(failed): manifests[0].content: expected a string (YAML or JSON text) or a dict, found a list",
        ),
        (
            "no-manifests",
            "(failed): render returned a dict without 'manifests' (it has objects): expected {'manifests': [...], 'notes': ...}",
        ),
    ];
    for (fail, expected) in cases {
        let err = failure(Lang::Python, fail, false);
        assert_eq!(
            err.trim_end(),
            format!("{HELPER_REFUSED} {expected}"),
            "{fail}"
        );
    }
    let out = expect_success(&render(Lang::Python, &[]));
    assert!(out.contains("name: demo-errors"), "{out}");
}

const TRAP: &str =
    "error: component 'errs' crashed: wasm trap: wasm `unreachable` instruction executed; ";

#[test]
fn js_trap_without_the_helper_gets_the_hint_and_the_last_output() {
    for fail in ["error", "tag", "content-object"] {
        let err = failure(Lang::Js, fail, true);
        assert_eq!(
            err.trim_end(),
            format!(
                "{TRAP}the component's runtime (JavaScript, componentize-js) aborted: an uncaught exception or an invalid return value; build it with the wasmchart-component helper (defineRender, wasmchart-build-js) to see the message; its last output: failing with {fail}"
            )
        );
    }
}

#[test]
fn python_trap_without_the_helper_gets_the_hint_and_the_last_output() {
    for fail in ["key-error", "none"] {
        let err = failure(Lang::Python, fail, true);
        assert_eq!(
            err.trim_end(),
            format!(
                "{TRAP}the component's runtime (Python, componentize-py) aborted: an uncaught exception or an invalid return value; build it with the wasmchart-component helper (define_render, wasmchart-build-py) to see the message; its last output: failing with {fail}"
            )
        );
    }
}

#[test]
fn a_rust_crash_keeps_its_panic_message_and_gets_no_hint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.path().join("cache")),
        config_dir: Some(dir.path().join("config")),
        progress: false,
    })
    .expect("runtime starts");
    let probe = runtime
        .load("probe", test_components::wasm("probe"))
        .unwrap_or_else(|e| panic!("{e}"));
    let values = r#"{"action":"emit","logs":[{"level":"warn","message":"before"}],"panic":"boom"}"#;
    let request = RenderRequest {
        values_json: values.into(),
        ..Default::default()
    };
    let err = runtime
        .render(&probe, &request, &Limits::default())
        .expect_err("the probe panics");
    let text = err.to_string();
    assert!(text.starts_with("component 'probe' crashed: "), "{text}");
    assert!(
        text.contains("; stderr: ") && text.contains("boom"),
        "{text}"
    );
    assert!(
        !text.contains("componentize") && !text.contains("its last output"),
        "{text}"
    );
}

/// The helpers ship their own copy of the contract and pin the same tools
/// as the repository's builds: a drifted copy would build components
/// against another contract, or with another componentize-js/-py.
#[test]
fn helpers_bundle_the_contract_and_pin_the_repository_tools() {
    let root = repo_root();
    let wit = fs::read(root.join("wit/chart.wit")).expect("read wit/chart.wit");
    for copy in [
        "plugins/js/wasmchart-component/wit/chart.wit",
        "plugins/python/wasmchart-component/wasmchart_component/wit/chart.wit",
    ] {
        let bytes = fs::read(root.join(copy)).unwrap_or_else(|e| panic!("{copy}: {e}"));
        assert!(
            bytes == wit,
            "{copy} differs from wit/chart.wit: copy it again"
        );
    }
    let pin = |path: &str, needle: &str| -> String {
        let text = fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let at = text
            .find(needle)
            .unwrap_or_else(|| panic!("{path} has no {needle}"));
        text[at + needle.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect()
    };
    let componentize_js = "\"@bytecodealliance/componentize-js\": \"";
    assert_eq!(
        pin(
            "plugins/js/wasmchart-component/package.json",
            componentize_js
        ),
        pin("plugins/js/package.json", componentize_js)
    );
    assert_eq!(
        pin(
            "plugins/python/wasmchart-component/pyproject.toml",
            "componentize-py=="
        ),
        pin("plugins/python/requirements.txt", "componentize-py==")
    );
    assert_eq!(
        pin(
            "plugins/python/wasmchart-component/wasmchart_component/build.py",
            "COMPONENTIZE_PY = \""
        ),
        pin("plugins/python/requirements.txt", "componentize-py==")
    );
}
