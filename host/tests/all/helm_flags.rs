//! Helm's `template` flags through the real binary: `[RELEASE] CHART`,
//! `--show-only` with Helm's glob rule, `-f -`, `version`, `completion`,
//! and the messages for Helm flags wasmchart does not take.

use crate::support::{expect_error, expect_success, run_bounded, shared_dir};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// A warm render takes well under a second; a first probe compile about one.
const BOUND: Duration = Duration::from_secs(120);

/// `wasmchart ARGS` with the module's shared compile cache.
fn wasmchart(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.args(args)
        .env("WASMCHART_CACHE_DIR", shared_dir("helm-flags-cache"))
        .env("WASMCHART_CONFIG_DIR", shared_dir("helm-flags-config"))
        .env_remove("WASMCHART_SECRET_KEY")
        .env_remove("WASMCHART_POLICY");
    run_bounded(cmd, BOUND).0
}

/// As [`wasmchart`], with standard input read from `stdin` (a file).
fn wasmchart_stdin(args: &[&str], stdin: &Path) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("exec \"$0\" \"$@\" < \"$WASMCHART_TEST_STDIN\"")
        .arg(env!("CARGO_BIN_EXE_wasmchart"))
        .args(args)
        .env("WASMCHART_TEST_STDIN", stdin)
        .env("WASMCHART_CACHE_DIR", shared_dir("helm-flags-cache"))
        .env("WASMCHART_CONFIG_DIR", shared_dir("helm-flags-config"))
        .env_remove("WASMCHART_SECRET_KEY")
        .env_remove("WASMCHART_POLICY");
    run_bounded(cmd, BOUND).0
}

/// An umbrella `umbrella` with probe subcharts `one`, running the probe's
/// `echo` action (release and values back as data), and `two` (`ok`).
fn probe_chart() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut chart = String::from("apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n");
    let mut values = String::new();
    for name in ["one", "two"] {
        chart.push_str(&format!(
            "  - name: {name}\n    version: 0.1.0\n    repository: file://./charts/{name}\n"
        ));
        let sub = dir.path().join("charts").join(name);
        fs::create_dir_all(&sub).expect("create subchart");
        fs::write(
            sub.join("Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\ncomponent: probe.wasm\n"),
        )
        .expect("write subchart Chart.yaml");
        fs::write(sub.join("values.yaml"), "{}\n").expect("write subchart values");
        fs::copy(test_components::wasm("probe"), sub.join("probe.wasm")).expect("copy probe");
        let action = if name == "one" { "echo" } else { "ok" };
        values.push_str(&format!("{name}:\n  action: {action}\n"));
    }
    fs::write(dir.path().join("Chart.yaml"), chart).expect("write Chart.yaml");
    fs::write(dir.path().join("values.yaml"), values).expect("write values.yaml");
    dir
}

fn arg(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().expect("UTF-8 temp path")
}

/// The `# Source:` paths of a YAML stream, in order.
fn sources(stream: &str) -> Vec<&str> {
    stream
        .lines()
        .filter_map(|l| l.strip_prefix("# Source: "))
        .collect()
}

/// The objects of `render -o json`.
fn items(out: &Output) -> Vec<Value> {
    let list: Value = serde_json::from_str(&expect_success(out)).expect("JSON output");
    list["items"].as_array().expect("a List").clone()
}

/// The release the probe saw, from its echoed `release` data.
fn release_seen(object: &Value) -> Value {
    serde_json::from_str(object["data"]["release"].as_str().expect("release data"))
        .expect("release JSON")
}

#[test]
fn release_and_chart_are_taken_positionally_as_helm_template_does() {
    let chart = probe_chart();
    let both = items(&wasmchart(&["render", "shop", arg(&chart), "-o", "json"]));
    assert_eq!(release_seen(&both[0])["name"], "shop");

    let alone = items(&wasmchart(&["render", arg(&chart), "-o", "json"]));
    assert_eq!(
        release_seen(&alone[0])["name"],
        "umbrella",
        "default: the chart's name"
    );

    let flag = items(&wasmchart(&[
        "render",
        arg(&chart),
        "--release",
        "flagged",
        "-o",
        "json",
    ]));
    assert_eq!(release_seen(&flag[0])["name"], "flagged");

    let err = expect_error(&wasmchart(&[
        "render",
        "shop",
        arg(&chart),
        "--release",
        "other",
    ]));
    assert!(
        err.contains("'shop'") && err.contains("--release 'other'") && err.contains("twice"),
        "{err}"
    );

    let err = expect_error(&wasmchart(&["render", "a", "b", "c"]));
    assert!(err.contains("unexpected argument 'c'"), "{err}");
}

