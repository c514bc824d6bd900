//! Packaged subcharts through the real binary: the example with every subchart packed by the
//! system `tar` (what `helm dependency update` leaves: `charts/NAME-VERSION.tgz`) renders
//! byte-identically to the unpacked example, the JavaScript and Python components (over
//! Helm's 5 MiB per-file cap) included; a packaged chart's `files/` reaches the component as
//! the same snapshot; a hostile archive is refused quickly, in one paragraph naming the
//! archive and the entry, with nothing written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::support::{copy_tree, expect_error, expect_success, repo_root, run_bounded, shared_dir};

/// A cold compile of the example's JavaScript and Python components takes about a minute on
/// two cores; the cache is shared with the `imprun` tests.
const BOUND: Duration = Duration::from_secs(600);
const FAST: Duration = Duration::from_secs(10);
const SECRET_KEY: &str = "7061636b616765642d7375626368617274732d746573742d6b65792121212121";
const OAUTH_ENV: [(&str, &str); 4] = [
    ("GITHUB_CLIENT_ID", "test-github-client-id"),
    ("GITHUB_CLIENT_SECRET", "test-github-client-secret"),
    ("GOOGLE_CLIENT_ID", "test-google-client-id"),
    ("GOOGLE_CLIENT_SECRET", "test-google-client-secret"),
];