#[test]
fn show_only_keeps_the_matching_sources_by_path_or_glob() {
    let chart = probe_chart();
    let one = "umbrella/charts/one/templates/probe.yaml";
    let two = "umbrella/charts/two/templates/probe.yaml";
    let full = expect_success(&wasmchart(&["render", arg(&chart)]));
    assert_eq!(sources(&full), [one, two]);

    let only = expect_success(&wasmchart(&["render", arg(&chart), "-s", two]));
    assert_eq!(sources(&only), [two]);
    assert!(
        full.ends_with(&only),
        "the same document as in the full stream"
    );

    let both = expect_success(&wasmchart(&[
        "render",
        arg(&chart),
        "--show-only",
        two,
        "--show-only",
        one,
    ]));
    assert_eq!(
        sources(&both),
        [two, one],
        "Helm's order: by --show-only flag"
    );

    let twice = expect_success(&wasmchart(&[
        "render",
        arg(&chart),
        "-s",
        one,
        "-s",
        "umbrella/charts/*/templates/probe.yaml",
    ]));
    assert_eq!(
        sources(&twice),
        [one, two],
        "each object once, at its first match"
    );

    let escaped = expect_success(&wasmchart(&[
        "render",
        arg(&chart),
        "-s",
        "umbrella/charts/tw\\o/templates/probe.yaml",
    ]));
    assert_eq!(
        sources(&escaped),
        [two],
        "a backslash escapes, as in Go on Linux"
    );

    let glob = expect_success(&wasmchart(&[
        "render",
        arg(&chart),
        "-s",
        "umbrella/charts/*/templates/*.yaml",
    ]));
    assert_eq!(glob, full);

    let json = items(&wasmchart(&[
        "render",
        arg(&chart),
        "-s",
        one,
        "-o",
        "json",
    ]));
    assert_eq!(json.len(), 1);

    for missing in [
        "umbrella/templates/missing.yaml",
        "charts/one/templates/probe.yaml",
        "umbrella/*/probe.yaml",
    ] {
        let err = expect_error(&wasmchart(&[
            "render",
            arg(&chart),
            "-s",
            one,
            "-s",
            missing,
        ]));
        assert_eq!(
            err.trim_end(),
            format!("error: could not find template {missing} in chart")
        );
    }

    let out = tempfile::tempdir().expect("temp dir");
    let dir = out.path().to_str().expect("UTF-8");
    expect_success(&wasmchart(&[
        "render",
        arg(&chart),
        "-s",
        one,
        "--output-dir",
        dir,
    ]));
    assert!(out.path().join(one).is_file());
    assert!(
        !out.path().join(two).exists(),
        "only the shown source is written"
    );
}

#[test]
fn values_are_read_from_stdin_once_and_capped() {
    let chart = probe_chart();
    let input = tempfile::NamedTempFile::new().expect("temp file");
    fs::write(input.path(), "one:\n  marker: from-stdin\n").expect("write stdin");

    let values = expect_success(&wasmchart_stdin(
        &["values", arg(&chart), "-f", "-", "--explain", "one.marker"],
        input.path(),
    ));
    assert!(
        values.contains("from-stdin") && values.contains("<stdin>"),
        "{values}"
    );

    let rendered = items(&wasmchart_stdin(
        &["render", arg(&chart), "-f", "-", "-o", "json"],
        input.path(),
    ));
    let seen: Value =
        serde_json::from_str(rendered[0]["data"]["values"].as_str().expect("values data"))
            .expect("values JSON");
    assert_eq!(seen["marker"], "from-stdin");

    let err = expect_error(&wasmchart_stdin(
        &["render", arg(&chart), "-f", "-", "-f", "-"],
        input.path(),
    ));
    assert!(
        err.contains("-f - is given 2 times") && err.contains("once"),
        "{err}"
    );

    let big = tempfile::NamedTempFile::new().expect("temp file");
    big.as_file().set_len(5 * 1024 * 1024).expect("grow");
    let err = expect_error(&wasmchart_stdin(
        &["values", arg(&chart), "-f", "-"],
        big.path(),
    ));
    assert!(
        err.contains("cannot read <stdin>")
            && err.contains("more than 4 MiB")
            && err.contains("a values file"),
        "{err}"
    );
}

#[test]
fn version_and_completion() {
    let lock = fs::read_to_string(crate::support::repo_root().join("Cargo.lock")).expect("lock");
    assert!(lock.contains("name = \"wasmtime\"\nversion = \"48.0.8\""));
    let version = expect_success(&wasmchart(&["version"]));
    assert_eq!(
        version,
        format!(
            "wasmchart {}\nwasmtime 48.0.8\nwit wasmchart:chart@0.1.0\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let short = expect_success(&wasmchart(&["version", "--short"]));
    assert_eq!(short, format!("{}\n", env!("CARGO_PKG_VERSION")));
    let flag = expect_success(&wasmchart(&["render", "--version"]));
    assert!(flag.contains(env!("CARGO_PKG_VERSION")), "{flag}");

    for (shell, marker) in [
        ("bash", "_wasmchart()"),
        ("zsh", "#compdef wasmchart"),
        ("fish", "complete -c wasmchart"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let script = expect_success(&wasmchart(&["completion", shell]));
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("show-only"),
            "{shell} completes render's flags"
        );
    }
    let err = crate::support::expect_failure(&wasmchart(&["completion", "tcsh"]));
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
}

#[test]
fn helm_flags_wasmchart_does_not_take_get_a_true_hint() {
    for (flag, hint) in [
        ("--dry-run", "never contacts a cluster"),
        ("--dry-run=server", "never contacts a cluster"),
        ("--debug", "-v/--verbose"),
        ("--skip-crds", "--include-crds"),
    ] {
        let err = expect_error(&wasmchart(&["render", flag]));
        let name = flag.split('=').next().unwrap_or(flag);
        assert!(
            err.starts_with(&format!(
                "error: {name} is a helm flag wasmchart does not take: "
            )) && err.contains(hint)
                && !err.contains("tip:")
                && err.lines().count() == 1,
            "{flag}: {err}"
        );
    }
    let err = expect_error(&wasmchart(&["render", "--kube-versio", "1.30"]));
    assert!(
        err.contains("--kube-version"),
        "a real near-miss keeps clap's tip: {err}"
    );
}

/// An umbrella whose one probe subchart emits `manifest` as
/// `templates/bad.yaml`.
fn emitting_chart(manifest: &str) -> tempfile::TempDir {
    let dir = probe_chart();
    let content = serde_json::to_string(manifest).expect("JSON string");
    let values = format!(
        "one:\n  action: emit\n  manifests:\n    - source: templates/bad.yaml\n      content: {content}\ntwo:\n  action: ok\n"
    );
    fs::write(dir.path().join("values.yaml"), values).expect("write values.yaml");
    dir
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
          FIELD: x
";

#[test]
fn validate_rejects_a_component_object_naming_object_and_field_offline() {
    let good = DEPLOYMENT
        .replace("REPLICAS", "2")
        .replace("FIELD", "imagePullPolicy");
    let chart = emitting_chart(&good);
    let out = expect_success(&wasmchart(&["render", arg(&chart), "--validate"]));
    assert!(
        out.contains("# Source: umbrella/charts/one/templates/bad.yaml"),
        "{out}"
    );

    let bad = DEPLOYMENT
        .replace("REPLICAS", "\"s3cr3t-two\"")
        .replace("FIELD", "imagePullPolicyy");
    let chart = emitting_chart(&bad);
    expect_success(&wasmchart(&["render", arg(&chart)]));
    let err = expect_error(&wasmchart(&["render", arg(&chart), "--validate"]));
    let object = "Deployment default/web (umbrella/charts/one/templates/bad.yaml)";
    assert!(
        err.starts_with("error: --validate: 2 problem(s) against the Kubernetes 1.31 schemas:"),
        "{err}"
    );
    assert!(err.contains(&format!("{object}: spec.replicas: ")), "{err}");
    assert!(
        err.contains(&format!("{object}: spec.template.spec.containers.0: "))
            && err.contains("'imagePullPolicyy'"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t"), "a value is never quoted: {err}");

    let err = expect_error(&wasmchart(&[
        "render",
        arg(&chart),
        "--validate",
        "--kube-version",
        "1.24",
    ]));
    assert!(
        err.contains("1.25 to 1.37") && err.contains("1.24"),
        "{err}"
    );

    let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n";
    let chart = emitting_chart(widget);
    let out = wasmchart(&["render", arg(&chart), "--validate"]);
    expect_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: --validate: no schema for example.com/v1/Widget"),
        "{stderr}"
    );
}

#[test]
fn the_example_passes_validate_in_every_environment() {
    let chart = crate::support::repo_root().join("examples/imprun");
    for env in ["local", "staging", "prod"] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
        cmd.arg("render")
            .arg(&chart)
            .args(["--env", env, "--validate"])
            .env("WASMCHART_CACHE_DIR", shared_dir("component-cache"))
            .env("WASMCHART_CONFIG_DIR", shared_dir("component-cache-config"))
            .env(
                "WASMCHART_SECRET_KEY",
                "68656c6d2d666c6167732d746573742d726f6f742d6b65792d6e6f742d7265616c",
            )
            .env_remove("WASMCHART_POLICY");
        for key in [
            "GITHUB_CLIENT_ID",
            "GITHUB_CLIENT_SECRET",
            "GOOGLE_CLIENT_ID",
            "GOOGLE_CLIENT_SECRET",
        ] {
            cmd.env(key, "test-value");
        }
        let out = run_bounded(cmd, BOUND).0;
        let stream = expect_success(&out);
        assert!(sources(&stream).len() >= 10, "{env}: {stream}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("--validate"),
            "{env}: every kind checked: {stderr}"
        );
    }
}