/// `wasmchart render CHART ARGS` with only the inputs the example needs.
fn render(chart: &Path, args: &[&str], bound: Duration) -> (std::process::Output, Duration) {
    let home = tempfile::tempdir().expect("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.arg("render")
        .arg(chart)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env("WASMCHART_CACHE_DIR", shared_dir("component-cache"))
        .env("WASMCHART_CONFIG_DIR", shared_dir("component-cache-config"))
        .env("WASMCHART_SECRET_KEY", SECRET_KEY)
        .envs(OAUTH_ENV);
    run_bounded(cmd, bound)
}

/// Replaces `charts/<sub>/` with `charts/<sub>-<version>.tgz`, packed by the system `tar`.
fn pack(chart: &Path, sub: &str) -> PathBuf {
    let charts = chart.join("charts");
    let meta = fs::read_to_string(charts.join(sub).join("Chart.yaml")).expect("Chart.yaml");
    let version = meta
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .map(|v| v.trim().trim_matches('"').to_string())
        .expect("version");
    let archive = charts.join(format!("{sub}-{version}.tgz"));
    let status = Command::new("tar")
        .arg("-C")
        .arg(&charts)
        .arg("-czf")
        .arg(&archive)
        .arg(sub)
        .status()
        .expect("run tar");
    assert!(status.success(), "tar failed");
    fs::remove_dir_all(charts.join(sub)).expect("remove the directory");
    archive
}

fn subcharts(chart: &Path) -> Vec<String> {
    let mut subs: Vec<String> = fs::read_dir(chart.join("charts"))
        .expect("charts/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .collect();
    subs.sort();
    subs
}

#[test]
fn the_example_renders_byte_identically_from_packaged_subcharts() {
    let example = repo_root().join("examples/imprun");
    for sub in subcharts(&example) {
        assert!(
            example.join(format!("charts/{sub}/{sub}.wasm")).is_file(),
            "component of {sub} is missing: run scripts/build-components.sh"
        );
    }
    let copy = tempfile::tempdir().expect("tmp");
    copy_tree(&example, copy.path());
    let (out, _) = render(copy.path(), &["--env", "prod"], BOUND);
    let unpacked = expect_success(&out);
    let mut archives = Vec::new();
    for sub in subcharts(copy.path()) {
        archives.push(pack(copy.path(), &sub));
    }
    let packed_names = subcharts(copy.path());
    assert_eq!(packed_names.len(), 5);
    assert!(
        packed_names.iter().all(|n| n.ends_with(".tgz")),
        "{packed_names:?}"
    );
    // The JavaScript and Python components are over Helm's 5 MiB per-file cap.
    let large = fs::metadata(example.join("charts/imp-runtime-exporter/imp-runtime-exporter.wasm"))
        .expect("python component")
        .len();
    assert!(large > 5 << 20, "{large}");
    let (out, _) = render(copy.path(), &["--env", "prod"], BOUND);
    let packed = expect_success(&out);
    assert!(packed.contains("# Source: imprun/charts/imp-runtime-exporter/"));
    assert!(
        unpacked == packed,
        "the packaged example renders differently:\n{}",
        first_difference(&unpacked, &packed)
    );
    assert!(archives.iter().all(|a| a.is_file()));
}

fn first_difference(a: &str, b: &str) -> String {
    a.lines()
        .zip(b.lines())
        .enumerate()
        .find(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| format!("line {}: {x:?} vs {y:?}", i + 1))
        .unwrap_or_else(|| format!("lengths {} vs {}", a.len(), b.len()))
}

/// An umbrella with one subchart `probe` running the hostile test guest, with a `files/`.
fn probe_chart(values: &str) -> tempfile::TempDir {
    probe_chart_limited(values, "")
}

/// As [`probe_chart`], with `limits` (a flow map) in the umbrella's dependency entry.
fn probe_chart_limited(values: &str, limits: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let sub = dir.path().join("charts/probe");
    fs::create_dir_all(sub.join("files/conf")).expect("mkdir");
    fs::copy(test_components::wasm("probe"), sub.join("probe.wasm")).expect("probe");
    fs::write(
        sub.join("Chart.yaml"),
        "apiVersion: v2\nname: probe\nversion: 0.1.0\ncomponent: probe.wasm\n",
    )
    .expect("write");
    fs::write(sub.join("files/conf/app.ini"), "[app]\nport = 8080\n").expect("write");
    fs::write(sub.join("files/readme.txt"), "packaged\n").expect("write");
    fs::write(
        dir.path().join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n  - name: probe\n    \
             version: 0.1.0\n{}",
            if limits.is_empty() {
                String::new()
            } else {
                format!("    limits: {limits}\n")
            }
        ),
    )
    .expect("write");
    fs::write(
        dir.path().join("values.yaml"),
        format!("probe:\n  {values}\n"),
    )
    .expect("write");
    dir
}

#[test]
fn a_packaged_chart_gives_its_component_the_same_files_snapshot() {
    for values in [
        "action: list-dir\n  path: /files/conf",
        "action: read-file\n  path: /files/conf/app.ini",
    ] {
        let chart = probe_chart(values);
        let (out, _) = render(chart.path(), &["-o", "json"], BOUND);
        let unpacked = expect_success(&out);
        pack(chart.path(), "probe");
        let (out, _) = render(chart.path(), &["-o", "json"], BOUND);
        let packed = expect_success(&out);
        assert_eq!(unpacked, packed);
        assert!(
            packed.contains("app.ini") || packed.contains("port = 8080"),
            "{packed}"
        );
    }
}

#[test]
fn a_hostile_archive_is_refused_in_one_paragraph_naming_it() {
    let chart = probe_chart("action: list-dir\n  path: /files");
    let stage = tempfile::tempdir().expect("stage");
    fs::create_dir_all(stage.path().join("probe")).expect("mkdir");
    fs::write(
        stage.path().join("probe/Chart.yaml"),
        "apiVersion: v2\nname: probe\nversion: 0.1.0\n",
    )
    .expect("write");
    fs::remove_dir_all(chart.path().join("charts/probe")).expect("rm");
    // GNU tar keeps `..` in a member name when told to; Helm and wasmchart refuse it.
    let archive = chart.path().join("charts/probe-0.1.0.tgz");
    fs::write(stage.path().join("probe/x"), "x\n").expect("write");
    let status = Command::new("tar")
        .arg("-C")
        .arg(stage.path())
        .arg("-czf")
        .arg(&archive)
        .arg("--transform=s,^probe/x$,probe/../../escape,")
        .args(["probe/Chart.yaml", "probe/x"])
        .status()
        .expect("tar");
    assert!(status.success());
    let out_dir = stage.path().join("out");
    let (out, took) = render(
        chart.path(),
        &["--output-dir", out_dir.to_str().expect("utf-8")],
        BOUND,
    );
    let err = expect_error(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "one paragraph: {err}");
    assert!(took < FAST, "took {took:?}");
    assert!(
        err.contains("charts/probe-0.1.0.tgz")
            && err.contains("entry \"probe/../../escape\"")
            && err.contains("parent directory")
            && err.matches("probe/../../escape").count() == 1,
        "{err}"
    );
    assert!(!out_dir.exists(), "nothing is written on error");
}

#[test]
fn the_component_size_limit_applies_to_a_packaged_component() {
    let size = fs::metadata(test_components::wasm("probe"))
        .expect("probe")
        .len();
    let fits = probe_chart_limited("action: ok", &format!("{{componentSize: {size}}}"));
    pack(fits.path(), "probe");
    expect_success(&render(fits.path(), &[], BOUND).0);
    let limit = size - 1;
    let over = probe_chart_limited("action: ok", &format!("{{componentSize: {limit}}}"));
    pack(over.path(), "probe");
    let err = expect_error(&render(over.path(), &[], BOUND).0);
    assert!(
        err.contains(&format!(
            "component 'probe' is {size} bytes, over its {limit} bytes component size limit"
        )),
        "{err}"
    );
}
